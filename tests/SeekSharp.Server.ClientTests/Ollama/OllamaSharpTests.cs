using System.Text;
using OllamaSharp;
using OllamaSharp.Models;
using OllamaSharp.Models.Chat;
using OllamaSharp.Models.Exceptions;
using SeekSharp.Server.Tests;

namespace SeekSharp.Server.ClientTests.Ollama;

/// <summary>OllamaSharp against seek serve: chat and generate with thinking, streamed and not, and the metadata endpoints.
/// The answers are compared with what the OpenAI endpoint gives for the same question, since both drive one engine.</summary>
[Collection(ServerCollection.Name)]
public sealed class OllamaSharpTests(ServerFixture server)
{
    OllamaApiClient Client() => new(new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) }, server.ModelId);

    static RequestOptions Greedy => new() { Temperature = 0, NumPredict = Reference.MaxTokens };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Chat_with_think_returns_the_thinking_apart_from_the_answer(bool stream)
    {
        var expected = await Reference.ChatAsync(server);
        using var ollama = Client();

        var thinking = new StringBuilder();
        var content = new StringBuilder();
        int chunks = 0;
        ChatDoneResponseStream? done = null;
        await foreach (var chunk in ollama.ChatAsync(new ChatRequest
        {
            Model = server.ModelId,
            Messages = [new Message(ChatRole.User, Reference.Question)],
            Think = true,
            Stream = stream,
            Options = Greedy,
        }))
        {
            Assert.NotNull(chunk);
            chunks++;
            thinking.Append(chunk.Message.Thinking);
            content.Append(chunk.Message.Content);
            if (chunk.Done) done = Assert.IsType<ChatDoneResponseStream>(chunk);
        }

        Assert.Equal(expected.Reasoning, thinking.ToString());
        Assert.Equal(expected.Content, content.ToString());
        if (stream) Assert.True(chunks > 10, $"{chunks} chunks: not streamed");
        else Assert.Equal(1, chunks);
        Assert.NotNull(done);
        Assert.Equal("stop", done.DoneReason);
        Assert.Equal(expected.PromptTokens, done.PromptEvalCount);
        Assert.Equal(expected.CompletionTokens, done.EvalCount);
        Assert.True(done.EvalDuration > 0 && done.TotalDuration >= done.EvalDuration, $"durations: eval {done.EvalDuration} ns, total {done.TotalDuration} ns");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Generate_with_think_returns_the_thinking_apart_from_the_response(bool stream)
    {
        var expected = await Reference.ChatAsync(server);
        using var ollama = Client();

        var thinking = new StringBuilder();
        var response = new StringBuilder();
        GenerateDoneResponseStream? done = null;
        await foreach (var chunk in ollama.GenerateAsync(new GenerateRequest
        {
            Model = server.ModelId,
            Prompt = Reference.Question,
            Think = true,
            Stream = stream,
            Options = Greedy,
        }))
        {
            Assert.NotNull(chunk);
            thinking.Append(chunk.Thinking);
            response.Append(chunk.Response);
            if (chunk.Done) done = Assert.IsType<GenerateDoneResponseStream>(chunk);
        }

        // /api/generate applies the chat template to the prompt, as Ollama does: the same tokens as a one-message chat.
        Assert.Equal(expected.Reasoning, thinking.ToString());
        Assert.Equal(expected.Content, response.ToString());
        Assert.NotNull(done);
        Assert.Equal("stop", done.DoneReason);
        Assert.Equal(expected.CompletionTokens, done.EvalCount);
    }

    [Fact]
    public async Task Metadata_endpoints_describe_the_served_model()
    {
        using var ollama = Client();

        Assert.True(await ollama.IsRunningAsync());

        var version = await ollama.GetVersionAsync();
        // Open WebUI strips a leading v and a -suffix, then reads x.y.z as integers.
        Assert.Matches(@"^\d+\.\d+\.\d+$", version);

        var local = (await ollama.ListLocalModelsAsync()).ToList();
        var model = Assert.Single(local);
        Assert.StartsWith(server.ModelId, model.Name);
        Assert.True(model.Size > 0);
        Assert.InRange(model.ModifiedAt, DateTime.UtcNow.AddYears(-10), DateTime.UtcNow.AddMinutes(1));
        Assert.False(string.IsNullOrEmpty(model.Details.Family));

        var running = Assert.Single(await ollama.ListRunningModelsAsync());
        Assert.Equal(model.Name, running.Name);
        Assert.Equal(ServerFixture.DefaultContext, running.ContextLength);
        Assert.True(running.ExpiresAt > DateTime.UtcNow, $"expires_at {running.ExpiresAt:O}");

        var shown = await ollama.ShowModelAsync(model.Name);
        Assert.Contains("completion", shown.Capabilities ?? []);
        Assert.Contains("thinking", shown.Capabilities ?? []);
        Assert.False(string.IsNullOrEmpty(shown.Template));
        Assert.NotNull(shown.Info);
        Assert.Equal(model.Details.Family, shown.Info.Architecture);
    }
    [Fact]
    public async Task An_unknown_model_fails_as_OllamaSharp_reports_Ollamas_404()
    {
        using var ollama = Client();

        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in ollama.ChatAsync(new ChatRequest { Model = "no-such-model", Messages = [new Message(ChatRole.User, "hi")], Stream = false })) { }
        });

        // OllamaSharp reads the {"error"} body of a 400 or 500 into an OllamaException; other statuses, such as Ollama's
        // 404 for a model it does not have, surface as the HttpRequestException of EnsureSuccessStatusCode.
        if (error is OllamaException) Assert.Contains("no-such-model", error.Message);
        else Assert.Equal(System.Net.HttpStatusCode.NotFound, Assert.IsType<HttpRequestException>(error).StatusCode);
    }
}
