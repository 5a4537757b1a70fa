using System.Diagnostics;
using SeekSharp.Chat.Templates;

namespace SeekSharp.Tests.Chat.Templates;

public sealed class TemplateLimitTests
{
    private static readonly Dictionary<string, object?> NoVariables = new();

    private static void AssertLimit(string source, TemplateLimits? limits = null)
    {
        var watch = Stopwatch.StartNew();
        Assert.Throws<TemplateLimitException>(() => ChatTemplate.Parse(source, limits).Render(NoVariables));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
    }

    [Fact]
    public void HugeRangeIsRejectedBeforeAllocating() => AssertLimit("{% for i in range(1000000000000) %}{% endfor %}");

    [Fact]
    public void NestedLoopsAreBoundedInTotal() =>
        AssertLimit("{% for a in range(200) %}{% for b in range(200) %}{% for c in range(200) %}{% endfor %}{% endfor %}{% endfor %}");

    [Fact]
    public void IterationLimitIsConfigurable()
    {
        var limits = new TemplateLimits { MaxLoopIterations = 50 };
        AssertLimit("{% for i in range(10) %}{% for j in range(10) %}{% endfor %}{% endfor %}", limits);
        Assert.Equal("0123", ChatTemplate.Parse("{% for i in range(4) %}{{ i }}{% endfor %}", limits).Render(NoVariables));
    }

    [Fact]
    public void UnboundedMacroRecursionIsStopped() => AssertLimit("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");

    [Fact]
    public void MutualRecursionThroughCallerIsStopped() =>
        AssertLimit("{% macro f() %}{% call f() %}x{% endcall %}{% endmacro %}{{ f() }}");

    [Fact]
    public void ExponentialStringGrowthIsStopped() =>
        AssertLimit("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}");

    [Fact]
    public void ExponentialListGrowthIsStopped() =>
        AssertLimit("{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}");

    [Fact]
    public void OutputSizeIsBounded() =>
        AssertLimit("{% for i in range(100000) %}{{ 'a very long line of output text' }}{% endfor %}",
            new TemplateLimits { MaxOutputLength = 100_000 });

    [Fact]
    public void ReplaceAndIndentCannotExplode() =>
        AssertLimit("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s.replace('', ns.s) %}{% endfor %}");

    [Fact]
    public void DeeplyNestedExpressionsFailCleanly() => AssertLimit(new string('(', 100_000) + "1" + new string(')', 100_000) is var e ? "{{ " + e + " }}" : "");

    [Fact]
    public void DeeplyNestedBlocksFailCleanly() =>
        AssertLimit(string.Concat(Enumerable.Repeat("{% if true %}", 50_000)) + string.Concat(Enumerable.Repeat("{% endif %}", 50_000)));

    [Fact]
    public void LongNotAndSignChainsFailCleanly()
    {
        AssertLimit("{{ " + string.Concat(Enumerable.Repeat("not ", 100_000)) + "x }}");
        AssertLimit("{{ " + string.Concat(Enumerable.Repeat("- ", 100_000)) + "1 }}");
    }
}
