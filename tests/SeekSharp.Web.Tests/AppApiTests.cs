using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SeekSharp.Server.App;

namespace SeekSharp.Web.Tests;

/// <summary>The chat app's store and API without a browser: schema migrations, crash recovery, periodic writes while
/// an answer streams, and the errors of /app/api in OpenAI's envelope.</summary>
public sealed class AppApiTests : IAsyncLifetime
{
    readonly string _folder = Directory.CreateTempSubdirectory("seek-app-").FullName;
    AppServer _server = null!;
    HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await AppServer.StartAsync(Path.Combine(_folder, "chats.db"));
        _http = new HttpClient { BaseAddress = _server.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void ANewDatabaseMigratesToTheCurrentSchema_AndANewerOneIsRefusedByName()
    {
        string path = Path.Combine(_folder, "fresh.db");
        using (var store = new ChatStore(path)) store.CreateConversation("one");
        using (var c = new SqliteConnection($"Data Source={path};Pooling=false"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA user_version";
            Assert.Equal((long)ChatStore.SchemaVersion, cmd.ExecuteScalar());
            cmd.CommandText = $"PRAGMA user_version = {ChatStore.SchemaVersion + 1}";
            cmd.ExecuteNonQuery();
        }
        var e = Assert.Throws<InvalidDataException>(() => new ChatStore(path));
        Assert.Contains(path, e.Message);
        Assert.Contains($"schema version {ChatStore.SchemaVersion + 1}", e.Message);
        // seek serve --db with that file stops before it serves, with the same message.
        var build = Assert.Throws<InvalidDataException>(() => SeekSharp.Server.Hosting.SeekServer.Build(_server.Options with { DatabasePath = path, Port = 0 }));
        Assert.Equal(e.Message, build.Message);
    }

    [Fact]
    public void AnAnswerLeftStreamingIsMarkedStoppedOnOpen_WithItsText()
    {
        string path = Path.Combine(_folder, "crash.db");
        string id;
        using (var store = new ChatStore(path))
        {
            var c = store.CreateConversation("c");
            store.AddMessage(c.Id, "user", "q", null, MessageStatus.Complete);
            var answer = store.AddMessage(c.Id, "assistant", "", null, MessageStatus.Streaming);
            store.UpdateMessage(answer.Id, "part", "thinking so far", MessageStatus.Streaming);
            id = c.Id;
        }
        using var reopened = new ChatStore(path);
        var messages = reopened.GetMessages(id);
        Assert.Equal([MessageStatus.Complete, MessageStatus.Stopped], messages.Select(m => m.Status));
        Assert.Equal(("part", "thinking so far"), (messages[1].Content, messages[1].Reasoning));
    }

    [Fact]
    public async Task AStreamingAnswerIsWrittenWhileItStreams()
    {
        string id = await CreateAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"app/api/conversations/{id}/messages") { Content = JsonContent.Create(new { content = "What is 987 * 654?" }) };
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        string? stored = null;
        string streamed = "";
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            using var e = JsonDocument.Parse(line[6..]);
            if (e.RootElement.GetProperty("type").GetString() == "reasoning") streamed += e.RootElement.GetProperty("text").GetString();
            if (e.RootElement.GetProperty("type").GetString() == "done") break;
            if (streamed.Length > 0 && stored is null && e.RootElement.GetProperty("type").GetString() == "reasoning")
            {
                // Read the stored row while the answer streams: after the flush interval it holds a prefix of what streamed.
                await Task.Delay(ChatStore.FlushInterval * 2);
                var detail = await _http.GetFromJsonAsync<JsonElement>($"app/api/conversations/{id}");
                var row = detail.GetProperty("messages")[1];
                Assert.Equal("streaming", row.GetProperty("status").GetString());
                stored = row.TryGetProperty("reasoning", out var r) ? r.GetString() : "";
            }
        }
        Assert.False(string.IsNullOrEmpty(stored), "nothing of the answer was written while it streamed");
        Assert.StartsWith(stored, streamed);
    }

    [Fact]
    public async Task ErrorsComeInOpenAIsEnvelopeWithTheRightStatus()
    {
        await AssertErrorAsync(await _http.GetAsync("app/api/conversations/nope"), 404, "no conversation 'nope'");
        string id = await CreateAsync();
        await AssertErrorAsync(await _http.PostAsJsonAsync($"app/api/conversations/{id}/messages", new { content = "  " }), 400, "'content'");
        await AssertErrorAsync(await _http.PostAsync($"app/api/conversations/{id}/messages", new StringContent("{\"content\":", Encoding.UTF8, "application/json")), 400, null);
        await AssertErrorAsync(await _http.PatchAsJsonAsync($"app/api/conversations/{id}", new { settings = new { temperature = 5 } }), 400, "'temperature'");
        await AssertErrorAsync(await _http.PatchAsJsonAsync($"app/api/conversations/{id}", new { settings = new { model = "gpt-9" } }), 404, "gpt-9");
        await AssertErrorAsync(await _http.PostAsync($"app/api/conversations/{id}/regenerate", null), 400, "no question");
        await AssertErrorAsync(await _http.PostAsync($"app/api/conversations/{id}/continue", null), 400, "stopped or failed");
        // An import with one bad conversation imports none.
        var bad = new { conversations = new object[] { new { title = "ok", messages = new[] { new { role = "user", content = "hi" } } }, new { messages = new[] { new { role = "wizard", content = "x" } } } } };
        await AssertErrorAsync(await _http.PostAsJsonAsync("app/api/import", bad), 400, "conversations[1].messages[0].role");
        var list = await _http.GetFromJsonAsync<JsonElement>("app/api/conversations");
        Assert.DoesNotContain(list.EnumerateArray(), c => c.GetProperty("title").GetString() == "ok");
    }

    [Fact]
    public async Task ASecondAnswerInTheSameConversationWhileOneStreamsGets409()
    {
        string id = await CreateAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"app/api/conversations/{id}/messages") { Content = JsonContent.Create(new { content = "What is 987 * 654?" }) };
        using var first = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await AssertErrorAsync(await _http.PostAsJsonAsync($"app/api/conversations/{id}/messages", new { content = "And 1 + 1?" }), 409, "being generated");
        await AssertErrorAsync(await _http.DeleteAsync($"app/api/conversations/{id}"), 409, "being generated");
    }

    [Fact]
    public async Task BrowsersGetThePageAtTheRoot_OllamaClientsTheirProbeAnswer()
    {
        using var html = new HttpRequestMessage(HttpMethod.Get, "/");
        html.Headers.Accept.ParseAdd("text/html,application/xhtml+xml");
        html.Headers.AcceptEncoding.ParseAdd("br");
        using var page = await _http.SendAsync(html);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Equal("br", page.Content.Headers.ContentEncoding.Single());
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("Ollama is running", await _http.GetStringAsync("/"));
        // A repeat visit revalidates with the ETag and gets 304.
        using var first = await _http.GetAsync("assets/app.js");
        using var again = new HttpRequestMessage(HttpMethod.Get, "assets/app.js");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await _http.SendAsync(again)).StatusCode);
    }

    async Task<string> CreateAsync()
    {
        var created = await _http.PostAsJsonAsync("app/api/conversations", new { });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    static async Task AssertErrorAsync(HttpResponseMessage response, int status, string? message)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        string text = json.RootElement.GetProperty("error").GetProperty("message").GetString()!;
        if (message is not null) Assert.Contains(message, text);
    }
}
