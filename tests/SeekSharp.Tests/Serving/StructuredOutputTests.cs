using System.Text;
using System.Text.Json;
using SeekSharp.Chat;
using SeekSharp.Chat.Reasoning;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Inference.Sampling;
using SeekSharp.Models;
using SeekSharp.Serving;
using SeekSharp.Tokenization;

namespace SeekSharp.Tests.Serving;

/// <summary>
/// Structured output in a generation: thinking stays free, the answer after it keeps to the JSON grammar whatever the
/// model prefers, and the generation ends when the JSON is whole. Driven by chosen logits (every branch, with Qwen3's
/// real vocabulary), by a random-weight model over that vocabulary, and by the bundled model in the scheduler.
/// </summary>
public class StructuredOutputTests
{
    private static readonly Lazy<Tokenizer> Qwen3 = new(() =>
    {
        string folder = RealTokenizers.Folder("qwen3");
        return Tokenizer.FromHuggingFace(Path.Combine(folder, "tokenizer.json"), Path.Combine(folder, "tokenizer_config.json"));
    });

    private const string Flag = """{"type":"object","properties":{"ok":{"type":"boolean"},"n":{"type":"integer"}},"required":["ok","n"]}""";

    private static int Id(Tokenizer t, string text)
    {
        var ids = t.Encode(text, addSpecial: false, parseSpecial: true);
        Assert.Single(ids);
        return ids[0];
    }

    // Logits that prefer `best`, then `second`, the others as Flat (greedy then takes the lowest allowed id).
    private static float[] Prefer(Tokenizer t, int best, int second = -1)
    {
        var logits = Flat(t);
        logits[best] = 10;
        if (second >= 0) logits[second] = 5;
        return logits;
    }

    // No preference but against "<", the lowest id of the tokens that may begin the opening tag: greedy then writes
    // the lowest-id JSON it may.
    private static float[] Flat(Tokenizer t)
    {
        var logits = new float[t.VocabSize];
        logits[Id(t, "<")] = -10;
        return logits;
    }

    private static List<GenerationEvent> Drain(Generation g)
    {
        var events = new List<GenerationEvent>();
        while (g.Events.TryRead(out var e)) events.Add(e);
        return events;
    }

    private static Generation Start(Tokenizer t, bool promptOpensThinking, string schema = Flag) =>
        new(1, new GenerationRequest
        {
            Prompt = t.Encode("Answer in JSON.", addSpecial: false),
            Sampling = SamplingOptions.Greedy,
            MaxTokens = 200,
            Reasoning = ReasoningFormat.ThinkTags,
            PromptOpensReasoning = promptOpensThinking,
            AnswerJson = JsonGrammar.FromSchema(schema),
        }, t, 4096);

    // Steps with the given preferences, then with flat logits until the generation ends; the whole answer and reasoning.
    private static (string Reasoning, string Content, FinishReason Finish, List<int> Tokens) Run(Generation g, Tokenizer t, params float[][] steps)
    {
        var tokens = new List<int>();
        FinishReason finish = FinishReason.Length;
        bool over = false;
        for (int i = 0; i < 300 && !over; i++)
        {
            var logits = i < steps.Length ? steps[i] : Flat(t);
            over = g.Step(logits, out finish);
            if (!over) tokens.Add(g.Tokens[^1]);
        }
        Assert.True(over, "the generation did not end");
        g.Finish(finish);
        var events = Drain(g);
        return (string.Concat(events.Select(e => e.Reasoning)), string.Concat(events.Select(e => e.Content)), finish, tokens);
    }

    [Fact]
    public void ThinkingIsFree_TheAnswerAfterItKeepsToTheSchema()
    {
        var t = Qwen3.Value;
        int v = t.VocabSize, think = Id(t, "<think>"), endThink = Id(t, "</think>"), sure = Id(t, "Sure"), brace = Id(t, "{");
        var g = Start(t, promptOpensThinking: false);
        var (reasoning, content, finish, tokens) = Run(g, t,
            Prefer(t, think),               // opens thinking: allowed, though not JSON
            Prefer(t, sure),                // thinking: anything goes
            Prefer(t, endThink),
            Prefer(t, sure, brace));        // the answer: "Sure" leaves the JSON, so the best allowed token comes instead
        Assert.Equal([think, sure, endThink, brace], tokens.Take(4));
        Assert.Equal("Sure", reasoning);
        Assert.Equal(FinishReason.Stop, finish);   // whole JSON, then only an end of generation was allowed
        using var doc = JsonDocument.Parse(content);
        Assert.Contains(doc.RootElement.GetProperty("ok").ValueKind, new[] { JsonValueKind.True, JsonValueKind.False });
        Assert.Matches("^-?(0|[1-9][0-9]*)$", doc.RootElement.GetProperty("n").GetRawText());
    }

    [Fact]
    public void WithoutThinking_TheAnswerIsJsonFromItsFirstToken()
    {
        var t = Qwen3.Value;
        var g = Start(t, promptOpensThinking: false);
        var (reasoning, content, finish, _) = Run(g, t, Prefer(t, Id(t, "Sure")));
        Assert.Equal("", reasoning);
        Assert.Equal(FinishReason.Stop, finish);
        using var _ = JsonDocument.Parse(content);
        Assert.StartsWith("{", content.TrimStart());
    }

    [Fact]
    public void ABeganOpeningTagMustBeFinished()
    {
        var t = Qwen3.Value;
        int lt = Id(t, "<"), brace = Id(t, "{");
        var g = Start(t, promptOpensThinking: false);
        Assert.False(g.Step(Prefer(t, lt), out _));      // "<" may begin "<think>"
        Assert.False(g.Step(Prefer(t, brace), out _));   // "{" after it is neither the tag nor JSON
        string written = t.Decode([lt, g.Tokens[^1]]);
        Assert.True("<think>".StartsWith(written, StringComparison.Ordinal) || written.StartsWith("<think>", StringComparison.Ordinal), written);

        // A control token writes nothing, so it cannot go on with the tag either (neither free nor through the mask).
        var h = Start(t, promptOpensThinking: false);
        int control = Id(t, "<|im_start|>");
        Assert.False(h.Step(Prefer(t, lt), out _));
        Assert.False(h.Step(Prefer(t, control), out _));
        Assert.NotEqual(control, h.Tokens[^1]);
        Assert.NotEqual("<", t.Decode([lt, h.Tokens[^1]]));
    }

    [Fact]
    public void WhenThePromptOpensThinking_ItEndsBeforeTheJson()
    {
        var t = Qwen3.Value;
        int endThink = Id(t, "</think>"), sure = Id(t, "Sure");
        var g = Start(t, promptOpensThinking: true);
        var (reasoning, content, finish, tokens) = Run(g, t, Prefer(t, sure), Prefer(t, endThink), Prefer(t, sure));
        Assert.Equal([sure, endThink], tokens.Take(2));
        Assert.Equal("Sure", reasoning);
        Assert.Equal(FinishReason.Stop, finish);
        using var _ = JsonDocument.Parse(content);
    }

    private static readonly TinyModelOptions RandomQwen3 = new()
    {
        Architecture = TinyArchitecture.Qwen2, Dim = 32, Heads = 4, KvHeads = 2, FfnDim = 64, Layers = 1,
        Tokenizer = RealTokenizers.Qwen3, ContextLength = 1024, Seed = 31,
    };

    [Fact]
    public async Task ARandomModelSampledHotWritesOnlyJsonOfTheSchema()
    {
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(RandomQwen3));
        using var scheduler = new Scheduler(model, new SchedulerOptions { ContextLength = 1024, Parallel = 4 });
        var prompt = model.Tokenizer.Encode("Give me JSON.", addSpecial: false);
        var grammar = JsonGrammar.FromSchema("""
            {"type":"object","properties":{"ok":{"type":"boolean"},"n":{"type":"integer"},"kind":{"enum":["a","b"]},
             "list":{"type":"array","items":{"type":"number"},"maxItems":3}},"required":["ok","kind"]}
            """);
        var streams = Enumerable.Range(0, 6).Select(seed => scheduler.Submit(new GenerationRequest
        {
            Prompt = prompt,
            Sampling = new SamplingOptions { Temperature = 1.0f, TopK = 0, TopP = 1, MinP = 0, Seed = seed },
            MaxTokens = 400,
            AnswerJson = grammar,
        })).ToList();
        foreach (var stream in streams)
        {
            var content = new StringBuilder();
            GenerationEvent? final = null;
            await foreach (var e in stream)
            {
                content.Append(e.Content);
                if (e.Kind == GenerationEventKind.Final) final = e;
            }
            Assert.Equal(FinishReason.Stop, final!.FinishReason);
            using var doc = JsonDocument.Parse(content.ToString());
            var o = doc.RootElement;
            Assert.Contains(o.GetProperty("ok").ValueKind, new[] { JsonValueKind.True, JsonValueKind.False });
            Assert.Contains(o.GetProperty("kind").GetString(), new[] { "a", "b" });
            if (o.TryGetProperty("list", out var list)) Assert.InRange(list.GetArrayLength(), 0, 3);
        }
    }

    [Fact]
    public async Task TheBundledModelThinksThenAnswersInTheSchema()
    {
        using var model = Model.Load(Path.Combine(RealTokenizers.RepoRoot(), "models", "seeksharp-r1-tiny.gguf"));
        var chat = new ChatModel(model);
        var request = chat.Prepare([ChatMessage.User("What is 347 + 829?")],
            new ChatGenerationOptions { Sampling = SamplingOptions.Greedy, MaxTokens = 300 }, 512).Request with
        {
            AnswerJson = JsonGrammar.FromSchema("""{"type":"object","properties":{"answer":{"type":"integer"}},"required":["answer"]}"""),
        };
        using var scheduler = new Scheduler(model, new SchedulerOptions { ContextLength = 512, Parallel = 1 });
        string reasoning = "", content = "";
        GenerationEvent? final = null;
        await foreach (var e in scheduler.Submit(request))
        {
            reasoning += e.Reasoning;
            content += e.Content;
            if (e.Kind == GenerationEventKind.Final) final = e;
        }
        Assert.Equal(FinishReason.Stop, final!.FinishReason);
        Assert.Contains("347 + 829", reasoning);
        using var doc = JsonDocument.Parse(content);
        Assert.Equal(JsonValueKind.Number, doc.RootElement.GetProperty("answer").ValueKind);
    }
}
