using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using SeekSharp.Server.Hosting;

namespace SeekSharp.Server.Tests.Hosting;

public sealed class ModelHostTests
{
    static ModelHost Host(string path) => new(new ServerOptions { ModelPath = path }, NullLogger<ModelHost>.Instance);

    static async Task<(int Status, string? RetryAfter, JsonNode Body)> Written(ApiException e, string path)
    {
        var http = new DefaultHttpContext { RequestServices = new ServiceCollection().BuildServiceProvider() };
        http.Request.Path = path;
        http.Response.Body = new MemoryStream();
        await ApiErrors.WriteAsync(http, e);
        http.Response.Body.Position = 0;
        return (http.Response.StatusCode, http.Response.Headers.RetryAfter.ToString(), JsonNode.Parse(http.Response.Body)!);
    }

    [Fact]
    public async Task WhileLoading_Is503_WithRetryAfter_InEachApisShape()
    {
        using var host = Host(ServerFixture.BundledModelPath()); // not started: still loading
        var e = Assert.Throws<ApiException>(() => host.Require(null));
        var openAi = await Written(e, "/health");
        Assert.Equal(503, openAi.Status);
        Assert.Equal("1", openAi.RetryAfter);
        Assert.Equal("server_error", (string?)openAi.Body["error"]!["type"]);
        Assert.True(openAi.Body["error"]!.AsObject().ContainsKey("param"));
        var ollama = await Written(e, "/api/chat");
        Assert.Equal(503, ollama.Status);
        Assert.Contains("loading", (string?)ollama.Body["error"]);
    }

    [Fact]
    public async Task LoadFailure_Is500_NamingTheCause_AndStopsTheServer()
    {
        string bad = Path.GetTempFileName();
        await File.WriteAllTextAsync(bad, "not a GGUF file");
        try
        {
            using var host = Host(bad);
            bool stopped = false;
            host.StartLoading(() => stopped = true);
            await host.Loading.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(stopped);
            Assert.NotNull(host.LoadError);
            var e = Assert.Throws<ApiException>(() => host.Require(null));
            Assert.Equal(500, e.Status);
            Assert.Contains("failed to load", e.Message);
        }
        finally
        {
            File.Delete(bad);
        }
    }

    [Fact]
    public async Task Loaded_AnswersToEveryName_AndRefusesOthers()
    {
        using var host = Host(ServerFixture.BundledModelPath());
        host.StartLoading(() => { });
        await host.Loading.WaitAsync(TimeSpan.FromSeconds(30));
        foreach (string name in new[] { "seeksharp-r1-tiny", "seeksharp-r1-tiny:latest", "SeekSharp-R1-Tiny", "seeksharp-r1-tiny.gguf", "" })
            Assert.Same(host.Model, host.Require(name));
        var e = Assert.Throws<ApiException>(() => host.Require("seeksharp-r1-tiny:7b"));
        Assert.Equal(404, e.Status);
        Assert.Equal("model_not_found", e.Code);
        await host.StopAsync(TimeSpan.FromSeconds(1));
    }
}
