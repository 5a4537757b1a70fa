using System.Diagnostics;
using SeekSharp.Chat.Templates;
using Xunit.Abstractions;

namespace SeekSharp.Tests.Chat.Templates;

public sealed class ChatTemplateApiTests(ITestOutputHelper output)
{
    [Fact]
    public void FromJsonKeepsKeyOrderAndNumberKinds()
    {
        var value = (IReadOnlyDictionary<string, object?>)ChatTemplate.FromJson("""{"z": 1, "a": 2.5, "m": [true, null, "s"], "z": 3}""")!;
        Assert.Equal(["z", "a", "m"], value.Keys);
        Assert.Equal(3L, Assert.IsType<long>(value["z"]));
        Assert.Equal(2.5, Assert.IsType<double>(value["a"]));
        Assert.Equal(new object?[] { true, null, "s" }, (IReadOnlyList<object?>)value["m"]!);
    }

    [Fact]
    public void DotNetValuesRenderLikeTheirJavaScriptCounterparts()
    {
        var template = ChatTemplate.Parse("{{ i }} {{ l }} {{ d }} {{ whole }} {{ list }} {{ dict|tojson }} {{ b }} {{ nothing is none }}");
        var result = template.Render(new Dictionary<string, object?>
        {
            ["i"] = 3, ["l"] = 4L, ["d"] = 0.5, ["whole"] = 2.0, ["list"] = new List<object?> { 1, "x" },
            ["dict"] = new Dictionary<string, object?> { ["b"] = 1, ["a"] = null }, ["b"] = false, ["nothing"] = null,
        });
        // A whole double is an integer in JavaScript, so it prints without ".0".
        Assert.Equal("3 4 0.5 2 [1, \"x\"] {\"b\": 1, \"a\": null} false true", result);
    }

    [Fact]
    public void ChatRenderPassesTransformersVariables()
    {
        var template = ChatTemplate.Parse(
            "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}{{ tools is none }}"
            + "{% if add_generation_prompt %}<gen>{% endif %}{{ enable_thinking }}{{ eos_token is defined }}");
        var messages = (IReadOnlyList<object?>)ChatTemplate.FromJson("""[{"role": "user", "content": "hi"}]""")!;
        string text = template.Render(messages, tools: null, addGenerationPrompt: true, bosToken: "<s>",
            extraVariables: new Dictionary<string, object?> { ["enable_thinking"] = false });
        Assert.Equal("<s>[user:hi]true<gen>falsefalse", text);
    }

    [Fact]
    public void BuiltinNamesCannotBeOverridden()
    {
        var template = ChatTemplate.Parse("{{ x }}");
        Assert.Throws<ArgumentException>(() => template.Render(new Dictionary<string, object?> { ["range"] = 1 }));
        Assert.Throws<ArgumentException>(() => template.Render(new Dictionary<string, object?> { ["x"] = new object() }));
    }

    [Fact]
    public void ParsedTemplateIsReusableAcrossThreads()
    {
        var template = ChatTemplate.Parse("{% set ns = namespace(n=0) %}{% for i in range(k) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}");
        Parallel.For(0, 200, k =>
        {
            string expected = (k * (k - 1) / 2).ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(expected, template.Render(new Dictionary<string, object?> { ["k"] = k }));
        });
    }

    [Fact]
    public void StrftimeNowFormatsTheLocalDate()
    {
        string text = ChatTemplate.Parse("{{ strftime_now('%Y-%m-%d %%') }}").Render(new Dictionary<string, object?>());
        Assert.Matches(@"^\d{4}-\d{2}-\d{2} %$", text);
    }

    /// <summary>Reports (does not gate on) the render time of a real template with a tool-calling conversation.</summary>
    [Fact]
    public void RenderTimeOfARealTemplate()
    {
        var (_, source) = RealTemplates.All.Single(t => t.Name == "tokenizer-qwen3");
        var conversation = (IReadOnlyDictionary<string, object?>)ChatTemplate.FromJson(
            File.ReadAllText(RealTemplates.ConversationPath("07-parallel-tool-calls-object-arguments.json")))!;
        var variables = ChatTemplate.ChatVariables((IReadOnlyList<object?>)conversation["messages"]!,
            (IReadOnlyList<object?>)conversation["tools"]!, true, null, "<|im_end|>");
        var parseWatch = Stopwatch.StartNew();
        var template = ChatTemplate.Parse(source);
        parseWatch.Stop();
        string first = template.Render(variables);
        for (int i = 0; i < 200; i++) template.Render(variables);
        var watch = Stopwatch.StartNew();
        const int runs = 1000;
        string last = "";
        for (int i = 0; i < runs; i++) last = template.Render(variables);
        watch.Stop();
        Assert.Equal(first, last);
        output.WriteLine($"parse {parseWatch.Elapsed.TotalMilliseconds:F2} ms; render {watch.Elapsed.TotalMilliseconds * 1000 / runs:F1} µs per call ({first.Length} chars)");
    }
}
