using System.Net;

namespace SeekSharp.Server.Tests.Hosting;

public sealed class ApiKeyTests(ApiKeyServerFixture server) : IClassFixture<ApiKeyServerFixture>
{
    const string Chat = """{"messages":[{"role":"user","content":"What is 1 + 2?"}],"temperature":0,"max_tokens":2}""";

    [Theory]
    [InlineData(null)]
    [InlineData("sk-wrong")]
    [InlineData("sk-test-012345678")] // a prefix of the key
    [InlineData("sk-test-01234567890")] // the key and one more character
    public async Task MissingOrWrongKey_Is401_OnEveryApi(string? key)
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        var error = await Wire.OpenAiErrorAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(Chat)), HttpStatusCode.Unauthorized);
        Assert.Equal("invalid_api_key", (string?)error["code"]);
        await Wire.OpenAiErrorAsync(await client.GetAsync("v1/models"), HttpStatusCode.Unauthorized);
        await Wire.OpenAiErrorAsync(await client.GetAsync("metrics"), HttpStatusCode.Unauthorized);
        await Wire.OllamaErrorAsync(await client.GetAsync("api/tags"), HttpStatusCode.Unauthorized);
        await Wire.OllamaErrorAsync(await client.PostAsync("api/chat", ServerFixture.Json("""{"model":"x","messages":[]}""")), HttpStatusCode.Unauthorized);
        // /health stays open for probes.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("health")).StatusCode);
    }

    [Fact]
    public async Task RightKey_IsServed()
    {
        using var client = server.CreateClient(ApiKeyServerFixture.Key);
        await Wire.JsonAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(Chat)));
        await Wire.JsonAsync(await client.GetAsync("api/tags"));
    }
}
