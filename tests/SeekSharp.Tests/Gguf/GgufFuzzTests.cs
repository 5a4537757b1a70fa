using System.Diagnostics;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using Xunit.Abstractions;

namespace SeekSharp.Tests.Gguf;

/// <summary>
/// Mutates valid files (seeded byte flips, overwritten fields, every truncation) and checks the reader's contract:
/// it either loads a self-consistent file or throws <see cref="GgufFormatException"/>; it never throws anything else,
/// never hangs, and never allocates more than a small multiple of the file size.
/// </summary>
public sealed class GgufFuzzTests(ITestOutputHelper output)
{
    static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The densest legal encodings cost about 8x their size in .NET objects (measured by
    /// <see cref="Densest_metadata_stays_within_the_allocation_bound"/>: a 16-byte key/value pair becomes a key
    /// string, a boxed value and dictionary entries). 16x plus a constant for messages leaves 2x headroom while still
    /// catching any allocation sized by an unchecked count, which would be gigabytes.
    /// </summary>
    static long AllocationBound(long fileBytes) => 16 * fileBytes + (1 << 20);

    static readonly byte[] Interesting = [0x00, 0x01, 0x02, 0x03, 0x04, 0x07, 0x08, 0x09, 0x0C, 0x0D, 0x1F, 0x20, 0x3F, 0x40, 0x7F, 0x80, 0xFE, 0xFF];

    static (string Name, byte[] Bytes, long DataOffset)[] Seeds()
    {
        var tokenizerLike = new GgufWriter(3);
        tokenizerLike.Set("general.architecture", "qwen2");
        tokenizerLike.Set("general.alignment", 16u);
        tokenizerLike.Set("tokenizer.ggml.model", "gpt2");
        tokenizerLike.Set("tokenizer.ggml.tokens", Enumerable.Range(0, 120).Select(i => i % 7 == 0 ? "" : $"tok{i}Ġ").ToArray());
        tokenizerLike.Set("tokenizer.ggml.token_type", Enumerable.Range(0, 120).Select(i => i % 3).ToArray());
        tokenizerLike.Set("tokenizer.ggml.scores", Enumerable.Range(0, 120).Select(i => -i * 0.25f).ToArray());
        tokenizerLike.Set("tokenizer.ggml.merges", new[] { "Ġ t", "h e", "Ġt he" });
        tokenizerLike.Set("tokenizer.ggml.add_bos_token", false);
        tokenizerLike.Set("test.nested", new GgufArray(GgufValueType.Array, new[]
        {
            new GgufArray(GgufValueType.String, new[] { "a", "bc" }),
            new GgufArray(GgufValueType.Array, new[] { new GgufArray(GgufValueType.UInt64, new ulong[] { 1, 2 }) }),
        }));
        var rng = new Random(11);
        float[] Floats(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        tokenizerLike.AddTensor("token_embd.weight", GgmlType.Q8_0, [32, 4], Floats(128));
        tokenizerLike.AddTensor("blk.0.attn_k.weight", GgmlType.Q4_0, [32, 2], Floats(64));
        tokenizerLike.AddTensor("blk.0.attn_norm.weight", GgmlType.F32, [3], Floats(3));
        tokenizerLike.AddTensor("blk.0.attn_v.weight", GgmlType.F16, [2, 2, 2, 2], Floats(16));

        var seeds = new[]
        {
            ("every-type-v3", GgufTestData.SampleWriter().ToBytes()),
            ("every-type-v2-align64", GgufTestData.SampleWriter(version: 2, alignment: 64).ToBytes()),
            ("tokenizer-like", tokenizerLike.ToBytes()),
        };
        return seeds.Select(s =>
        {
            using var f = GgufFile.FromBytes(s.Item2, s.Item1);
            return (s.Item1, s.Item2, f.DataOffset);
        }).ToArray();
    }

    [Fact]
    public void Mutated_and_truncated_files_load_consistently_or_throw_GgufFormatException()
    {
        var stopwatch = Stopwatch.StartNew();
        int cases = 0, loaded = 0, refused = 0;
        long worstAllocation = 0;

        RunUnderWatchdog(begin =>
        {
            void Run(byte[] bytes, string label)
            {
                cases++;
                begin(label);
                var (error, allocated) = Parse(bytes, label);
                if (error is null) loaded++;
                else if (error is GgufFormatException) refused++;
                else Assert.Fail($"{label}: expected success or GgufFormatException but got {error}");
                if (allocated > AllocationBound(bytes.Length))
                    Assert.Fail($"{label}: allocated {allocated} bytes for a {bytes.Length}-byte file");
                worstAllocation = Math.Max(worstAllocation, allocated);
            }

            foreach (var (name, seed, dataOffset) in Seeds())
            {
                var rng = new Random(name.Length * 7919 + seed.Length);
                Run(seed, $"{name} unmodified");

                // Single-byte changes, mostly inside the header where the parser looks.
                for (int i = 0; i < 1500; i++)
                {
                    byte[] bytes = (byte[])seed.Clone();
                    int at = rng.Next(4) == 0 ? rng.Next(bytes.Length) : rng.Next((int)dataOffset);
                    byte before = bytes[at];
                    bytes[at] = rng.Next(3) switch
                    {
                        0 => (byte)rng.Next(256),
                        1 => Interesting[rng.Next(Interesting.Length)],
                        _ => (byte)(before ^ (1 << rng.Next(8))),
                    };
                    Run(bytes, $"{name} byte {at}: {before:X2} -> {bytes[at]:X2}");
                }

                // Several flips at once, and whole little-endian fields overwritten with extreme values.
                for (int i = 0; i < 500; i++)
                {
                    byte[] bytes = (byte[])seed.Clone();
                    int flips = 2 + rng.Next(6);
                    for (int k = 0; k < flips; k++) bytes[rng.Next((int)dataOffset)] = (byte)rng.Next(256);
                    Run(bytes, $"{name} {flips} random bytes (case {i})");
                }
                ulong[] extremes = [0, 1, 31, 32, 63, 64, 255, 256, uint.MaxValue, (ulong)int.MaxValue + 1, 1UL << 32, 1UL << 40, long.MaxValue, ulong.MaxValue];
                for (int i = 0; i < 500; i++)
                {
                    byte[] bytes = (byte[])seed.Clone();
                    int width = rng.Next(2) == 0 ? 4 : 8;
                    int at = rng.Next((int)dataOffset - width);
                    ulong value = extremes[rng.Next(extremes.Length)];
                    for (int k = 0; k < width; k++) bytes[at + k] = (byte)(value >> (8 * k));
                    Run(bytes, $"{name} {width}-byte field at {at} := {value}");
                }

                // Every truncation of the header, and every 7th beyond it.
                for (int length = 0; length < seed.Length; length += length <= dataOffset + 64 ? 1 : 7)
                    Run(seed[..length], $"{name} truncated to {length} bytes");
            }

        });

        stopwatch.Stop();
        output.WriteLine($"{cases} cases ({loaded} loaded, {refused} refused) in {stopwatch.Elapsed.TotalSeconds:F2} s; worst allocation {worstAllocation} bytes");
        Assert.True(loaded > 100 && refused > 1000, $"the mutations should both keep some files valid and break many: {loaded} loaded, {refused} refused");
    }

    [Fact]
    public void Truncated_files_on_disk_behave_like_truncated_memory()
    {
        string path = Path.Combine(Path.GetTempPath(), $"seeksharp-fuzz-{Guid.NewGuid():N}.gguf");
        try
        {
            foreach (var (name, seed, _) in Seeds())
            {
                for (int length = 0; length <= seed.Length; length += Math.Max(1, seed.Length / 40))
                {
                    File.WriteAllBytes(path, seed[..length]);
                    string? fromMemory = Outcome(() => GgufFile.FromBytes(seed[..length], path));
                    string? fromDisk = Outcome(() => GgufFile.Open(path));
                    Assert.Equal(fromMemory, fromDisk);
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Densest_metadata_stays_within_the_allocation_bound()
    {
        // 20,000 pairs of the smallest legal size (2-byte key, uint8 value) plus 2,000 tiny nested arrays.
        var raw = RawGguf.Header(tensors: 0, kvs: 20_001);
        for (int i = 0; i < 20_000; i++) raw.Str($"{(char)('A' + i % 50)}{(char)('A' + i / 50 % 50)}{(char)('A' + i / 2500)}").U32(0).Bytes(1);
        raw.Str("nested").U32((uint)GgufValueType.Array).U32((uint)GgufValueType.Array).U64(2_000);
        for (int i = 0; i < 2_000; i++) raw.U32((uint)GgufValueType.UInt8).U64(0);
        byte[] bytes = raw.ToArray();

        var (error, allocated) = RunCase(bytes, "dense");
        Assert.Null(error);
        output.WriteLine($"{bytes.Length} bytes -> {allocated} allocated ({(double)allocated / bytes.Length:F1}x)");
        Assert.True(allocated <= AllocationBound(bytes.Length), $"allocated {allocated} bytes for {bytes.Length}");
    }

    static string? Outcome(Func<GgufFile> open)
    {
        try
        {
            using var f = open();
            return null;
        }
        catch (GgufFormatException e)
        {
            return e.Message;
        }
    }

    /// <summary>Parses and checks the result, measuring this thread's allocations.</summary>
    static (Exception? Error, long Allocated) Parse(byte[] bytes, string label)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        Exception? error = null;
        try
        {
            using var file = GgufFile.FromBytes(bytes, label);
            CheckConsistent(file, bytes.Length);
        }
        catch (Exception e)
        {
            error = e;
        }
        return (error, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    sealed class Progress
    {
        public volatile string Current = "(not started)";
        public long StartedAt = Stopwatch.GetTimestamp();
        public Exception? Failure;
    }

    /// <summary>
    /// Runs <paramref name="body"/> on its own thread; <paramref name="body"/> announces each case through the callback,
    /// and the test fails naming the case if any single case runs longer than <see cref="CaseTimeout"/>.
    /// (One thread for all cases rather than a task per case keeps the timeout without the scheduling cost.)
    /// </summary>
    static void RunUnderWatchdog(Action<Action<string>> body)
    {
        var progress = new Progress();
        var thread = new Thread(() =>
        {
            try
            {
                body(label =>
                {
                    progress.Current = label;
                    Interlocked.Exchange(ref progress.StartedAt, Stopwatch.GetTimestamp());
                });
            }
            catch (Exception e)
            {
                progress.Failure = e;
            }
        }) { IsBackground = true };
        thread.Start();
        while (!thread.Join(50))
        {
            if (Stopwatch.GetElapsedTime(Interlocked.Read(ref progress.StartedAt)) > CaseTimeout)
                Assert.Fail($"{progress.Current}: the reader did not finish within {CaseTimeout.TotalSeconds} s");
        }
        if (progress.Failure is not null)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(progress.Failure);
    }

    static (Exception? Error, long Allocated) RunCase(byte[] bytes, string label)
    {
        (Exception?, long) result = default;
        RunUnderWatchdog(begin =>
        {
            begin(label);
            result = Parse(bytes, label);
        });
        return result;
    }

    /// <summary>What a successfully loaded file must guarantee to the code that maps its weights.</summary>
    static void CheckConsistent(GgufFile file, long length)
    {
        Assert.True(file.Alignment > 0 && (file.Alignment & (file.Alignment - 1)) == 0);
        Assert.True(file.Version is 2 or 3);
        foreach (var (key, value) in file.Metadata)
        {
            Assert.NotEmpty(key);
            Assert.NotNull(value);
        }
        if (file.Tensors.Count == 0) return;

        Assert.Equal(0, file.DataOffset % file.Alignment);
        long previousEnd = 0;
        foreach (var t in file.Tensors.OrderBy(t => t.Offset))
        {
            Assert.True(TensorTypes.IsSupported(t.Type));
            Assert.InRange(t.Shape.Length, 1, 4);
            Assert.All(t.Shape, d => Assert.True(d > 0));
            Assert.Equal(TensorTypes.RowBytes(t.Type, t.Shape[0]) * t.RowCount, t.ByteSize);
            Assert.Equal(0, t.Offset % file.Alignment);
            Assert.True(t.Offset >= previousEnd, $"tensor '{t.Name}' overlaps its predecessor");
            Assert.True(file.DataOffset + t.Offset + t.ByteSize <= length, $"tensor '{t.Name}' ends past the file");
            previousEnd = t.Offset + t.ByteSize;
            Assert.Same(t, file.GetTensor(t.Name));
            Assert.Equal(t.ByteSize, file.GetTensorBytes(t).Length);
        }
    }
}
