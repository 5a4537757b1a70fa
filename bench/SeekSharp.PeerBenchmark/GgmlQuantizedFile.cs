using System.Runtime.InteropServices;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Quantization;

namespace SeekSharp.PeerBenchmark;

/// <summary>
/// Writes a model in the IQ2_XXS mix through ggml's own encoder (written before SeekSharp could encode IQ2_XXS; its
/// bytes now equal ggml's, so either writer gives the same file): each tensor gets the type
/// <see cref="QuantizationRecipe.Plan"/> chooses, as llama-quantize would, and is encoded by ggml itself
/// (<c>ggml_quantize_chunk</c> of the libggml-base that LLamaSharp loads). llama-quantize writes the 2-bit IQ types only
/// with an importance matrix; this gives ggml one of ones, every column weighing the same. The weights are random, so a
/// measured matrix would add nothing, and the speed of either engine does not depend on the values.
/// </summary>
internal static unsafe class GgmlQuantizedFile
{
    public static void Write(string inputPath, string outputPath, LlamaFileType mix)
    {
        LlamaCppChild.Initialize();
        var quantize = (delegate* unmanaged<int, float*, void*, long, long, long, float*, nuint>)Export("ggml_quantize_chunk");
        var init = (delegate* unmanaged<int, void>)Export("ggml_quantize_init");
        using var input = GgufFile.Open(inputPath);
        var plan = QuantizationRecipe.Plan(input, mix);
        var writer = new GgufWriter(input.Version);
        foreach (var (key, value) in input.Metadata)
            writer.Set(key, value);
        writer.Set("general.quantization_version", GgufQuantizer.QuantizationVersion);
        writer.Set("general.file_type", (uint)mix);
        foreach (var p in plan)
        {
            var t = p.Source;
            if (p.Target == t.Type)
            {
                writer.AddTensor(t.Name, t.Type, t.Shape, input.GetTensorBytes(t).ToArray());
                continue;
            }
            init((int)p.Target);   // builds the IQ grids' search tables once, before the threads use them
            writer.AddTensor(t.Name, p.Target, t.Shape, () => Encode(input, t, p.Target, quantize));
        }
        writer.Write(outputPath);
    }

    // The tensor decoded whole, then its rows encoded in chunks over the cores; ggml_quantize_chunk reads src + start and
    // writes row start / cols of dst onwards, so every chunk passes the same two buffers and its own start.
    private static byte[] Encode(GgufFile input, GgufTensorInfo t, GgmlType target, delegate* unmanaged<int, float*, void*, long, long, long, float*, nuint> quantize)
    {
        long cols = t.Shape[0], rows = t.ElementCount / cols;
        var values = new float[t.ElementCount];
        var bytes = input.GetTensorBytes(t);
        if (t.Type == GgmlType.F32) MemoryMarshal.Cast<byte, float>(bytes).CopyTo(values);
        else TensorTypes.Dequantize(t.Type, bytes, values);
        var output = new byte[checked(TensorTypes.RowBytes(target, cols) * rows)];
        float[] ones = new float[cols];
        Array.Fill(ones, 1f);
        long rowsPerChunk = Math.Max(1, (1 << 16) / cols);
        Parallel.For(0L, (rows + rowsPerChunk - 1) / rowsPerChunk, c =>
        {
            long first = c * rowsPerChunk;
            fixed (float* pv = values, pi = ones)
            fixed (byte* po = output)
            {
                quantize((int)target, pv, po, first * cols, Math.Min(rowsPerChunk, rows - first), cols, pi);
            }
        });
        return output;
    }

    private static IntPtr Export(string name)
    {
        string path = File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(parts => parts.Length >= 6 && Path.GetFileName(parts[5]) == "libggml-base.so")
            .Select(parts => parts[5])
            .FirstOrDefault() ?? throw new InvalidOperationException("libggml-base.so is not loaded after LLamaSharp's initialisation");
        return NativeLibrary.GetExport(NativeLibrary.Load(path), name);
    }
}
