using System.Runtime.InteropServices;
using System.Text;

namespace SeekSharp.Conformance.Tests.Trace;

/// <summary>
/// <see cref="GgmlTensor"/> on hand-built structs: strided (permuted) views are read as ggml orders them, and names
/// split into base name and layer as llama.cpp formats them.
/// </summary>
public unsafe class GgmlTensorTests
{
    [Fact]
    public void CopiesAPermutedViewInGgmlOrder()
    {
        // Storage: a contiguous [ne0 = 3, ne1 = 2] matrix m[i1][i0] = 10 * i1 + i0.
        // The view swaps the two dimensions (ggml_permute / transpose): ne = {2, 3}, nb = {12, 4}.
        float[] storage = [0, 1, 2, 10, 11, 12];
        fixed (float* data = storage)
        {
            nint tensor = FakeTensor("kqv-0 (permuted)", type: 0, ne: [2, 3, 1, 1], nb: [12, 4, 24, 24], (nint)data);
            try
            {
                var view = new GgmlTensor(tensor);
                view.Validate();
                Assert.Equal("kqv-0 (permuted)", view.Name);
                Assert.Equal([2L, 3, 1, 1], view.Shape);
                // Element (i0, i1) of the view is storage element (i1, i0).
                Assert.Equal([0f, 10, 1, 11, 2, 12], view.CopyF32());
            }
            finally
            {
                Marshal.FreeHGlobal(tensor);
            }
        }
    }

    [Fact]
    public void CopiesAContiguousTensorAsIs()
    {
        float[] storage = [1, 2, 3, 4, 5, 6];
        fixed (float* data = storage)
        {
            nint tensor = FakeTensor("l_out-3", type: 0, ne: [3, 2, 1, 1], nb: [4, 12, 24, 24], (nint)data);
            try
            {
                Assert.Equal(storage, new GgmlTensor(tensor).CopyF32());
            }
            finally
            {
                Marshal.FreeHGlobal(tensor);
            }
        }
    }

    [Fact]
    public void RejectsFieldsThatDoNotLookLikeATensor()
    {
        nint tensor = FakeTensor("x", type: 12345, ne: [1, 1, 1, 1], nb: [4, 4, 4, 4], 0);
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => new GgmlTensor(tensor).Validate());
            Assert.Contains("struct layout", e.Message);
        }
        finally
        {
            Marshal.FreeHGlobal(tensor);
        }
    }

    [Theory]
    [InlineData("Qcur-0", "Qcur", 0)]
    [InlineData("ffn_out-31", "ffn_out", 31)]
    [InlineData("result_norm", "result_norm", -1)]
    [InlineData("kqv-0 (permuted)", "kqv-0 (permuted)", -1)]
    [InlineData("cache_k_l0 (view)", "cache_k_l0 (view)", -1)]
    public void SplitsLlamaCppNamesIntoNameAndLayer(string ggmlName, string name, int layer) =>
        Assert.Equal((name, layer), TraceRecording.ParseGgmlName(ggmlName));

    /// <summary>A zeroed 336-byte ggml_tensor with the fields GgmlTensor reads, at ggml.h's offsets.</summary>
    private static nint FakeTensor(string name, int type, long[] ne, long[] nb, nint data)
    {
        nint p = Marshal.AllocHGlobal(336);
        new Span<byte>((void*)p, 336).Clear();
        byte* b = (byte*)p;
        *(int*)b = type;
        *(nint*)(b + 8) = data == 0 ? 0 : 1; // buffer: any non-null value
        for (int d = 0; d < 4; d++)
        {
            ((long*)(b + 16))[d] = ne[d];
            ((long*)(b + 48))[d] = nb[d];
        }
        *(nint*)(b + 248) = data;
        Encoding.UTF8.GetBytes(name).CopyTo(new Span<byte>(b + 256, 63));
        return p;
    }
}
