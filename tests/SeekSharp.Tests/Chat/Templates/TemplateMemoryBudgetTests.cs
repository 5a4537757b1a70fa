using System.Diagnostics;
using SeekSharp.Chat.Templates;
using SeekSharp.Tests.Models;
using Xunit.Abstractions;

namespace SeekSharp.Tests.Chat.Templates;

/// <summary>
/// Issue 16 item 2: a render's total allocation is bounded by <see cref="TemplateLimits.MaxAllocatedBytes"/>, whatever
/// shape the growth takes, while real chat templates stay far below the bound. Runs alone (the allocation-measurement
/// collection) so the process's peak working set is this class's own.
/// </summary>
[Collection(nameof(AllocationMeasurement))]
public sealed class TemplateMemoryBudgetTests(ITestOutputHelper output)
{
    private const long GiB = 1L << 30;
    private static readonly Dictionary<string, object?> NoVariables = new();

    /// <summary>
    /// Kills the test process with a clear message if the managed heap passes <paramref name="limit"/>: should the
    /// budget ever regress, these templates must not grow to tens of gigabytes and bring the OOM killer onto other work.
    /// </summary>
    private sealed class HeapGuard : IDisposable
    {
        private volatile bool _stop;
        private readonly Thread _thread;

        public HeapGuard(long limit)
        {
            _thread = new Thread(() =>
            {
                while (!_stop)
                {
                    long heap = GC.GetTotalMemory(false);
                    if (heap > limit)
                        Environment.FailFast($"TemplateMemoryBudgetTests: managed heap reached {heap >> 20} MiB (guard {limit >> 20} MiB); the template allocation budget is not holding.");
                    Thread.Sleep(5);
                }
            }) { IsBackground = true, Name = "template heap guard" };
            _thread.Start();
        }

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
        }
    }

    /// <summary>Renders expecting a limit error; returns it with the bytes this thread allocated meanwhile.</summary>
    private (TemplateLimitException Error, long Allocated, TimeSpan Elapsed) RenderOverBudget(string source, TemplateLimits? limits = null)
    {
        using var guard = new HeapGuard(3 * GiB);
        var template = ChatTemplate.Parse(source, limits);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var watch = Stopwatch.StartNew();
        var error = Assert.Throws<TemplateLimitException>(() => template.Render(NoVariables));
        watch.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{watch.Elapsed.TotalMilliseconds:F0} ms, {allocated >> 20} MiB allocated: {error.Message}");
        return (error, allocated, watch.Elapsed);
    }

    [Fact]
    public void TheReportedTemplateFailsQuicklyWithBoundedMemory()
    {
        // The template of the report: a namespace list of 3,000 strings of 8 MiB each (every one under the 16 MiB string
        // bound, the list far under the list bound) reached 23.6 GB before the OOM killer.
        const string source =
            "{% set ns = namespace(l=[]) %}{% for i in range(3000) %}{% set ns.l = ns.l + ['x'|indent(8388608, true)] %}{% endfor %}{{ ns.l|length }}";
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long heapBefore = GC.GetTotalMemory(true);
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        long peakBefore = process.PeakWorkingSet64;

        var (error, allocated, elapsed) = RenderOverBudget(source);

        process.Refresh();
        long peakDelta = process.PeakWorkingSet64 - peakBefore;
        long heapDelta = GC.GetTotalMemory(false) - heapBefore;
        output.WriteLine($"peak working set +{peakDelta >> 20} MiB, heap +{heapDelta >> 20} MiB");
        Assert.Contains("256 MiB", error.Message);
        Assert.Contains("TemplateLimits.MaxAllocatedBytes", error.Message);
        Assert.True(allocated < GiB, $"the render allocated {allocated >> 20} MiB");
        Assert.True(peakDelta < GiB, $"peak working set grew by {peakDelta >> 20} MiB");
        Assert.True(heapDelta < GiB, $"heap grew by {heapDelta >> 20} MiB");
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"took {elapsed}");
    }

    // Each shape keeps every single value under the per-value bounds (16M-unit strings, 1M-slot lists), so only the total
    // budget can stop it. `big` is a 4M-unit (8 MiB) string.
    private const string Big = "{% set big = 'x'|indent(4194304, true) %}";

    public static TheoryData<string, string> GrowthShapes() => new()
    {
        { "list of concatenations (~)", Big + "{% set ns = namespace(l=[]) %}{% for i in range(3000) %}{% set ns.l = ns.l + [big ~ i] %}{% endfor %}" },
        { "list of concatenations (+)", Big + "{% set ns = namespace(l=[]) %}{% for i in range(3000) %}{% set ns.l = ns.l + [big + 'y'] %}{% endfor %}" },
        { "string rebuilt in a loop", Big + "{% set ns = namespace(s='') %}{% for i in range(100000) %}{% set ns.s = big ~ i %}{% endfor %}" },
        { "linked lists", Big + "{% set ns = namespace(l=[]) %}{% for i in range(3000) %}{% set ns.l = [ns.l, big ~ i] %}{% endfor %}" },
        { "linked dicts", Big + "{% set ns = namespace(d={}) %}{% for i in range(3000) %}{% set ns.d = {'next': ns.d, 'v': big ~ i} %}{% endfor %}" },
        { "namespace attributes", Big + "{% set ns = namespace() %}{% for i in range(3000) %}{% set ns.a = [ns.a, big|upper] %}{% endfor %}" },
        { "replace", Big + "{% set ns = namespace(l=[]) %}{% for i in range(3000) %}{% set ns.l = [ns.l, big|replace('x', 'y')] %}{% endfor %}" },
        { "indent", "{% set ns = namespace(l=[]) %}{% for i in range(3000) %}{% set ns.l = [ns.l, 'x'|indent(4194304, true)] %}{% endfor %}" },
        { "tojson", Big + "{% set ns = namespace(l=[]) %}{% for i in range(3000) %}{% set ns.l = [ns.l, big|tojson] %}{% endfor %}" },
        { "join of a list", Big + "{% set ns = namespace(l=[]) %}{% for i in range(3000) %}{% set ns.l = [ns.l, [big, i]|join('-')] %}{% endfor %}" },
        { "join of a string (code points)", Big + "{% set ns = namespace(l=[]) %}{% for i in range(3000) %}{% set ns.l = [ns.l, big|join('')] %}{% endfor %}" },
        { "string slice (code points)", Big + "{% set ns = namespace(l=[]) %}{% for i in range(3000) %}{% set ns.l = [ns.l, big[1:]] %}{% endfor %}" },
        { "split", "{% set s = 'a,'|indent(4000000, true) %}{% set ns = namespace(l=[]) %}{% for i in range(3000) %}{% set ns.l = [ns.l, (s ~ i).split(',')] %}{% endfor %}" },
        { "split into many pieces", "{% set ns = namespace(s=',') %}{% for i in range(22) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{% set ns2 = namespace(l=[]) %}{% for i in range(3000) %}{% set ns2.l = [ns2.l, ns.s.split(',')] %}{% endfor %}" },
        { "list copies (quadratic)", "{% set ns = namespace(l=[]) %}{% for i in range(300000) %}{% set ns.l = ns.l + [i] %}{% endfor %}" },
        { "range lists kept", "{% set ns = namespace(l=[]) %}{% for i in range(300) %}{% set ns.l = [ns.l, range(300000)] %}{% endfor %}" },
        { "reverse and slice copies", "{% set r = range(200000) %}{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% set ns.l = [ns.l, r|reverse, r[1:]] %}{% endfor %}" },
        { "sort copies", "{% set r = range(2000) %}{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = [ns.l, r|sort] %}{% endfor %}" },
        { "dict items kept", "{% set d = {'a': 1, 'b': 2} %}{% set ns = namespace(l=[]) %}{% for i in range(300000) %}{% set ns.l = [ns.l, d.items(), d|items, d.keys(), d.values()] %}{% endfor %}" },
        { "loop objects kept", "{% set ns = namespace(l=[]) %}{% for a in range(300) %}{% for b in range(1000) %}{% set ns.l = [ns.l, loop] %}{% endfor %}{% endfor %}" },
        { "macro frames holding output", Big + "{% macro f(n) %}{{ big }}{% if n > 0 %}{{ f(n - 1)|length }}{% endif %}{% endmacro %}{{ f(60) }}" },
        { "macro recursion building strings", Big + "{% macro f(n, s) %}{% if n > 0 %}{{ f(n - 1, s ~ 'y')|length }}{{ f(n - 1, s ~ 'z')|length }}{% endif %}{% endmacro %}{{ f(20, big) }}" },
        { "caller blocks", Big + "{% macro m() %}{{ caller()|length }}{% endmacro %}{% for i in range(3000) %}{% call m() %}{{ big }}{% endcall %}{% endfor %}" },
        { "filter blocks", Big + "{% for i in range(3000) %}{% filter upper %}{{ big }}{% endfilter %}{% endfor %}" },
        { "output of many values", Big + "{% for i in range(3000) %}{{ big|length }}{{ big }}{% endfor %}" },
        { "equality printing a list", Big + "{% set ns = namespace(l=[big]) %}{% for i in range(10) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l == 'x' }}" },
        { "tojson of many references", Big + "{% set ns = namespace(l=[big]) %}{% for i in range(10) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|tojson }}" },
        { "printing many references", Big + "{% set ns = namespace(l=[big]) %}{% for i in range(10) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l }}" },
        { "~ of many references", Big + "{% set ns = namespace(l=[big]) %}{% for i in range(10) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ (ns.l ~ '')|length }}" },
        { "raise_exception of many references", Big + "{% set ns = namespace(l=[big]) %}{% for i in range(10) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ raise_exception(ns.l) }}" },
        { "deeply nested list printed", "{% set ns = namespace(l=[]) %}{% for i in range(300000) %}{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l|tojson(indent=64) }}" },
    };

    [Theory]
    [MemberData(nameof(GrowthShapes))]
    public void EveryGrowthShapeStopsAtALimit(string shape, string source)
    {
        // A 64 MiB budget keeps the test quick; real allocation may pass the budget by the builders in flight (a
        // StringBuilder's doubling, a finished string before its charge), each at most a 16M-unit string.
        var (_, allocated, elapsed) = RenderOverBudget(source, new TemplateLimits { MaxAllocatedBytes = 64L << 20 });
        Assert.True(allocated < 384L << 20, $"{shape}: the render allocated {allocated >> 20} MiB");
        Assert.True(elapsed < TimeSpan.FromSeconds(15), $"{shape}: took {elapsed}");
    }

    [Theory]
    [InlineData("{{ ns.l }}")]
    [InlineData("{{ ns.l|tojson }}")]
    [InlineData("{{ ns.l|tojson(indent=64) }}")]
    [InlineData("{{ ns.l ~ '' }}")]
    [InlineData("{{ ns.l == 'x' }}")]
    [InlineData("{{ [ns.l]|join }}")]
    public void DeeplyNestedValuesFailCleanlyWhenPrinted(string print)
    {
        // A loop can wrap a list in a list 100,000 times; printing it recursed once per level and overflowed the stack
        // (a crash no catch can handle), and indenting it built depth-squared padding.
        var (error, _, _) = RenderOverBudget(
            "{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = [ns.l] %}{% endfor %}" + print);
        // Indented, the padding reaches the string bound before the stack runs out.
        Assert.True(error.Message.Contains("nested too deeply") || error.Message.Contains("longer than"), error.Message);
    }

    public static TheoryData<string, string> CalibrationShapes() => new()
    {
        { "empty loop", "{% for i in range(100000) %}{% endfor %}" },
        { "loop objects kept", "{% set ns = namespace(l=[]) %}{% for i in range(20000) %}{% set ns.l = [ns.l, loop] %}{% endfor %}" },
        { "list grown by copies", "{% set ns = namespace(l=[]) %}{% for i in range(3000) %}{% set ns.l = ns.l + [i] %}{% endfor %}" },
        { "string grown by copies", "{% set ns = namespace(s='') %}{% for i in range(3000) %}{% set ns.s = ns.s ~ 'abc' ~ i %}{% endfor %}" },
        { "macro calls", "{% macro f(a, b=1) %}<{{ a }}|{{ b }}>{% endmacro %}{% for i in range(20000) %}{{ f(i) }}{% endfor %}" },
        { "callers kept", "{% set ns = namespace(l=[]) %}{% macro m() %}{% set ns.l = [ns.l, caller] %}{% endmacro %}{% for i in range(20000) %}{% call m() %}x{% endcall %}{% endfor %}" },
        { "bound methods kept", "{% set ns = namespace(l=[]) %}{% for i in range(20000) %}{% set ns.l = [ns.l, 'ab'.upper, 'cd'.split] %}{% endfor %}" },
        { "numbers kept", "{% set ns = namespace(l=[]) %}{% for i in range(20000) %}{% set ns.l = [ns.l, i + 1, i * 2.5, (i, i)] %}{% endfor %}" },
        { "dicts kept", "{% set d = {'a': 1, 'b': 2} %}{% set ns = namespace(l=[]) %}{% for i in range(20000) %}{% set ns.l = [ns.l, d.items(), d.keys(), {'x': i}] %}{% endfor %}" },
        { "split and join", "{% set ns = namespace(l=[]) %}{% for i in range(5000) %}{% set ns.l = [ns.l, ('a b c d e f ' ~ i).split(' ')|join(',')] %}{% endfor %}" },
        { "tojson", "{% set ns = namespace(l=[]) %}{% for i in range(5000) %}{% set ns.l = [ns.l, {'role': 'user', 'content': 'hello ' ~ i, 'n': [1, 2.5, none]}|tojson(indent=2)] %}{% endfor %}" },
        { "string filters", "{% set ns = namespace(l=[]) %}{% for i in range(5000) %}{% set ns.l = [ns.l, ('  Hello World ' ~ i)|trim|upper|replace('O', '0')|indent(2, true), ('x' ~ i)[1:]] %}{% endfor %}" },
    };

    /// <summary>
    /// The charge tracks what the heap really allocates: real allocation stays within a small factor of the charge, so
    /// the budget bounds memory, including where small uncharged objects (loop objects, callers, bound methods,
    /// numbers) are kept in lists.
    /// </summary>
    [Theory]
    [MemberData(nameof(CalibrationShapes))]
    public void TheChargeTracksRealAllocation(string shape, string source)
    {
        var template = ChatTemplate.Parse(source);
        template.Render(NoVariables, out _);
        long before = GC.GetAllocatedBytesForCurrentThread();
        template.Render(NoVariables, out long charged);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{shape}: charged {charged:N0}, allocated {allocated:N0} ({(double)allocated / charged:F2}x)");
        Assert.True(allocated < 2.5 * charged + (256 << 10), $"{shape}: charged {charged:N0} bytes but allocated {allocated:N0}");
    }

    [Fact]
    public void TheBudgetIsConfigurableAndNamedInTheError()
    {
        var limits = new TemplateLimits { MaxAllocatedBytes = 1_000_000 };
        var (error, _, _) = RenderOverBudget("{% set ns = namespace(l=[]) %}{% for i in range(1000) %}{% set ns.l = ns.l + ['abc' ~ i] %}{% endfor %}", limits);
        Assert.Equal("Template allocates more than 1000000 bytes (TemplateLimits.MaxAllocatedBytes); a chat template needs a few MiB.", error.Message);
        Assert.Equal("0-1-2", ChatTemplate.Parse("{{ range(3)|join('-') }}", limits).Render(NoVariables));
    }

    private static IEnumerable<(string Template, string Conversation, IReadOnlyDictionary<string, object?> Variables)> RealRenders()
    {
        foreach (var (name, source) in RealTemplates.All)
            foreach (string path in Directory.GetFiles(RealTemplates.ConversationPath(""), "*.json").Order(StringComparer.Ordinal))
            {
                var file = (IReadOnlyDictionary<string, object?>)ChatTemplate.FromJson(File.ReadAllText(path))!;
                yield return (source, $"{name} × {Path.GetFileName(path)}", ChatTemplate.ChatVariables((IReadOnlyList<object?>)file["messages"]!,
                    file.GetValueOrDefault("tools") as IReadOnlyList<object?>, file.GetValueOrDefault("add_generation_prompt") is true,
                    "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", file.GetValueOrDefault("extra") as IReadOnlyDictionary<string, object?>));
            }
    }

    [Fact]
    public void RealTemplatesChargeFarLessThanTheDefault()
    {
        long largest = 0;
        string largestCase = "";
        int rendered = 0;
        foreach (var (source, name, variables) in RealRenders())
        {
            var template = ChatTemplate.Parse(source);
            string text;
            long charged;
            try { text = template.Render(variables, out charged); }
            catch (TemplateRuntimeException) { continue; } // a template that rejects a conversation (Gemma on tool turns)
            rendered++;
            // Identical text under a budget of twice the charge: the budget changes nothing below its bound.
            Assert.Equal(text, ChatTemplate.Parse(source, new TemplateLimits { MaxAllocatedBytes = 2 * charged + 1024 }).Render(variables));
            if (charged > largest) (largest, largestCase) = (charged, name);
        }
        output.WriteLine($"{rendered} renders; largest charge {largest:N0} bytes ({largestCase})");
        Assert.True(rendered >= 40, $"only {rendered} renders");
        Assert.True(largest < 1 << 20, $"{largestCase} charged {largest:N0} bytes");
    }

    [Fact]
    public void ALongConversationStaysWellInsideTheDefault()
    {
        // 200 turns, about 1M characters of message text in all (roughly 250K tokens), rendered by every real template.
        var random = new Random(16);
        var messages = new List<object?> { new Dictionary<string, object?> { ["role"] = "system", ["content"] = "You are helpful." } };
        long textLength = 0;
        for (int i = 0; i < 200; i++)
        {
            string content = string.Concat(Enumerable.Range(0, 700).Select(_ => "lorem ipsum "[random.Next(12)]));
            string reply = "<think>\n" + content[..300] + "\n</think>\n\n" + content;
            messages.Add(new Dictionary<string, object?> { ["role"] = "user", ["content"] = content + " " + i });
            messages.Add(new Dictionary<string, object?> { ["role"] = "assistant", ["content"] = reply });
            textLength += content.Length + reply.Length;
        }
        messages.Add(new Dictionary<string, object?> { ["role"] = "user", ["content"] = "And now?" });
        foreach (var (name, source) in RealTemplates.All)
        {
            var template = ChatTemplate.Parse(source);
            long before = GC.GetAllocatedBytesForCurrentThread();
            string text = template.Render(ChatTemplate.ChatVariables(messages, null, true, "<s>", "</s>"), out long charged);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            output.WriteLine($"{name}: {textLength:N0} chars of messages, output {text.Length:N0} chars, charged {charged:N0} bytes, allocated {allocated:N0} bytes");
            Assert.True(charged < 32L << 20, $"{name} charged {charged:N0} bytes");
        }
    }
}
