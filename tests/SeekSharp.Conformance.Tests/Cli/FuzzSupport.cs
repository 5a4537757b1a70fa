using System.Diagnostics;
using System.Text;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary>
/// What the fuzz tests of the commands that read user files share (issue 16): byte mutators, the "no crash" check and a
/// way to run <c>seek</c> that also measures the child's peak resident memory.
/// </summary>
internal static class FuzzSupport
{
    /// <summary>Most memory any fuzzed run may use: 1 GiB (the bundled model is 12 MB; seek itself starts at ~40-70 MB).</summary>
    public const long MemoryCeilingKb = 1L << 20;

    /// <summary>A finished run: its result and the child's peak RSS (VmHWM) in KiB.</summary>
    public sealed record Measured(SeekProcess.Result Result, long PeakRssKb)
    {
        public int ExitCode => Result.ExitCode;
        public string Stderr => Result.Stderr;
    }

    static readonly string? GnuTime = File.Exists("/usr/bin/time") ? "/usr/bin/time" : null;

    /// <summary>How <see cref="Run"/> measures memory, for the test output.</summary>
    public static string MemoryMethod => GnuTime is null ? "VmHWM polled every 2 ms" : "GNU time %M (getrusage ru_maxrss of the child)";

    /// <summary>
    /// Runs the built seek with <paramref name="stdin"/> and measures its peak resident set size. Under GNU time
    /// (<c>/usr/bin/time -f %M</c>) the figure is the kernel's own ru_maxrss of the waited child, exact and free of races
    /// (the dotnet host runs seek in its own process, no exec or subprocess). Without it, the child's
    /// <c>/proc/PID/status</c> VmHWM (a high-water mark, so a poll never under-reads what happened before it) is polled
    /// every 2 ms: that misses at most the last 2 ms of growth before exit. <c>getrusage(RUSAGE_CHILDREN)</c> is not
    /// used: it is the maximum over every child the test process ever waited for, including other tests' children.
    /// </summary>
    public static Measured Run(string stdin, params string[] args)
    {
        string seek = Path.Combine(AppContext.BaseDirectory, "seek.dll");
        string report = Path.Combine(Path.GetTempPath(), $"seek-rss-{Guid.NewGuid():N}.txt");
        var start = new ProcessStartInfo(GnuTime ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (GnuTime is not null)
            foreach (string a in new[] { "-f", "%M", "-o", report, "dotnet" }) start.ArgumentList.Add(a);
        start.ArgumentList.Add(seek);
        foreach (string a in args) start.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            try
            {
                process.StandardInput.Write(stdin);
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // seek exited (e.g. on a bad flag) before reading its input.
            }
            long polled = 0;
            var deadline = Stopwatch.StartNew();
            while (!process.WaitForExit(GnuTime is null ? 2 : 50))
            {
                if (GnuTime is null) polled = Math.Max(polled, ReadVmHwmKb(process.Id));
                if (deadline.Elapsed > TimeSpan.FromMinutes(1))
                {
                    process.Kill(entireProcessTree: true);
                    throw new TimeoutException($"seek {string.Join(' ', args)} did not finish in 1 minute");
                }
            }
            process.WaitForExit();
            long peak = GnuTime is null ? polled : ReadTimeReport(report);
            return new Measured(new SeekProcess.Result(process.ExitCode, stdout.Result, stderr.Result), peak);
        }
        finally
        {
            File.Delete(report);
        }
    }

    // GNU time writes "Command exited with non-zero status N" (or "terminated by signal N") before the format's output.
    static long ReadTimeReport(string path) => long.Parse(File.ReadAllLines(path).Last(l => l.Length > 0).Trim());

    static long ReadVmHwmKb(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim());
        }
        catch (IOException)
        {
            // The process exited between two polls.
        }
        return 0;
    }

    /// <summary>
    /// Any seek outcome but a crash: exit 0, 1 or 2 (never 134 from an unhandled exception nor 70 from an internal
    /// error); never a stack trace; a failure as one "seek:" line; at most <see cref="MemoryCeilingKb"/> of memory.
    /// With <paramref name="interactive"/> (chat) the session goes on after an error, so stderr may hold several
    /// lines, each of which must be a "seek:" line.
    /// </summary>
    public static void AssertNoCrash(SeekProcess.Result r, string what, long peakRssKb = 0, bool interactive = false)
    {
        Assert.True(r.ExitCode is 0 or 1 or 2, $"{what}: exit {r.ExitCode}; stderr: {r.Stderr}");
        Assert.False(r.Stderr.Contains("   at ") || r.Stderr.Contains("Unhandled exception") || r.Stderr.Contains("internal error"),
            $"{what}: stack trace or internal error: {r.Stderr}");
        string stderr = r.Stderr.TrimEnd();
        if (interactive)
            Assert.True(stderr.Split('\n').All(l => l.StartsWith("seek:")), $"{what}: a stderr line that is not a 'seek:' line: {r.Stderr}");
        else if (r.ExitCode != 0)
            Assert.True(stderr.StartsWith("seek:") && !stderr.Contains('\n'), $"{what}: not one 'seek:' line: {r.Stderr}");
        Assert.True(peakRssKb <= MemoryCeilingKb, $"{what}: peak RSS {peakRssKb / 1024} MiB is over the {MemoryCeilingKb / 1024} MiB ceiling");
    }

    /// <summary>Mutates JSON text: deleted, inserted and replaced bytes (mostly JSON punctuation), truncation, byte order
    /// marks and repeated spans (deep nesting, long strings).</summary>
    public static byte[] MutateJson(byte[] seed, Random rng) => MutateText(seed, rng, "[]{}\",:\\ 0-9.eE+nulltruefalse\u00FF"u8.ToArray());

    /// <summary>Mutates a Jinja template with the same operators as <see cref="MutateJson"/>, inserting template syntax.</summary>
    public static byte[] MutateJinja(byte[] seed, Random rng) => MutateText(seed, rng, "{%}(|)[.]'\"~-+*/=<>!,: 0123456789"u8.ToArray(),
        ["{%", "%}", "{{", "}}", "{#", "#}", "{% if x %}", "{% endif %}", "{% for m in messages %}", "{% endfor %}", "{% set n = ",
         "{% macro f(a) %}", "{% endmacro %}", "{{ f(1) }}", "namespace(", "loop.", "|tojson", "|length", "|join(',')", "|trim",
         "[-1]", "[::-1]", "[1:]", "raise_exception(", " is defined", " is none", " not ", " and ", " or ", " in ", "\u00FF", "\U0001F600"]);

    static byte[] MutateText(byte[] seed, Random rng, byte[] alphabet, string[]? tokens = null)
    {
        var b = new List<byte>(seed);
        int edits = rng.Next(1, 5);
        for (int e = 0; e < edits && b.Count > 0; e++)
        {
            int at = rng.Next(b.Count);
            switch (rng.Next(tokens is null ? 7 : 8))
            {
                case 0: b.RemoveAt(at); break;
                case 1: b.Insert(at, alphabet[rng.Next(alphabet.Length)]); break;
                case 2: b[at] = alphabet[rng.Next(alphabet.Length)]; break;
                case 3: b[at] = (byte)rng.Next(256); break;
                case 4: b.RemoveRange(at, b.Count - at); break;
                case 5: b.InsertRange(0, new byte[] { 0xEF, 0xBB, 0xBF }); break;
                case 6:
                    int len = Math.Min(rng.Next(1, 40), b.Count - at);
                    var span = b.GetRange(at, len);
                    for (int k = rng.Next(1, 50); k > 0; k--) b.InsertRange(at, span); // nesting and repetition
                    break;
                default:
                    b.InsertRange(at, Encoding.UTF8.GetBytes(tokens![rng.Next(tokens.Length)]));
                    break;
            }
        }
        return [.. b];
    }

    /// <summary>Mutates a binary file: bit flips, random bytes, interesting 32- and 64-bit values (favouring the first
    /// <paramref name="headerLength"/> bytes, where sizes live), truncation and appended bytes.</summary>
    public static string MutateBinary(ref byte[] b, int headerLength, Random rng)
    {
        int limit = rng.Next(3) == 0 ? b.Length : Math.Min(headerLength, b.Length);
        int at = rng.Next(limit);
        switch (rng.Next(6))
        {
            case 0:
                b[at] ^= (byte)(1 << rng.Next(8));
                return $"bit flip at {at}";
            case 1:
                b[at] = (byte)rng.Next(256);
                return $"byte at {at}";
            case 2:
                at = Math.Min(at, b.Length - 4);
                uint value = rng.Next(5) switch { 0 => 0u, 1 => 0xFFFFFFFFu, 2 => 0x7FFFFFFFu, 3 => 1u << rng.Next(32), _ => (uint)rng.Next() };
                BitConverter.TryWriteBytes(b.AsSpan(at, 4), value);
                return $"uint32 {value} at {at}";
            case 3:
                at = Math.Min(at, b.Length - 8);
                ulong big = rng.Next(3) switch { 0 => ulong.MaxValue, 1 => 1UL << 62, _ => (ulong)rng.NextInt64() };
                BitConverter.TryWriteBytes(b.AsSpan(at, 8), big);
                return $"uint64 {big} at {at}";
            case 4:
                b = b[..at];
                return $"truncated to {at}";
            default:
                var extra = new byte[rng.Next(1, 4096)];
                rng.NextBytes(extra);
                b = [.. b, .. extra];
                return $"{extra.Length} bytes appended";
        }
    }
}
