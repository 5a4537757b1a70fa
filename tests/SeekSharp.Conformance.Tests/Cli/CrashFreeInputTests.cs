using System.Diagnostics;
using System.Text;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary>
/// Issue 16: bad input ends as one clear line on stderr and exit 1 (2 for System.CommandLine's own parse errors), never
/// as .NET's unhandled-exception stack trace and exit 134. One test per case reported, then seeded mutation fuzzing of
/// <c>seek template --messages</c> and of <c>seek info</c> on GGUF headers (the other readers: <see cref="FuzzUserFilesTests"/>).
/// </summary>
public class CrashFreeInputTests(ITestOutputHelper output)
{
    // A small model with the synthetic tokenizer (a file of a few hundred KB, so the fuzzer can rewrite it quickly).
    private static readonly TinyModelOptions Tiny = new() { Dim = 64, Heads = 4, KvHeads = 2, FfnDim = 128, Layers = 2, ContextLength = 256 };

    // Wide enough that --ctx 100000000 needs ~400 GB of KV cache, more than any test machine has.
    private static readonly TinyModelOptions Wide = new() { Dim = 256, Heads = 8, KvHeads = 8, FfnDim = 256, Layers = 4, ContextLength = 256 };

    private static string ModelPath => TinyModelBuilder.GetOrBuild(Tiny);

    private const string Template = "{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}";

    private static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"seek-crashfree-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string TemplateFile(string dir)
    {
        string path = Path.Combine(dir, "template.jinja");
        File.WriteAllText(path, Template);
        return path;
    }

    /// <summary>Exit 1, exactly one line on stderr, "seek:" first, no stack frame, no .NET exception type name.</summary>
    private static void AssertOneLineError(SeekProcess.Result r, string expectedFragment)
    {
        string stderr = r.Stderr.TrimEnd();
        Assert.True(r.ExitCode is 1 or 2, $"exit {r.ExitCode}; stderr: {r.Stderr}");
        Assert.Single(stderr.Split('\n'));
        Assert.StartsWith("seek:", stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("Exception", r.Stderr);
        Assert.DoesNotContain("(Parameter '", r.Stderr);
        Assert.Contains(expectedFragment, stderr);
    }

    // ---- seek template --messages / --tools ----

    [Theory]
    [InlineData("--messages", "malformed")]
    [InlineData("--messages", "double-bom")]
    [InlineData("--messages", "deep")]
    [InlineData("--tools", "malformed")]
    [InlineData("--tools", "deep")]
    public void TemplateWithBadJsonIsOneLine(string flag, string kind)
    {
        string dir = TempDir();
        try
        {
            string file = Path.Combine(dir, $"{kind}.json");
            byte[] bom = [0xEF, 0xBB, 0xBF];
            byte[] content = kind switch
            {
                "malformed" => Encoding.UTF8.GetBytes("[{\"role\":\"user\","),
                // File.ReadAllText removes one byte order mark; a second one used to reach the JSON reader.
                "double-bom" => [.. bom, .. bom, .. "[{\"role\":\"user\",\"content\":\"hi\"}]"u8.ToArray()],
                _ => Encoding.UTF8.GetBytes(new string('[', 100_000) + new string(']', 100_000)),
            };
            File.WriteAllBytes(file, content);
            var r = SeekProcess.Run("template", "-m", ModelPath, "--template", TemplateFile(dir), flag, file);
            if (kind == "double-bom")
            {
                // Byte order marks are accepted, as JSON readers do.
                Assert.True(r.ExitCode == 0, r.Stderr);
                Assert.Contains("<user>hi", r.Stdout);
                return;
            }
            AssertOneLineError(r, $"{flag} {file}: not valid JSON at line 1");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void TemplateAcceptsAUtf8ByteOrderMark()
    {
        string dir = TempDir();
        try
        {
            string file = Path.Combine(dir, "bom.json");
            File.WriteAllBytes(file, [0xEF, 0xBB, 0xBF, .. "[{\"role\":\"user\",\"content\":\"hi\"}]"u8.ToArray()]);
            var r = SeekProcess.Run("template", "-m", ModelPath, "--template", TemplateFile(dir), "--messages", file);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal("<user>hi\n<assistant>", r.Stdout);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // ---- GGUF metadata out of range ----

    [Theory]
    [InlineData("info")]
    [InlineData("run")]
    public void HugeContextLengthInMetadataIsOneLine(string command)
    {
        string dir = TempDir();
        try
        {
            string path = Path.Combine(dir, "ctx-max.gguf");
            var w = TinyModelBuilder.CreateWriter(Tiny);
            w.Set("llama.context_length", 0xFFFFFFFFu);
            w.Write(path);
            var r = command == "info" ? SeekProcess.Run("info", path) : SeekProcess.Run("run", "-m", path, "-p", "hi", "-n", "2");
            AssertOneLineError(r, "llama.context_length is 4294967295; expected 1 to 16777216");
            Assert.Contains(path, r.Stderr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // ---- training checkpoints ----

    private static string PretrainConfig => Path.Combine(RealTokenizers.RepoRoot(), "models", "configs", "pretrain.json");

    [Theory]
    [InlineData("truncated", "it does not start with the SeekSharp checkpoint magic")]
    [InlineData("garbage", "it does not start with the SeekSharp checkpoint magic")]
    [InlineData("header-only", "the file ends inside the header: it is truncated")]
    [InlineData("garbage-header", "the header describes an impossible model")]
    public void ResumeFromABadCheckpointIsOneLine(string kind, string expected)
    {
        string dir = TempDir();
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "checkpoint.ckpt"), BadCheckpoint(kind));
            var r = SeekProcess.Run("train", "pretrain", "--config", PretrainConfig, "-o", dir, "--resume");
            AssertOneLineError(r, expected);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void InitFromABadCheckpointIsOneLine()
    {
        string dir = TempDir();
        try
        {
            string ckpt = Path.Combine(dir, "bad.ckpt");
            File.WriteAllBytes(ckpt, BadCheckpoint("garbage"));
            var r = SeekProcess.Run("train", "pretrain", "--config", PretrainConfig, "-o", Path.Combine(dir, "out"), "--init-from", ckpt, "--steps", "1");
            AssertOneLineError(r, $"Checkpoint '{ckpt}': it does not start with the SeekSharp checkpoint magic");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static byte[] BadCheckpoint(string kind)
    {
        var rng = new Random(16);
        byte[] Random(int n) { var b = new byte[n]; rng.NextBytes(b); return b; }
        byte[] magic = "SSCKPT01"u8.ToArray();
        return kind switch
        {
            "truncated" => magic[..5],
            "garbage" => Random(4096),
            "header-only" => [.. magic, 1, 0, 0, 0, 7, 0],
            _ => [.. magic, 1, 0, 0, 0, .. Random(4096)],
        };
    }

    // ---- --ctx ----

    [Fact]
    public void ContextThatCannotFitInMemoryIsRefusedUpFront()
    {
        var r = SeekProcess.Run("run", "-m", TinyModelBuilder.GetOrBuild(Wide), "-p", "hi", "--ctx", "100000000");
        AssertOneLineError(r, "--ctx 100000000 needs a KV cache of about 381.5 GiB");
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("-100")]
    public void NegativeContextIsOneLine(string ctx)
    {
        AssertOneLineError(SeekProcess.Run("run", "-m", ModelPath, "-p", "hi", "--ctx", ctx), $"--ctx must be a positive number of tokens (or 0 for the model's own length), got {ctx}");
        AssertOneLineError(SeekProcess.RunWithInput("", "chat", "-m", ModelPath, "--template", "x", "--ctx", ctx), $"got {ctx}");
    }

    [Fact]
    public void ContextBeyondTheTrainedLengthRunsWithAWarning()
    {
        // As llama.cpp (n_ctx_per_seq > n_ctx_train) it runs, but says so once on stderr instead of accepting it silently.
        var r = SeekProcess.Run("run", "-m", ModelPath, "-p", "hi", "-n", "2", "--ctx", "65536");
        Assert.True(r.ExitCode == 0, r.Stderr);
        string[] lines = r.Stderr.TrimEnd().Split('\n');
        Assert.Equal("seek: warning: --ctx 65536 is more than the 256 tokens the model was trained on; output past token 256 is likely to degrade", lines[0]);
        Assert.Equal(2, lines.Length); // the warning and the usual timing line
    }

    // ---- sampling flags ----

    [Theory]
    [InlineData("--temp", "NaN", "a finite number of 0 or more")]
    [InlineData("--temp", "-1", "a finite number of 0 or more")]
    [InlineData("--temp", "Infinity", "a finite number of 0 or more")]
    [InlineData("--top-p", "NaN", "between 0 and 1")]
    [InlineData("--top-p", "-1", "between 0 and 1")]
    [InlineData("--top-p", "2", "between 0 and 1")]
    [InlineData("--top-k", "-3", "0 or more")]
    [InlineData("--min-p", "1.5", "between 0 and 1")]
    [InlineData("--repeat-penalty", "NaN", "a finite number more than 0")]
    [InlineData("--repeat-penalty", "0", "a finite number more than 0")]
    [InlineData("--repeat-penalty", "-1", "a finite number more than 0")]
    [InlineData("--presence-penalty", "NaN", "a finite number")]
    [InlineData("--frequency-penalty", "-Infinity", "a finite number")]
    public void OutOfRangeSamplingFlagIsOneLine(string flag, string value, string expected)
    {
        var r = SeekProcess.Run("run", "-m", ModelPath, "-p", "hi", "-n", "2", flag, value);
        AssertOneLineError(r, $"seek: error: {flag} must be {expected}");
        Assert.EndsWith($", got {value}", r.Stderr.TrimEnd());
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void OutOfRangeSettingsInChatAreRefusedAndTheChatGoesOn()
    {
        string dir = TempDir();
        try
        {
            var r = SeekProcess.RunWithInput("/set max-tokens -5\n/set temp NaN\n/set top-k -3\n/set top-p abc\n/set top-p 0.5\n/exit\n",
                "chat", "-m", ModelPath, "--template", TemplateFile(dir));
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.DoesNotContain("   at ", r.Stderr);
            Assert.DoesNotContain("Exception", r.Stderr);
            Assert.Contains("seek: error: /set max-tokens must be at least 1, got -5\n", r.Stderr);
            Assert.Contains("seek: error: /set temp must be a finite number of 0 or more (0 is greedy), got NaN\n", r.Stderr);
            Assert.Contains("seek: error: /set top-k must be 0 or more (0 disables it), got -3\n", r.Stderr);
            Assert.Contains("seek: error: /set top-p expects a number, got 'abc'\n", r.Stderr);
            Assert.Contains("top-p = 0.5", r.Stdout);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void NonPositiveMaxTokensIsOneLine()
    {
        AssertOneLineError(SeekProcess.RunWithInput("", "chat", "-m", ModelPath, "--template", "x", "-n", "0"), "--n-predict must be at least 1, got 0");
        AssertOneLineError(SeekProcess.Run("run", "-m", ModelPath, "-p", "hi", "--chat", "-n", "-5"), "--n-predict must be 0 or more, got -5");
    }

    // ---- fuzzing ----

    private const int Mutations = 200;
    private static readonly TimeSpan FuzzBudget = TimeSpan.FromSeconds(150);

    [Fact]
    public void FuzzTemplateMessagesJson()
    {
        string dir = TempDir();
        try
        {
            string template = TemplateFile(dir);
            byte[] seed = Encoding.UTF8.GetBytes("""
                [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2 + 2?"},
                 {"role": "assistant", "content": "4", "tool_calls": [{"type": "function", "function": {"name": "add", "arguments": {"a": 2, "b": 2}}}]},
                 {"role": "tool", "content": "4", "name": "add"}, {"role": "user", "content": ["x", 1, null, true, 1.5e300]}]
                """);
            var rng = new Random(1616);
            var clock = Stopwatch.StartNew();
            int runs = 0, exit0 = 0;
            long peakKb = 0;
            for (; runs < Mutations && clock.Elapsed < FuzzBudget; runs++)
            {
                byte[] mutated = FuzzSupport.MutateJson(seed, rng);
                string file = Path.Combine(dir, "m.json");
                File.WriteAllBytes(file, mutated);
                var r = FuzzSupport.Run("", "template", "-m", ModelPath, "--template", template, "--messages", file);
                FuzzSupport.AssertNoCrash(r.Result, $"mutation {runs}: {Encoding.UTF8.GetString(mutated)}", r.PeakRssKb);
                peakKb = Math.Max(peakKb, r.PeakRssKb);
                if (r.ExitCode == 0) exit0++;
            }
            output.WriteLine($"template --messages: {runs} mutations in {clock.Elapsed.TotalSeconds:F1} s, {exit0} rendered, {runs - exit0} refused; " +
                             $"peak RSS {peakKb / 1024} MiB ({FuzzSupport.MemoryMethod})");
            Assert.True(runs >= 50, $"only {runs} mutations ran in {FuzzBudget}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void FuzzInfoOnMutatedGgufHeaders()
    {
        string dir = TempDir();
        try
        {
            byte[] original = File.ReadAllBytes(ModelPath);
            long headerEnd;
            using (var gguf = GgufFile.Open(ModelPath)) headerEnd = gguf.DataOffset;
            var rng = new Random(16160);
            var clock = Stopwatch.StartNew();
            int runs = 0, exit0 = 0;
            long peakKb = 0;
            for (; runs < Mutations && clock.Elapsed < FuzzBudget; runs++)
            {
                byte[] mutated = (byte[])original.Clone();
                string description = MutateHeader(ref mutated, (int)headerEnd, rng);
                string file = Path.Combine(dir, "m.gguf");
                File.WriteAllBytes(file, mutated);
                var r = FuzzSupport.Run("", "info", file, "--json");
                FuzzSupport.AssertNoCrash(r.Result, $"mutation {runs} ({description})", r.PeakRssKb);
                peakKb = Math.Max(peakKb, r.PeakRssKb);
                if (r.ExitCode == 0) exit0++;
            }
            output.WriteLine($"info on mutated GGUF: {runs} mutations in {clock.Elapsed.TotalSeconds:F1} s, {exit0} loaded, {runs - exit0} refused; " +
                             $"peak RSS {peakKb / 1024} MiB ({FuzzSupport.MemoryMethod})");
            Assert.True(runs >= 50, $"only {runs} mutations ran in {FuzzBudget}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string MutateHeader(ref byte[] b, int headerEnd, Random rng)
    {
        int at = rng.Next(headerEnd);
        switch (rng.Next(6))
        {
            case 0:
                b[at] ^= (byte)(1 << rng.Next(8));
                return $"bit flip at {at}";
            case 1:
                b[at] = (byte)rng.Next(256);
                return $"byte at {at}";
            case 2:
                at = Math.Min(at, headerEnd - 4);
                uint value = rng.Next(4) switch { 0 => 0u, 1 => 0xFFFFFFFFu, 2 => 0x7FFFFFFFu, _ => (uint)rng.Next() };
                BitConverter.TryWriteBytes(b.AsSpan(at, 4), value);
                return $"uint32 {value} at {at}";
            case 3:
                at = Math.Min(at, headerEnd - 8);
                ulong big = rng.Next(3) switch { 0 => ulong.MaxValue, 1 => 1UL << 62, _ => (ulong)rng.NextInt64() };
                BitConverter.TryWriteBytes(b.AsSpan(at, 8), big);
                return $"uint64 {big} at {at}";
            case 4:
                b = b[..at];
                return $"truncated to {at}";
            default:
                // The first 24 bytes hold the magic, version and counts; hit them more often than chance would.
                at = rng.Next(24);
                b[at] = (byte)rng.Next(256);
                return $"preamble byte at {at}";
        }
    }
}
