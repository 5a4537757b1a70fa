using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using LLama;
using LLama.Native;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Kernels;
using SeekSharp.Quantization;

namespace SeekSharp.PeerBenchmark;

/// <summary>
/// The benchmarked GGUF files of a <see cref="PeerModel"/>: written once (random weights, then quantized) into a cache
/// folder and reused. Shared with the serving benchmark, which links this file.
/// </summary>
internal static class PeerModelFiles
{
    public static string ModelPath(string cache, PeerModel shape, string type) => Path.Combine(cache, $"{shape.FileStem}-{type}.gguf");

    // F16 is written by the tests' model builder (GgufWriter), one tensor at a time. qwen2's other types come from seek's
    // quantizer, whose output the conformance tests prove byte-identical to llama.cpp's quantizer for these mixes
    // (IQ2_XXS, which llama.cpp quantizes only with an importance matrix, from ggml's quantizer: GgmlQuantizedFile);
    // deepseek2's from llama.cpp's own quantizer (llama_model_quantize through LLamaSharp), so both engines run the
    // very file llama-quantize would write for this model, whatever the mix gives MLA's and the experts' tensors.
    public static string EnsureModel(string cache, PeerModel shape, string type, int threads, List<string> report)
    {
        string path = ModelPath(cache, shape, type);
        if (File.Exists(path))
        {
            report.Add($"{Path.GetFileName(path)}: {Mib(path)} MiB (cached); tensor types: {TypeCounts(path)}");
            return path;
        }
        string f16 = ModelPath(cache, shape, "F16");
        var clock = Stopwatch.StartNew();
        if (!File.Exists(f16))
        {
            Console.Error.WriteLine($"writing {f16} ...");
            TinyModelBuilder.Build(shape.Options, f16 + ".tmp", streaming: true);
            File.Move(f16 + ".tmp", f16);
            // The writer's per-tensor arrays (up to 1.2 GB each) stay on the large-object heap until a full collection;
            // give them back before the quantizer maps the F16 and the engines run (5-6 GB after the 27-layer file).
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect();
            Console.Error.WriteLine($"  {clock.Elapsed.TotalSeconds:F0} s");
            report.Add(string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(f16)}: {Mib(f16)} MiB, written in {clock.Elapsed.TotalSeconds:F0} s"));
        }
        if (type == "F16") return f16;
        Console.Error.WriteLine($"writing {path} ...");
        clock.Restart();
        string by;
        if (shape.Architecture == "deepseek2")
        {
            by = "llama.cpp's quantizer";
            LlamaCppChild.Initialize();
            var ftype = type switch
            {
                "Q8_0" => LLamaFtype.MOSTLY_Q8_0,
                "Q4_K_M" => LLamaFtype.MOSTLY_Q4_K_M,
                "Q6_K" => LLamaFtype.MOSTLY_Q6_K,
                "Q5_K_M" => LLamaFtype.MOSTLY_Q5_K_M,
                _ => throw new ArgumentException($"--types: {type} is not one of F16, Q8_0, Q4_K_M, Q5_K_M, Q6_K"),
            };
            // quantizeOutputTensor: llama-quantize's default (LLamaSharp's is false, which would leave output.weight F16).
            if (!LLamaQuantizer.Quantize(f16, path + ".tmp", ftype, threads, allowRequantize: true, quantizeOutputTensor: true))
                throw new InvalidOperationException($"llama.cpp could not quantize {f16} to {type}");
        }
        else if (type == "IQ2_XXS")
        {
            // Planned as llama-quantize plans it, encoded by ggml (SeekSharp reads IQ2_XXS but does not write it).
            by = "ggml_quantize_chunk (unit importance matrix) in seek's IQ2_XXS plan";
            GgmlQuantizedFile.Write(f16, path + ".tmp", LlamaFileType.MostlyIQ2_XXS);
        }
        else
        {
            by = "seek's GgufQuantizer";
            GgufQuantizer.Quantize(f16, path + ".tmp", QuantizationRecipe.Parse(type));
        }
        File.Move(path + ".tmp", path);
        Console.Error.WriteLine($"  {clock.Elapsed.TotalSeconds:F0} s");
        report.Add(string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(path)}: {Mib(path)} MiB, quantized from F16 by {by} in {clock.Elapsed.TotalSeconds:F0} s"));
        report.Add($"{Path.GetFileName(path)} tensor types: {TypeCounts(path)}");
        return path;
    }

    public static string Mib(string path) => (new FileInfo(path).Length / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);

    // "Q4_K ×85, Q5_0 ×4 (attn_k_b ×4), ...": the types a quantizer chose, by ggml type id (so types SeekSharp lacks show
    // too), with the tensor kinds of the rarer types.
    public static string TypeCounts(string model) =>
        string.Join(", ", GgufTensorSizes.Read(model).Tensors.GroupBy(t => t.Type).OrderByDescending(g => g.Count()).Select(g =>
            $"{(GgmlType)g.Key} ×{g.Count()}" + (g.Count() > 30 || g.Key == 0 ? "" :
                $" ({string.Join(", ", g.GroupBy(t => t.Name.Split('.')[^2]).Select(n => n.Count() > 1 ? $"{n.Key} ×{n.Count()}" : n.Key))})")));
}
