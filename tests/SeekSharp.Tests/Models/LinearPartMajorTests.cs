using System.Runtime.InteropServices;
using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;
using SeekSharp.Models.Blocks;

namespace SeekSharp.Tests.Models;

/// <summary>
/// A matrix that a model applies on its own (an FFN's down projection, attention's output projection) is copied
/// part-major where the machine reads that faster: its products and rows must stay what the file's row-major matrix gives.
/// </summary>
public class LinearPartMajorTests
{
    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q6_K)]
    public unsafe void PartMajorCopyAppliesAndReadsAsTheMappedMatrix(GgmlType type)
    {
        const int rows = 70, cols = 2304;   // 9 super-blocks a row: two parts; 70 rows: groups of 32, 32 and 6
        var rng = new Random(5);
        var values = new float[rows * cols];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1);
        var bytes = GC.AllocateUninitializedArray<byte>(rows * (int)TensorTypes.RowBytes(type, cols), pinned: true);
        TensorTypes.Quantize(type, values, bytes);
        var mapped = new Linear((byte*)Marshal.UnsafeAddrOfPinnedArrayElement(bytes, 0), type, rows, cols);

        var stored = mapped.ToPartMajor();
        Assert.Equal(MatMul.CanStorePartMajor(type, cols), stored.PartMajor);
        if (!stored.PartMajor)
        {
            Assert.True(stored.Data == mapped.Data);   // without 512-bit vectors the file's matrix is used as it is
            return;
        }
        Assert.True(stored.Data != mapped.Data);
        using var pool = new WorkerPool(2);
        foreach (int tokens in new[] { 1, 5, 8, 13 })
        {
            var x = new float[tokens * cols];
            for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 4 - 2);
            float[] expected = new float[tokens * rows], actual = new float[tokens * rows];
            mapped.Apply(x, expected, tokens, pool);
            stored.Apply(x, actual, tokens, pool);
            Assert.Equal(expected, actual);
        }
        float[] a = new float[cols], b = new float[cols];
        foreach (int r in new[] { 0, 33, 69 })
        {
            mapped.ReadRow(r, a);
            stored.ReadRow(r, b);
            Assert.Equal(a, b);
        }
        Assert.Throws<ArgumentException>(() => Linear.ApplyShared(new float[cols], 1, pool, stored, new float[rows], mapped, new float[rows]));
        GC.KeepAlive(bytes);   // mapped holds only its address: a pinned array is still collected once unreachable
    }
}
