using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

/// <summary>
/// The eight-lane decoders (<see cref="DequantizeLanes"/>) give their scalar twins' bits on blocks whose every quant,
/// high bit and sub-block scale is random; only the half-precision super-block scales are kept finite (from a real
/// quantization), as a file's are. The scalar decoders themselves equal ggml's (GgmlDequantizeTests).
/// </summary>
public class DequantizeTierTests
{
    private delegate void Decoder(ReadOnlySpan<byte> src, Span<float> dst, SimdTier tier);

    // Each type's decoder and the offsets of its half-precision scales within a block.
    private static readonly Dictionary<GgmlType, (Decoder Decode, int[] Halves)> Decoders = new()
    {
        [GgmlType.Q2_K] = (Q2_K.Dequantize, [80, 82]),
        [GgmlType.Q3_K] = (Q3_K.Dequantize, [108]),
        [GgmlType.Q4_K] = (Q4_K.Dequantize, [0, 2]),
        [GgmlType.Q5_K] = (Q5_K.Dequantize, [0, 2]),
        [GgmlType.Q6_K] = (Q6_K.Dequantize, [208]),
        [GgmlType.IQ4_XS] = (IQ4_XS.Dequantize, [0]),
        [GgmlType.IQ4_NL] = (IQ4_NL.Dequantize, [0]),
        [GgmlType.Q4_0] = (Q4_0.Dequantize, [0]),
    };

    public static TheoryData<GgmlType, Tier, int> Cases()
    {
        var data = new TheoryData<GgmlType, Tier, int>();
        foreach (GgmlType type in Decoders.Keys)
            foreach (Tier tier in new[] { Tier.Vector256, Tier.Vector512 })
                foreach (int blocks in new[] { 0, 1, 2, 3, 8 })
                    data.Add(type, tier, blocks);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void VectorTierGivesTheScalarBits(GgmlType type, Tier tier, int blocks)
    {
        var (decode, halves) = Decoders[type];
        int blockSize = TensorTypes.BlockSize(type), blockBytes = (int)TensorTypes.BlockBytes(type);
        byte[] w = RandomBlocks(type, blocks, halves, seed: 40 + blocks + 10 * (int)type);
        var scalar = new float[blocks * blockSize];
        var vector = new float[blocks * blockSize];
        decode(w, scalar, SimdTier.Scalar);
        decode(w, vector, (SimdTier)tier);
        for (int i = 0; i < scalar.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(scalar[i]) == BitConverter.SingleToInt32Bits(vector[i]),
                $"{type} {tier}: element {i} (block {i / blockSize}) is {vector[i]}, the scalar twin's {scalar[i]}");
        Assert.True(blocks == 0 || scalar.Any(v => v != 0), "the random blocks decode to something");
        Assert.Equal(blockBytes * blocks, w.Length);
    }

    /// <summary>The type table's decoder is the dispatching one (the best tier's bits).</summary>
    [Theory]
    [MemberData(nameof(Types))]
    public void TableDecoderIsTheBestTier(GgmlType type)
    {
        var (decode, halves) = Decoders[type];
        byte[] w = RandomBlocks(type, 3, halves, seed: 7);
        var best = new float[3 * TensorTypes.BlockSize(type)];
        var table = new float[best.Length];
        decode(w, best, SimdCapabilities.Best);
        TensorTypes.Dequantize(type, w, table);
        Assert.Equal(best, table);
    }

    public static TheoryData<GgmlType> Types() => new(Decoders.Keys);

    // A real quantization of Gaussian weights (finite scales), then every byte but the halves randomised.
    private static byte[] RandomBlocks(GgmlType type, int blocks, int[] halves, int seed)
    {
        int blockSize = TensorTypes.BlockSize(type), blockBytes = (int)TensorTypes.BlockBytes(type);
        byte[] w = new byte[blocks * blockBytes];
        if (blocks == 0) return w;
        TensorTypes.Quantize(type, TestData.Gaussian(blocks * blockSize, seed), w);
        byte[] noise = new byte[w.Length];
        new Random(seed).NextBytes(noise);
        for (int b = 0; b < blocks; b++)
            for (int i = 0; i < blockBytes; i++)
                if (!halves.Any(h => i == h || i == h + 1))
                    w[b * blockBytes + i] = noise[b * blockBytes + i];
        return w;
    }
}
