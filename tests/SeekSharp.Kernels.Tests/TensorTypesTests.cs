namespace SeekSharp.Kernels.Tests;

public class TensorTypesTests
{
    [Theory]
    [InlineData(GgmlType.F32, 1, 4)]
    [InlineData(GgmlType.F16, 1, 2)]
    [InlineData(GgmlType.BF16, 1, 2)]
    [InlineData(GgmlType.Q8_0, 32, 34)]
    [InlineData(GgmlType.Q4_0, 32, 18)]
    [InlineData(GgmlType.Q4_1, 32, 20)]
    [InlineData(GgmlType.Q5_0, 32, 22)]
    [InlineData(GgmlType.Q5_1, 32, 24)]
    [InlineData(GgmlType.Q4_K, 256, 144)]
    [InlineData(GgmlType.Q5_K, 256, 176)]
    [InlineData(GgmlType.Q6_K, 256, 210)]
    public void BlockSizesMatchGgml(GgmlType t, int blockSize, int blockBytes)
    {
        Assert.True(TensorTypes.IsSupported(t));
        Assert.Equal(blockSize, TensorTypes.BlockSize(t));
        Assert.Equal(blockBytes, TensorTypes.BlockBytes(t));
        Assert.Equal(4096L / blockSize * blockBytes, TensorTypes.RowBytes(t, 4096));
        Assert.Equal(0L, TensorTypes.RowBytes(t, 0));
    }

    [Fact]
    public void RowBytesRejectsPartialBlocks()
    {
        var e = Assert.Throws<ArgumentException>(() => TensorTypes.RowBytes(GgmlType.Q4_0, 33));
        Assert.Contains("Q4_0", e.Message);
        Assert.Contains("32", e.Message);
        Assert.Throws<ArgumentException>(() => TensorTypes.RowBytes(GgmlType.F16, -1));
    }

    [Theory]
    [InlineData(GgmlType.TQ1_0)]
    [InlineData(GgmlType.TQ2_0)]
    [InlineData(GgmlType.MXFP4)]
    public void UnsupportedTypesThrowNamingTheType(GgmlType t)
    {
        Assert.False(TensorTypes.IsSupported(t));
        Assert.Contains(t.ToString(), Assert.Throws<NotSupportedException>(() => TensorTypes.RowBytes(t, 256)).Message);
        Assert.Contains(t.ToString(), Assert.Throws<NotSupportedException>(() => TensorTypes.BlockSize(t)).Message);
        Assert.Contains(t.ToString(), Assert.Throws<NotSupportedException>(() => TensorTypes.Quantize(t, new float[256], new byte[1024])).Message);
        Assert.Contains(t.ToString(), Assert.Throws<NotSupportedException>(() => TensorTypes.Dequantize(t, new byte[1024], new float[256])).Message);
    }

    [Fact]
    public void QuantizeAndDequantizeCheckBufferSizes()
    {
        Assert.Throws<ArgumentException>(() => TensorTypes.Quantize(GgmlType.Q8_0, new float[64], new byte[67]));
        Assert.Throws<ArgumentException>(() => TensorTypes.Quantize(GgmlType.Q8_0, new float[48], new byte[51]));
        Assert.Throws<ArgumentException>(() => TensorTypes.Dequantize(GgmlType.Q4_0, new byte[35], new float[64]));
    }

    [Fact]
    public void F32IsStoredVerbatim()
    {
        float[] x = [1.5f, -0f, float.NaN, float.Epsilon];
        byte[] b = new byte[16];
        TensorTypes.Quantize(GgmlType.F32, x, b);
        Assert.Equal(0x3FC00000u, BitConverter.ToUInt32(b, 0));
        Assert.Equal(0x80000000u, BitConverter.ToUInt32(b, 4));
        float[] y = new float[4];
        TensorTypes.Dequantize(GgmlType.F32, b, y);
        Assert.Equal(x.Select(BitConverter.SingleToUInt32Bits), y.Select(BitConverter.SingleToUInt32Bits));
    }

    [Theory]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q5_0)]
    public void EncodingIsIdempotentOnDecodedValues(GgmlType t)
    {
        // Decoded values lie on the format's grid, so re-encoding them must give the same bytes back.
        float[] x = TestData.Random(32 * 8, 60, 5f);
        byte[] a = new byte[TensorTypes.RowBytes(t, x.Length)], b = new byte[a.Length];
        float[] y = new float[x.Length];
        TensorTypes.Quantize(t, x, a);
        TensorTypes.Dequantize(t, a, y);
        TensorTypes.Quantize(t, y, b);
        Assert.Equal(a, b);
    }
}
