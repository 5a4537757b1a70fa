namespace SeekSharp.Conformance.Tests.Cli;

/// <summary>
/// Whether a child of this test process can be stopped with SIGINT. A shell without job control starts a background
/// job (<c>cmd &amp;</c>) with SIGINT ignored, every process it starts inherits that, and the .NET runtime leaves a
/// signal that was ignored at start-up ignored (as a background job expects): seek then never sees the "Ctrl+C" a test
/// sends and runs to the end. That looks like a bug in seek's signal handling; the tests say what it is instead.
/// </summary>
internal static class SignalDisposition
{
    /// <summary>Fails, naming the cause, when SIGINT is ignored in this process (and so in the children it starts).</summary>
    public static void AssertSigIntReachesChildren()
    {
        // SigIgn in /proc/self/status: the mask of ignored signals, bit n−1 for signal n (SIGINT = 2).
        string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        if (line is null) return;
        ulong ignored = Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16);
        Assert.True((ignored & (1UL << (2 - 1))) == 0,
            "SIGINT is ignored in this test process (started as a background job of a shell without job control?), so the " +
            "seek processes it starts ignore SIGINT too and no Ctrl+C test can work: run the tests in the foreground, or with 'set -m'");
    }
}
