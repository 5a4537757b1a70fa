using System.Runtime.InteropServices;
using SeekSharp.Quantization;

namespace SeekSharp.Conformance.Tests.Models;

/// <summary>
/// ggml's own GGUF reader (the one llama-quantize's imatrix loader calls) opens the importance matrices we write and
/// finds what llama.cpp looks for: the keys, and per weight the F32 tensors NAME.in_sum2 and NAME.counts.
/// </summary>
public unsafe class GgmlImatrixFileTests
{
    [StructLayout(LayoutKind.Sequential)]
    private struct GgufInitParams
    {
        public byte NoAlloc;
        public nint Context;
    }

    [Fact]
    public void GgmlsGgufReaderReadsOurImatrix()
    {
        var m = new ImportanceMatrix { ChunkCount = 7, ChunkSize = 512 };
        m.Datasets.Add("wiki.train.raw");
        m.Entries["blk.0.ffn_down.weight"] = new ImportanceEntry([1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f], [3584f], [0f, 1f, 0f, 1f, 0f, 1f, 0f, 1f]);
        m.Entries["blk.0.attn_q.weight"] = new ImportanceEntry([1f, 2f, 3f, 4f], [3584f]);
        string path = Path.Combine(Directory.CreateTempSubdirectory("seek-imatrix-ggml-").FullName, "imatrix.gguf");
        try
        {
            m.Write(path);
            var init = (delegate* unmanaged<byte*, GgufInitParams, nint>)GgmlDequantizeTests.GgmlExport("gguf_init_from_file");
            var nTensors = (delegate* unmanaged<nint, long>)GgmlDequantizeTests.GgmlExport("gguf_get_n_tensors");
            var tensorName = (delegate* unmanaged<nint, long, byte*>)GgmlDequantizeTests.GgmlExport("gguf_get_tensor_name");
            var tensorType = (delegate* unmanaged<nint, long, int>)GgmlDequantizeTests.GgmlExport("gguf_get_tensor_type");
            var tensorSize = (delegate* unmanaged<nint, long, nuint>)GgmlDequantizeTests.GgmlExport("gguf_get_tensor_size");
            var findKey = (delegate* unmanaged<nint, byte*, long>)GgmlDequantizeTests.GgmlExport("gguf_find_key");
            var valStr = (delegate* unmanaged<nint, long, byte*>)GgmlDequantizeTests.GgmlExport("gguf_get_val_str");
            var valU32 = (delegate* unmanaged<nint, long, uint>)GgmlDequantizeTests.GgmlExport("gguf_get_val_u32");
            var arrN = (delegate* unmanaged<nint, long, nuint>)GgmlDequantizeTests.GgmlExport("gguf_get_arr_n");
            var arrStr = (delegate* unmanaged<nint, long, nuint, byte*>)GgmlDequantizeTests.GgmlExport("gguf_get_arr_str");
            var free = (delegate* unmanaged<nint, void>)GgmlDequantizeTests.GgmlExport("gguf_free");

            nint ctx;
            fixed (byte* p = System.Text.Encoding.UTF8.GetBytes(path + "\0"))
                ctx = init(p, new GgufInitParams { NoAlloc = 1 });
            Assert.True(ctx != 0, "ggml's gguf_init_from_file refused the file");
            try
            {
                long Key(string name)
                {
                    fixed (byte* k = System.Text.Encoding.UTF8.GetBytes(name + "\0")) return findKey(ctx, k);
                }
                Assert.Equal("imatrix", Marshal.PtrToStringUTF8((nint)valStr(ctx, Key("general.type"))));
                Assert.Equal(7u, valU32(ctx, Key("imatrix.chunk_count")));
                Assert.Equal(512u, valU32(ctx, Key("imatrix.chunk_size")));
                long datasets = Key("imatrix.datasets");
                Assert.Equal(1u, (uint)arrN(ctx, datasets));
                Assert.Equal("wiki.train.raw", Marshal.PtrToStringUTF8((nint)arrStr(ctx, datasets, 0)));

                int n = (int)nTensors(ctx);
                var tensors = Enumerable.Range(0, n).Select(i => (Name: Marshal.PtrToStringUTF8((nint)tensorName(ctx, i))!, Type: tensorType(ctx, i), Bytes: (long)tensorSize(ctx, i))).ToArray();
                Assert.Equal(
                    [("blk.0.attn_q.weight.in_sum2", 0, 16L), ("blk.0.attn_q.weight.counts", 0, 4L),
                     ("blk.0.ffn_down.weight.in_sum2", 0, 32L), ("blk.0.ffn_down.weight.counts", 0, 4L), ("blk.0.ffn_down.weight.in_sum", 0, 32L)],
                    tensors);
            }
            finally
            {
                free(ctx);
            }
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }
}
