using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary>
/// <c>seek quantize</c> killed at random moments (SIGKILL, SIGTERM, SIGINT) never leaves a partial file under OUT and
/// never damages an existing OUT: afterwards OUT is byte for byte either the previous file or a complete quantization.
/// </summary>
public sealed partial class QuantizeInterruptTests(ITestOutputHelper log)
{
    // About 27 MB of F32 weights (2 layers of 512 x 512 attention and 512 x 1536 feed-forward): one quantization takes
    // about a second on 2 busy cores, most of it start-up and encoding; writing the 7 MB Q8_0 file takes 20-100 ms.
    private static readonly TinyModelOptions Model = new()
    {
        Architecture = TinyArchitecture.Llama, WeightType = GgmlType.F32, Dim = 512, Heads = 8, KvHeads = 8, FfnDim = 1536, Layers = 2,
        ContextLength = 128, Seed = 16,
    };

    private const int TrialsPerSignal = 20; // half at a uniform moment of the run, half aimed at the write
    private const int Seed = 20261206;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(180);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

    private const int SigKill = 9, SigInt = 2, SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private enum Phase { BeforeWrite, MidWrite, AfterRename, Exited }

    private sealed record Trial(string Signal, int Number, bool Aimed, int DelayMs, Phase Phase, int ExitCode, bool OutIsNew, int TempsLeft, string Stderr)
    {
        /// <summary>seek caught the signal and said so (rather than the runtime's default handling ending it).</summary>
        public bool Handled => Stderr.Contains("quantize interrupted");
    }

    [Fact]
    public void KilledAtRandomMomentsLeavesTheOldOrTheCompleteOutput()
    {
        if (!OperatingSystem.IsLinux()) return; // signals are sent with libc kill(2)
        SignalDisposition.AssertSigIntReachesChildren();
        var total = Stopwatch.StartNew();
        string input = TinyModelBuilder.GetOrBuild(Model);
        string dir = Directory.CreateTempSubdirectory("seek-quantize-kill-").FullName;
        string output = Path.Combine(dir, "out.gguf");
        string tempPattern = ".out.gguf.tmp-*";
        var children = new List<Process>();
        try
        {
            // The complete output, and an existing OUT of another size (a previous Q4_0 quantization) to protect.
            string reference = Path.Combine(dir, "reference.gguf");
            Assert.Equal(0, RunToEnd(children, input, reference, "Q8_0"));
            byte[] newBytes = File.ReadAllBytes(reference);
            Assert.Equal(0, RunToEnd(children, input, output, "Q4_0"));
            byte[] oldBytes = File.ReadAllBytes(output);
            Assert.NotEqual(oldBytes.Length, newBytes.Length); // so the length alone tells which file OUT is while a child runs
            File.Delete(reference);

            // Calibrate: when the temporary file appears and when it is renamed, relative to the start (two runs, the slower counts).
            double runMs = 0, writeMs = 0;
            for (int i = 0; i < 2; i++)
            {
                var (created, renamed, exited) = Timeline(children, input, output, dir);
                runMs = Math.Max(runMs, exited);
                writeMs = Math.Max(writeMs, renamed - created);
                log.WriteLine($"calibration {i + 1}: temp file at {created:F0} ms, renamed at {renamed:F0} ms, exited at {exited:F0} ms");
                Assert.Equal(newBytes, File.ReadAllBytes(output));
            }
            log.WriteLine($"input {new FileInfo(input).Length / 1048576.0:F1} MiB F32; old OUT {oldBytes.Length} B (Q4_0), new OUT {newBytes.Length} B (Q8_0); seed {Seed}");

            var rng = new Random(Seed);
            var trials = new List<Trial>();
            foreach (var (signal, name) in new[] { (SigKill, "SIGKILL"), (SigTerm, "SIGTERM"), (SigInt, "SIGINT") })
            {
                for (int n = 0; n < TrialsPerSignal; n++)
                {
                    Assert.True(total.Elapsed < Budget, $"the trials exceeded the {Budget.TotalSeconds} s budget after {trials.Count}");
                    bool aimed = n % 2 == 1;
                    // Uniform over the whole run (start-up, encoding, write, exit), or, after the temporary file appears,
                    // uniform over the longest write seen, so that many trials land inside the write.
                    int delay = aimed ? rng.Next((int)Math.Ceiling(writeMs) + 1) : rng.Next((int)Math.Ceiling(runMs) + 1);
                    if (new FileInfo(output).Length != oldBytes.Length) File.WriteAllBytes(output, oldBytes);
                    var trial = RunTrial(children, input, output, dir, tempPattern, signal, name, n + 1, aimed, delay, newBytes.Length);
                    trials.Add(trial);
                    log.WriteLine($"{name} #{trial.Number,2} {(aimed ? "after temp" : "from start")} +{delay,4} ms: {trial.Phase,-11} exit {trial.ExitCode,3}" +
                                  $"{(trial.Handled ? " (interrupted message)" : "")}, OUT {(trial.OutIsNew ? "new" : "old")}, temp files left {trial.TempsLeft}");

                    // OUT is exactly one of the two complete files, and parses as GGUF.
                    byte[] now = File.ReadAllBytes(output);
                    Assert.True(now.AsSpan().SequenceEqual(oldBytes) || now.AsSpan().SequenceEqual(newBytes),
                        $"{name} #{n + 1}: OUT ({now.Length} B) is neither the old file nor the complete quantization");
                    using (var gguf = GgufFile.Open(output))
                        Assert.NotEmpty(gguf.Tensors);

                    string[] temps = Directory.GetFiles(dir, tempPattern);
                    if (signal == SigKill)
                    {
                        foreach (string t in temps) File.Delete(t); // SIGKILL cannot be handled: a leftover temp file is allowed
                    }
                    else
                    {
                        Assert.True(temps.Length == 0, $"{name} #{n + 1} left {string.Join(", ", temps.Select(Path.GetFileName))}");
                        Assert.True(trial.ExitCode == 0 || trial.ExitCode == 128 + signal, $"{name} #{n + 1}: exit code {trial.ExitCode}");
                        if (trial.ExitCode == 0) Assert.True(trial.OutIsNew, $"{name} #{n + 1} exited 0 without writing OUT");
                        if (trial.Handled)
                        {
                            Assert.False(trial.OutIsNew, $"{name} #{n + 1} said OUT was not written, but it was");
                            // The last line: on a slow run Spectre's non-interactive renderer may have printed progress lines before it.
                            Assert.Equal($"seek: quantize interrupted by {name}; {output} was not written", trial.Stderr.TrimEnd().Split('\n')[^1]);
                        }
                    }
                    Assert.Equal([output], Directory.GetFiles(dir));
                }
            }

            foreach (var g in trials.GroupBy(t => t.Signal))
                log.WriteLine($"{g.Key}: {g.Count()} trials; at the signal: {string.Join(", ", Enum.GetValues<Phase>().Select(p => $"{p} {g.Count(t => t.Phase == p)}"))}; " +
                              $"OUT old {g.Count(t => !t.OutIsNew)}, new {g.Count(t => t.OutIsNew)}; interrupted message {g.Count(t => t.Handled)}; " +
                              $"trials leaving a temp file {g.Count(t => t.TempsLeft > 0)}");
            log.WriteLine($"total {total.Elapsed.TotalSeconds:F1} s");

            // The test means something only if signals did land inside the write (and SIGKILL's leftovers prove it did).
            foreach (var g in trials.GroupBy(t => t.Signal))
                Assert.True(g.Any(t => t.Phase == Phase.MidWrite), $"{g.Key}: no trial landed mid-write");
            Assert.True(trials.Count(t => t.Phase == Phase.MidWrite) >= 5, $"only {trials.Count(t => t.Phase == Phase.MidWrite)} trials landed mid-write");
            Assert.Contains(trials, t => t.TempsLeft > 0);
        }
        finally
        {
            foreach (var p in children)
            {
                try { if (!p.HasExited) { p.Kill(entireProcessTree: true); p.WaitForExit(); } }
                catch (InvalidOperationException) { }
                p.Dispose();
            }
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Starts <c>seek quantize</c>, then sends the signal <paramref name="delayMs"/> after the start or after the temporary file appears.</summary>
    private static Trial RunTrial(List<Process> children, string input, string output, string dir, string tempPattern, int signal, string name,
                                  int number, bool aimed, int delayMs, long newLength)
    {
        using var tempCreatedOrExited = new ManualResetEventSlim();
        using var watcher = new FileSystemWatcher(dir, tempPattern) { NotifyFilter = NotifyFilters.FileName };
        watcher.Created += (_, _) => tempCreatedOrExited.Set();
        watcher.EnableRaisingEvents = true;

        var (process, stderr) = Start(children, input, output, "Q8_0");
        process.Exited += (_, _) => tempCreatedOrExited.Set();
        process.EnableRaisingEvents = true;
        if (process.HasExited) tempCreatedOrExited.Set();
        if (aimed)
            tempCreatedOrExited.Wait(ExitTimeout);
        process.WaitForExit(delayMs);

        Phase phase = process.HasExited ? Phase.Exited
            : Directory.GetFiles(dir, tempPattern).Length > 0 ? Phase.MidWrite
            : new FileInfo(output).Length == newLength ? Phase.AfterRename
            : Phase.BeforeWrite;
        if (!process.HasExited)
        {
            if (signal == SigKill) process.Kill();
            else if (Kill(process.Id, signal) != 0 && !process.HasExited)
                throw new InvalidOperationException($"kill({process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
        if (!process.WaitForExit(ExitTimeout))
            throw new TimeoutException($"{name} #{number}: seek quantize did not exit within {ExitTimeout.TotalSeconds} s of the signal");
        bool outIsNew = new FileInfo(output).Length == newLength;
        return new Trial(name, number, aimed, delayMs, phase, process.ExitCode, outIsNew, Directory.GetFiles(dir, tempPattern).Length, stderr.Result);
    }

    /// <summary>Milliseconds from the start to the temporary file's creation, to its rename onto OUT, and to the exit.</summary>
    private static (double Created, double Renamed, double Exited) Timeline(List<Process> children, string input, string output, string dir)
    {
        var clock = Stopwatch.StartNew();
        double created = double.NaN, renamed = double.NaN;
        using var watcher = new FileSystemWatcher(dir) { NotifyFilter = NotifyFilters.FileName };
        watcher.Created += (_, e) => { if (e.Name!.StartsWith(".out.gguf.tmp-", StringComparison.Ordinal)) created = clock.Elapsed.TotalMilliseconds; };
        watcher.Renamed += (_, e) => { if (e.Name == Path.GetFileName(output)) renamed = clock.Elapsed.TotalMilliseconds; };
        watcher.EnableRaisingEvents = true;
        var (process, stderr) = Start(children, input, output, "Q8_0");
        Assert.True(process.WaitForExit(ExitTimeout), "seek quantize did not finish");
        double exited = clock.Elapsed.TotalMilliseconds;
        Assert.True(process.ExitCode == 0, stderr.Result);
        Thread.Sleep(50); // let the watcher deliver the last events
        Assert.False(double.IsNaN(created) || double.IsNaN(renamed), $"the watcher saw no temporary file ({created}) or rename ({renamed})");
        return (created, renamed, exited);
    }

    private static int RunToEnd(List<Process> children, string input, string output, string type)
    {
        var (process, stderr) = Start(children, input, output, type);
        Assert.True(process.WaitForExit(ExitTimeout), $"seek quantize {type} did not finish");
        Assert.True(process.ExitCode == 0, stderr.Result);
        return process.ExitCode;
    }

    /// <summary>Starts the built seek (as <see cref="SeekProcess"/> does), remembered in <paramref name="children"/> so the test kills it whatever happens.</summary>
    private static (Process Process, Task<string> Stderr) Start(List<Process> children, string input, string output, string type)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        string[] args = [Path.Combine(AppContext.BaseDirectory, "seek.dll"), "quantize", input, output, type];
        foreach (string a in args) start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        children.Add(process);
        process.StandardInput.Close();
        _ = process.StandardOutput.ReadToEndAsync();
        return (process, process.StandardError.ReadToEndAsync());
    }
}
