using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using SeekSharp.Gguf;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary>
/// <c>seek train</c> stopped at random moments. SIGKILL, SIGTERM or SIGINT never leave a file under a final name that
/// is not complete (model, checkpoint, plot, log rows) and never touch an existing model until the run finishes.
/// SIGTERM and SIGINT save a checkpoint, export no model, and <c>--resume</c> from there reaches the uninterrupted run's
/// loss curve and model, byte for byte.
/// </summary>
public sealed partial class TrainInterruptTests(ITestOutputHelper log)
{
    private const int TrialsPerSignal = 20;
    private const int ResumedPerSignal = 4;   // interrupted SIGTERM/SIGINT trials that are also resumed to the end
    private const int Seed = 20261206;
    private const int SigKill = 9, SigInt = 2, SigTerm = 15;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private static string Config(string dir, ulong seed)
    {
        string path = Path.Combine(dir, "config.in.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model"] = new { embeddingLength = 32, blockCount = 1, headCount = 2, headCountKv = 1, feedForwardLength = 64, contextLength = 128 },
            ["tokenizer"] = new { vocabSize = 300, examplesPerTask = 40 },
            ["tasks"] = new object[] { new { name = "addition", weight = 1 } },
            ["steps"] = 120, ["batchSize"] = 2, ["seqLen"] = 64, ["warmupSteps"] = 1, ["seed"] = seed,
            ["outputDir"] = Path.Combine(dir, "out"), ["checkpointEvery"] = 7, ["threads"] = 1,
        }));
        return path;
    }

    [Fact]
    public void InterruptedRunsLeaveOnlyCompleteFiles_AndResumeToTheSameModel()
    {
        if (!OperatingSystem.IsLinux()) return; // signals are sent with libc kill(2)
        SignalDisposition.AssertSigIntReachesChildren();
        var total = Stopwatch.StartNew();
        string root = Directory.CreateTempSubdirectory("seek-train-kill-").FullName;
        var children = new List<Process>();
        try
        {
            // The uninterrupted run, and a model of another seed that stands for an earlier run's output.
            string referenceDir = Path.Combine(root, "reference");
            Directory.CreateDirectory(referenceDir);
            var clock = Stopwatch.StartNew();
            Assert.Equal(0, RunToEnd(children, Config(referenceDir, 1)).ExitCode);
            int runMs = (int)clock.ElapsedMilliseconds;
            byte[] newModel = File.ReadAllBytes(Path.Combine(referenceDir, "out", "model.gguf"));
            string[] referenceLog = File.ReadAllLines(Path.Combine(referenceDir, "out", "log.csv"));
            string oldDir = Path.Combine(root, "old");
            Directory.CreateDirectory(oldDir);
            Assert.Equal(0, RunToEnd(children, Config(oldDir, 2)).ExitCode);
            byte[] oldModel = File.ReadAllBytes(Path.Combine(oldDir, "out", "model.gguf"));
            Assert.NotEqual(oldModel, newModel);
            log.WriteLine($"an uninterrupted run takes {runMs} ms");

            var rng = new Random(Seed);
            int interruptedMidRun = 0, earlySignals = 0;
            foreach (var (name, signal) in new[] { ("SIGKILL", SigKill), ("SIGTERM", SigTerm), ("SIGINT", SigInt) })
            {
                int resumed = 0;
                for (int trial = 0; trial < TrialsPerSignal; trial++)
                {
                    Assert.True(total.Elapsed < Budget, $"the test ran past its {Budget.TotalSeconds} s budget");
                    string dir = Path.Combine(root, $"{name}-{trial}");
                    string outDir = Path.Combine(dir, "out");
                    Directory.CreateDirectory(outDir);
                    File.WriteAllBytes(Path.Combine(outDir, "model.gguf"), oldModel);
                    string config = Config(dir, 1);
                    int delay = rng.Next(runMs);
                    var (process, stdout, _) = Start(children, config);
                    bool exitedFirst = process.WaitForExit(delay);
                    if (!exitedFirst)
                    {
                        if (signal == SigKill) process.Kill();
                        else if (Kill(process.Id, signal) != 0 && !process.HasExited)
                            throw new InvalidOperationException($"kill({process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
                    }
                    Assert.True(process.WaitForExit(ExitTimeout), $"{name} #{trial}: seek train did not exit");
                    string said = Output(stdout);
                    bool finished = process.ExitCode == 0;
                    long step = LastLoggedStep(outDir);
                    log.WriteLine($"{name} #{trial}: after {delay} ms, exit {process.ExitCode}, last logged step {step}");

                    // Whatever the signal: each file under its final name is whole, and the old model is replaced only by the finished one.
                    byte[] model = File.ReadAllBytes(Path.Combine(outDir, "model.gguf"));
                    Assert.True(model.AsSpan().SequenceEqual(finished ? newModel : oldModel),
                        $"{name} #{trial}: model.gguf is neither the earlier model nor, after a finished run, the complete new one");
                    AssertCompleteFiles(outDir, $"{name} #{trial}");
                    if (signal == SigKill || finished) continue;

                    Assert.Equal(signal == SigTerm ? 143 : 130, process.ExitCode);
                    if (!said.Contains("stopped by", StringComparison.Ordinal))
                    {
                        // Signalled while the runtime was still starting, before seek took over the signal: the
                        // default action ended it before it wrote anything.
                        Assert.Equal(["model.gguf"], Directory.GetFileSystemEntries(outDir).Select(Path.GetFileName));
                        earlySignals++;
                        continue;
                    }
                    Assert.Contains("no model was exported", said);
                    Assert.DoesNotContain("model       ", said);
                    Assert.Empty(Directory.GetFiles(outDir, ".*.tmp-*"));
                    Assert.True(File.Exists(Path.Combine(outDir, "checkpoint.ckpt")), $"{name} #{trial}: no checkpoint after {said}");
                    if (step > 0) interruptedMidRun++;
                    if (resumed >= ResumedPerSignal || step == 0) continue;

                    // Resumed to the end: the same rows and the same model as the run that was never stopped.
                    resumed++;
                    var r = RunToEnd(children, config, "--resume");
                    Assert.True(r.ExitCode == 0, r.Stdout);
                    Assert.Equal(newModel, File.ReadAllBytes(Path.Combine(outDir, "model.gguf")));
                    Assert.Equal(Losses(referenceLog), Losses(File.ReadAllLines(Path.Combine(outDir, "log.csv"))));
                }
                if (signal != SigKill) Assert.True(resumed > 0, $"no {name} trial stopped mid-run and was resumed");
            }
            log.WriteLine($"{interruptedMidRun} SIGTERM/SIGINT trials stopped a run mid-way; {earlySignals} came before seek handled signals");
            Assert.True(interruptedMidRun >= 10, $"only {interruptedMidRun} SIGTERM/SIGINT trials stopped a run mid-way");
        }
        finally
        {
            foreach (var p in children)
                try { if (!p.HasExited) { p.Kill(entireProcessTree: true); p.WaitForExit(); } }
                catch (InvalidOperationException) { }
            Directory.Delete(root, recursive: true);
        }
    }

    // The process has exited, so its output is complete.
    private static string Output(Task<string> stream) => stream.GetAwaiter().GetResult();

    // The step and loss columns: the time and throughput columns differ from run to run.
    private static string[] Losses(string[] logLines) => [.. logLines.Skip(1).Select(l => string.Join(',', l.Split(',')[..2]))];

    private static long LastLoggedStep(string outDir)
    {
        string path = Path.Combine(outDir, "log.csv");
        if (!File.Exists(path)) return 0;
        var rows = File.ReadAllLines(path).Skip(1).Where(l => l.Split(',').Length > 1).ToArray();
        return rows.Length == 0 ? 0 : long.Parse(rows[^1].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Every file a run writes under its own name is whole: GGUFs parse, the checkpoint reads back, the PNG ends
    /// with its IEND chunk, config.json parses and every log row has all its columns.</summary>
    private static void AssertCompleteFiles(string outDir, string trial)
    {
        foreach (string gguf in new[] { "model.gguf", "tokenizer.gguf" }.Select(f => Path.Combine(outDir, f)).Where(File.Exists))
        {
            using var file = GgufFile.Open(gguf);
            Assert.True(file.Tensors.Count > 0 || gguf.EndsWith("tokenizer.gguf", StringComparison.Ordinal), $"{trial}: {gguf} has no tensors");
        }
        string checkpoint = Path.Combine(outDir, "checkpoint.ckpt");
        if (File.Exists(checkpoint))
        {
            var shape = SeekSharp.Training.Checkpoints.Checkpoint.ReadConfig(checkpoint);
            var model = new SeekSharp.Training.Model.Transformer(shape, 1, 8);
            var trainer = new SeekSharp.Training.Optim.Trainer(model, new(), new(), 1);
            SeekSharp.Training.Checkpoints.Checkpoint.Restore(trainer, checkpoint);
        }
        string png = Path.Combine(outDir, "curves.png");
        if (File.Exists(png))
        {
            byte[] bytes = File.ReadAllBytes(png);
            Assert.True(bytes.Length > 12 && bytes[..4].SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' })
                && Encoding.ASCII.GetString(bytes, bytes.Length - 8, 4) == "IEND", $"{trial}: curves.png is not a whole PNG");
        }
        string config = Path.Combine(outDir, "config.json");
        if (File.Exists(config)) JsonDocument.Parse(File.ReadAllText(config)).Dispose();
        string csv = Path.Combine(outDir, "log.csv");
        if (File.Exists(csv))
        {
            string[] lines = File.ReadAllLines(csv);
            int columns = lines[0].Split(',').Length;
            Assert.All(lines.Skip(1), l => Assert.Equal(columns, l.Split(',').Length));
        }
    }

    private static (int ExitCode, string Stdout) RunToEnd(List<Process> children, string config, params string[] extra)
    {
        var (process, stdout, stderr) = Start(children, config, extra);
        Assert.True(process.WaitForExit(ExitTimeout), "seek train did not finish");
        Assert.True(process.ExitCode == 0, stderr.Result + stdout.Result);
        return (process.ExitCode, stdout.Result);
    }

    private static (Process Process, Task<string> Stdout, Task<string> Stderr) Start(List<Process> children, string config, params string[] extra)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string a in (string[])[Path.Combine(AppContext.BaseDirectory, "seek.dll"), "train", "pretrain", "--config", config, .. extra])
            start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        children.Add(process);
        process.StandardInput.Close();
        return (process, process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
    }
}
