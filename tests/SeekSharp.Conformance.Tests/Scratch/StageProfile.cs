using System.Diagnostics;
using SeekSharp.Inference;
using SeekSharp.Models;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Scratch;

public class StageProfile(ITestOutputHelper output)
{
    private sealed class Timer : ITraceSink
    {
        public readonly Dictionary<string, double> Ms = new();
        private long _last = Stopwatch.GetTimestamp();
        public void Reset() => _last = Stopwatch.GetTimestamp();
        public void Trace(string name, int layer, ReadOnlySpan<float> values)
        {
            long now = Stopwatch.GetTimestamp();
            Ms[name] = Ms.GetValueOrDefault(name) + (now - _last) * 1000.0 / Stopwatch.Frequency;
            _last = now;
        }
    }

    [Theory]
    [InlineData(512, "Auto")]
    [InlineData(512, "Absorbed")]
    [InlineData(1, "Auto")]
    public void Profile(int tokens, string mode)
    {
        using var model = Model.Load(Environment.GetEnvironmentVariable("DSMODEL") ?? "/tmp/ds-quick-q8.gguf");
        using var ctx = model.CreateContext(new ContextOptions { ContextLength = 1024, BatchSize = 512, MlaAttention = Enum.Parse<MlaAttention>(mode) });
        var timer = new Timer();
        var rng = new Random(1);
        int[] prompt = Enumerable.Range(0, 512).Select(_ => rng.Next(1000)).ToArray();
        for (int rep = 0; rep < 3; rep++)
        {
            ctx.Cache.Clear(0);
            if (tokens == 1) { ctx.Prefill(prompt[..64]); }
            ctx.Trace = rep == 0 ? null : timer;
            timer.Reset();
            var sw = Stopwatch.StartNew();
            if (tokens == 1)
            {
                var b = new Batch(1);
                for (int i = 0; i < 32; i++) { b.Clear(); b.Add(i, 64 + i, 0, true); ctx.Decode(b); }
            }
            else ctx.Prefill(prompt[..tokens]);
            output.WriteLine($"rep {rep}: {sw.Elapsed.TotalMilliseconds:F0} ms");
        }
        foreach (var (k, v) in timer.Ms.OrderByDescending(p => p.Value))
            output.WriteLine($"{k,-14} {v / 2,8:F1} ms");
    }
}
