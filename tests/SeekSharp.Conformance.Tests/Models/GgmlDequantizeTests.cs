using System.Runtime.InteropServices;
using SeekSharp.Conformance.Tests.Oracle;
using SeekSharp.Kernels;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Models;

/// <summary>
/// Every quantized type SeekSharp reads decodes as ggml does, bit for bit: random blocks (every bit pattern of quants,
/// scales and codebook indices, with finite half scales) through our <see cref="TensorTypes.Dequantize"/> and through
/// ggml's own dequantize_row_* in the libggml-base that LLamaSharp loads.
/// </summary>
public unsafe class GgmlDequantizeTests(ITestOutputHelper output)
{
    /// <summary>Byte offsets of the IEEE-half scales inside one block (ggml-common.h), which must stay finite.</summary>
    private static readonly Dictionary<GgmlType, int[]> HalfOffsets = new()
    {
        [GgmlType.Q8_0] = [0], [GgmlType.Q4_0] = [0], [GgmlType.Q4_1] = [0, 2], [GgmlType.Q5_0] = [0], [GgmlType.Q5_1] = [0, 2],
        [GgmlType.Q2_K] = [80, 82], [GgmlType.Q3_K] = [108], [GgmlType.Q4_K] = [0, 2], [GgmlType.Q5_K] = [0, 2],
        [GgmlType.Q6_K] = [208], [GgmlType.IQ4_NL] = [0], [GgmlType.IQ4_XS] = [0],
        [GgmlType.IQ2_XXS] = [0], [GgmlType.IQ2_XS] = [0], [GgmlType.IQ2_S] = [0],
        [GgmlType.IQ1_S] = [0], [GgmlType.IQ1_M] = [],
        [GgmlType.IQ3_XXS] = [0], [GgmlType.IQ3_S] = [0],
    };

    /// <summary>
    /// Types whose half scale has no field of its own but is spread over the top nibbles of four 16-bit words from this
    /// byte offset, nibble k in word k (IQ1_M, ggml-common.h iq1m_scale_t); a random finite half is spread there.
    /// </summary>
    private static readonly Dictionary<GgmlType, int> NibbleHalfOffsets = new() { [GgmlType.IQ1_M] = 48 };

    public static TheoryData<string> Types()
    {
        var data = new TheoryData<string>();
        foreach (var type in HalfOffsets.Keys.Where(TensorTypes.IsSupported))
        {
            data.Add(type.ToString());
        }
        return data;
    }

    [Fact]
    public void EveryQuantizedTypeWeReadIsChecked()
    {
        foreach (GgmlType type in Enum.GetValues<GgmlType>())
        {
            if (TensorTypes.IsSupported(type) && type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16))
            {
                Assert.True(HalfOffsets.ContainsKey(type), $"{type} is readable but has no entry here, so nothing checks its decoding against ggml");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void DequantizeEqualsGgml(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        int blockSize = TensorTypes.BlockSize(type), blockBytes = TensorTypes.BlockBytes(type);
        const int blocks = 64;
        var rng = new Random(1000 + (int)type);
        byte[] src = new byte[blocks * blockBytes];
        rng.NextBytes(src);
        for (int b = 0; b < blocks; b++)
        {
            foreach (int offset in HalfOffsets[type])
            {
                // Signs and magnitudes of all kinds, subnormals included, never Inf or NaN.
                ushort bits = (ushort)(rng.Next(0, 0x7C00) | (rng.Next(2) << 15));
                BitConverter.TryWriteBytes(src.AsSpan(b * blockBytes + offset), bits);
            }
            if (NibbleHalfOffsets.TryGetValue(type, out int at))
            {
                ushort bits = (ushort)(rng.Next(0, 0x7C00) | (rng.Next(2) << 15));
                for (int k = 0; k < 4; k++)
                {
                    Span<byte> word = src.AsSpan(b * blockBytes + at + 2 * k, 2);
                    BitConverter.TryWriteBytes(word, (ushort)((BitConverter.ToUInt16(word) & 0x0FFF) | (((bits >> (4 * k)) & 0xF) << 12)));
                }
            }
        }
        float[] ours = new float[blocks * blockSize], theirs = new float[blocks * blockSize];
        TensorTypes.Dequantize(type, src, ours);

        var dequantize = (delegate* unmanaged<byte*, float*, long, void>)GgmlExport("dequantize_row_" + GgmlName(type));
        fixed (byte* ps = src)
        fixed (float* pt = theirs)
        {
            dequantize(ps, pt, theirs.Length);
        }
        int bad = Enumerable.Range(0, ours.Length).FirstOrDefault(i => BitConverter.SingleToInt32Bits(ours[i]) != BitConverter.SingleToInt32Bits(theirs[i]), -1);
        output.WriteLine($"{type}: {ours.Length} values compared");
        Assert.True(bad < 0, $"{type}: value {bad} (block {bad / blockSize}) is {(bad < 0 ? 0 : ours[bad])} here but {(bad < 0 ? 0 : theirs[bad])} in ggml");
    }

    /// <summary>
    /// Random blocks reach only about two thirds of the 2048 iq1s_grid entries; here 64 IQ1_S blocks use every index
    /// once (index 32b + 4ib + l for group l of sub-block ib of block b), with d = 1 and random scales and shift signs,
    /// so every entry of <c>Iq1Grid</c> is compared with ggml's table.
    /// </summary>
    [Fact]
    public void EveryIq1GridEntryDecodesAsGgml()
    {
        const int blocks = 64, blockBytes = 50;
        var rng = new Random(77);
        byte[] src = new byte[blocks * blockBytes];
        for (int b = 0; b < blocks; b++)
        {
            Span<byte> block = src.AsSpan(b * blockBytes, blockBytes);
            BitConverter.TryWriteBytes(block, (ushort)0x3C00);
            for (int ib = 0; ib < 8; ib++)
            {
                int qh = rng.Next(16) << 12;
                for (int l = 0; l < 4; l++)
                {
                    int index = 32 * b + 4 * ib + l;
                    block[2 + 4 * ib + l] = (byte)index;
                    qh |= (index >> 8) << (3 * l);
                }
                BitConverter.TryWriteBytes(block[(34 + 2 * ib)..], (ushort)qh);
            }
        }
        float[] ours = new float[blocks * 256], theirs = new float[blocks * 256];
        TensorTypes.Dequantize(GgmlType.IQ1_S, src, ours);
        var dequantize = (delegate* unmanaged<byte*, float*, long, void>)GgmlExport("dequantize_row_iq1_s");
        fixed (byte* ps = src)
        fixed (float* pt = theirs)
        {
            dequantize(ps, pt, theirs.Length);
        }
        int bad = Enumerable.Range(0, ours.Length).FirstOrDefault(i => BitConverter.SingleToInt32Bits(ours[i]) != BitConverter.SingleToInt32Bits(theirs[i]), -1);
        Assert.True(bad < 0, $"grid entry {bad / 8}, weight {bad % 8}: {(bad < 0 ? 0 : ours[bad])} here but {(bad < 0 ? 0 : theirs[bad])} in ggml");
    }

    /// <summary>ggml's spelling in function names: q4_0, q2_K, iq4_xs.</summary>
    internal static string GgmlName(GgmlType type)
    {
        string name = type.ToString();
        return name.EndsWith("_K", StringComparison.Ordinal) ? name[..^2].ToLowerInvariant() + "_K" : name.ToLowerInvariant();
    }

    /// <summary>An export of the libggml-base that LLamaSharp loaded into this process.</summary>
    internal static IntPtr GgmlExport(string name)
    {
        LlamaCpp.NativeLog.EnsureInitialized();
        string? path = File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(parts => parts.Length >= 6 && Path.GetFileName(parts[5]) == "libggml-base.so")
            .Select(parts => parts[5])
            .FirstOrDefault();
        Assert.True(path is not null, "libggml-base.so is not loaded in this process after LLamaSharp's initialisation");
        return NativeLibrary.GetExport(NativeLibrary.Load(path!), name);
    }
}
