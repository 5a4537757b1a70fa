using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Quantization;
using Xunit.Abstractions;

namespace SeekSharp.Tests.Quantization;

/// <summary>
/// One real tensor beyond 2 GiB (the span and array limit): a 2.2 GB F16 token embedding written by the streaming
/// writer and quantized by <see cref="GgufQuantizer"/>, both a piece at a time. About 15 s and 3.4 GB of temporary disk.
/// </summary>
public sealed class LargeTensorTests(ITestOutputHelper output)
{
    [Fact]
    public void A_tensor_over_2_GiB_is_written_and_quantized()
    {
        string dir = Directory.CreateTempSubdirectory("seek-big-").FullName;
        try
        {
            long cols = 32768, rows = 33600; // F16: 2.2 GB, above int.MaxValue bytes
            var w = new GgufWriter();
            w.Set("general.architecture", "llama");
            w.Set("llama.block_count", 1u);
            w.Set("llama.attention.head_count", 4u);
            // Every row the same ramp, so the check below needs no second copy of the tensor.
            var one = new byte[cols * 2];
            for (int i = 0; i < cols; i++) BitConverter.TryWriteBytes(one.AsSpan(i * 2), (Half)((i % 17) * 0.125f - 1));
            w.AddTensor("token_embd.weight", GgmlType.F16, [cols, rows], s => { for (long r = 0; r < rows; r++) s.Write(one); });
            string input = Path.Combine(dir, "in.gguf"), q = Path.Combine(dir, "q.gguf");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            w.Write(input);
            output.WriteLine($"wrote {new FileInfo(input).Length} in {clock.Elapsed}");
            GgufQuantizer.Quantize(input, q, LlamaFileType.MostlyQ8_0);
            output.WriteLine($"quantized {new FileInfo(q).Length} in {clock.Elapsed}");
            Assert.True(new FileInfo(input).Length > int.MaxValue);
            using var f = GgufFile.Open(q);
            var t = f.GetTensor("token_embd.weight");
            Assert.Equal(GgmlType.Q8_0, t.Type);
            unsafe
            {
                byte* p = f.GetTensorPointer(t);
                long rb = TensorTypes.RowBytes(GgmlType.Q8_0, cols);
                var first = new ReadOnlySpan<byte>(p, (int)rb).ToArray();
                var last = new ReadOnlySpan<byte>(p + (rows - 1) * rb, (int)rb).ToArray();
                // The last row lies beyond 2 GiB of the input: it must have been read and encoded like the first.
                Assert.Equal(first, last);
                var f32 = new float[cols];
                TensorTypes.Dequantize(GgmlType.Q8_0, last, f32);
                Assert.Equal(-1f, f32[0], 2);
                Assert.Equal(1f, f32[16], 2);
            }
        }
        finally { Directory.Delete(dir, true); }
    }
}
