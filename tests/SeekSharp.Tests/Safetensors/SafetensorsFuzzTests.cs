using System.Diagnostics;
using System.Text;
using SeekSharp.Safetensors;
using Xunit.Abstractions;

namespace SeekSharp.Tests.Safetensors;

/// <summary>
/// Mutates valid safetensors images (byte flips in the header, rewritten length prefixes, every truncation, edited
/// JSON fields) and checks the reader's contract: a valid load or <see cref="SafetensorsFormatException"/>, nothing
/// else, and no allocation beyond a small multiple of the file size.
/// </summary>
public sealed class SafetensorsFuzzTests(ITestOutputHelper output)
{
    /// <summary>
    /// A header's JSON becomes strings, shape arrays, records and dictionary entries: a few times its size. 16x plus a
    /// constant for messages still catches any allocation sized by an unchecked number, which would be gigabytes.
    /// </summary>
    static long AllocationBound(long fileBytes) => 16 * fileBytes + (1 << 20);

    static byte[][] Seeds()
    {
        var rng = new Random(5);
        var small = new SafetensorsWriter();
        small.SetMetadata("format", "pt");
        small.Add("model.embed_tokens.weight", SafetensorsDType.BF16, [8, 4], RandomBytes(rng, 64));
        small.Add("model.layers.0.self_attn.q_proj.weight", SafetensorsDType.F8E4M3, [4, 4], RandomBytes(rng, 16));
        small.Add("model.layers.0.self_attn.q_proj.weight_scale_inv", [1, 1], [0.5f]);
        small.Add("model.norm.weight", SafetensorsDType.F16, [4], RandomBytes(rng, 8));
        var many = new SafetensorsWriter();
        for (int i = 0; i < 40; i++) many.Add($"t{i}", SafetensorsDType.U8, [i % 5, 2], RandomBytes(rng, i % 5 * 2));
        return [small.ToBytes(), many.ToBytes()];
    }

    static byte[] RandomBytes(Random rng, int n)
    {
        var b = new byte[n];
        rng.NextBytes(b);
        return b;
    }

    [Fact]
    public void Mutated_headers_load_or_throw_SafetensorsFormatException_within_the_allocation_bound()
    {
        var rng = new Random(1234);
        var stopwatch = Stopwatch.StartNew();
        int cases = 0, loaded = 0, refused = 0;
        long worst = 0;
        byte[] interesting = [0x00, 0x01, 0x22, 0x2C, 0x2D, 0x30, 0x39, 0x3A, 0x5B, 0x5D, 0x7B, 0x7D, 0x7F, 0x80, 0xC0, 0xFF];

        void Run(byte[] bytes, string label)
        {
            cases++;
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                using var f = SafetensorsFile.FromBytes(bytes, label);
                // A load must be self-consistent: every tensor's bytes lie inside the file.
                foreach (var t in f.Tensors)
                    Assert.True(f.DataOffset + t.End <= bytes.Length, $"{label}: tensor '{t.Name}' ends past the file");
                loaded++;
            }
            catch (SafetensorsFormatException)
            {
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"{label}: expected a load or SafetensorsFormatException, got {e}");
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            worst = Math.Max(worst, allocated);
            Assert.True(allocated <= AllocationBound(bytes.Length), $"{label}: allocated {allocated} bytes for a {bytes.Length}-byte file");
        }

        foreach (var (seed, s) in Seeds().Select((b, i) => (b, i)))
        {
            int headerEnd = 8 + (int)BitConverter.ToUInt64(seed, 0);
            Run(seed, $"seed{s}");
            for (int cut = 0; cut < seed.Length; cut++) Run(seed[..cut], $"seed{s} cut at {cut}");
            for (int i = 0; i < 3000; i++)
            {
                var m = (byte[])seed.Clone();
                int flips = 1 + rng.Next(3);
                for (int k = 0; k < flips; k++)
                    m[rng.Next(headerEnd)] = rng.Next(2) == 0 ? interesting[rng.Next(interesting.Length)] : (byte)rng.Next(256);
                Run(m, $"seed{s} flips #{i}");
            }
            foreach (ulong length in new ulong[] { 0, 1, 2, (ulong)(headerEnd - 9), (ulong)(headerEnd - 7), (ulong)seed.Length, ulong.MaxValue, 1UL << 63, (ulong)long.MaxValue, 100_000_001 })
            {
                var m = (byte[])seed.Clone();
                BitConverter.GetBytes(length).CopyTo(m, 0);
                Run(m, $"seed{s} length {length}");
            }
            // Field-level edits: numbers in offsets and shapes replaced with extremes, dtypes renamed.
            string json = Encoding.UTF8.GetString(seed, 8, headerEnd - 8);
            string[] numbers = ["0", "1", "-1", "4", "7", "9223372036854775807", "9223372036854775808", "18446744073709551615", "1e3", "2.5", "\"3\"", "null", "[]"];
            string[] dtypes = ["F32", "F64", "BF16", "F8_E4M3", "I64", "", "f32", "F32 ", "BOOL"];
            for (int i = 0; i < 1500; i++)
            {
                var digits = System.Text.RegularExpressions.Regex.Matches(json, "-?\\d+");
                var dtypeMatches = System.Text.RegularExpressions.Regex.Matches(json, "\"dtype\":\"([^\"]*)\"");
                string edited = json;
                if (rng.Next(2) == 0 && digits.Count > 0)
                {
                    var d = digits[rng.Next(digits.Count)];
                    edited = json[..d.Index] + numbers[rng.Next(numbers.Length)] + json[(d.Index + d.Length)..];
                }
                else if (dtypeMatches.Count > 0)
                {
                    var g = dtypeMatches[rng.Next(dtypeMatches.Count)].Groups[1];
                    edited = json[..g.Index] + dtypes[rng.Next(dtypes.Length)] + json[(g.Index + g.Length)..];
                }
                Run(RawSafetensors.Build(Encoding.UTF8.GetBytes(edited), seed[headerEnd..]), $"seed{s} edit #{i}");
            }
        }

        output.WriteLine($"{cases} cases in {stopwatch.Elapsed.TotalSeconds:F1} s: {loaded} loaded, {refused} refused; worst allocation {worst} bytes");
        Assert.True(refused > cases / 2 && loaded > 10, $"the mutations should mostly break the header but not always: {loaded} loaded, {refused} refused");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"took {stopwatch.Elapsed}");
    }
}
