using SeekSharp.Gguf;
using SeekSharp.Quantization;

namespace SeekSharp.HuggingFace;

/// <summary>
/// A Hugging Face model folder (config.json, tokenizer.json, tokenizer_config.json and safetensors weights, single or
/// sharded) read as the GGUF that llama.cpp's convert_hf_to_gguf.py would make of it: same metadata keys, tensor
/// names and layouts (llama's permuted q/k, deepseek2's split kv_b and stacked experts), same tokenizer keys with the
/// pre-tokenizer chosen by the converter's hash. Supported <c>model_type</c>s: llama, qwen2, qwen3, deepseek_v2,
/// deepseek_v3; F32, F16, BF16 and block-scaled FP8 (DeepSeek-V3) weights.
/// </summary>
public static class HuggingFaceFolder
{
    /// <summary>Whether <paramref name="path"/> is a folder holding a config.json, i.e. looks like a Hugging Face model.</summary>
    public static bool IsModelFolder(string path) => Directory.Exists(path) && File.Exists(Path.Combine(path, "config.json"));

    /// <summary>Bytes a model takes on disk: a GGUF file's length, or the sum of a model folder's files (weights, config, tokenizer).</summary>
    public static long SizeOnDisk(string modelPath) =>
        Directory.Exists(modelPath)
            ? new DirectoryInfo(modelPath).EnumerateFiles("*", SearchOption.TopDirectoryOnly).Sum(f => f.Length)
            : new FileInfo(modelPath).Length;

    /// <summary>
    /// Opens the folder as an in-memory GGUF file: tensors stored as GGUF wants them are served from the safetensors
    /// mappings, the others (permuted, split, stacked, re-encoded) are computed now. Dispose the file to release both.
    /// </summary>
    /// <exception cref="Models.ModelLoadException">config.json is missing a key, names an unsupported architecture or a missing tensor.</exception>
    /// <exception cref="Safetensors.SafetensorsFormatException">A weight file is corrupt, truncated, or a tensor's shape disagrees with config.json.</exception>
    /// <exception cref="Tokenization.TokenizerFormatException">The tokenizer files are invalid or unsupported.</exception>
    public static GgufFile Open(string folder, HfWeightType weightType = HfWeightType.Source, IProgress<ConvertProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var plan = HfModelMapping.Plan(folder, weightType);
        try
        {
            return plan.Open(progress, cancellationToken);
        }
        catch
        {
            plan.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes the folder as a GGUF file to <paramref name="outputPath"/>, atomically: into a temporary file in the same
    /// folder, renamed once complete, so a failure or cancellation leaves no file (and an existing one untouched).
    /// </summary>
    /// <param name="weightType">The matrices' type for a float output.</param>
    /// <param name="mix">When set, the output is quantized in this llama-quantize mix (via <see cref="GgufQuantizer"/>) from the
    /// weights as stored (<see cref="HfWeightType.Source"/>) instead of written in <paramref name="weightType"/>.</param>
    public static void Convert(string folder, string outputPath, HfWeightType weightType = HfWeightType.Auto, LlamaFileType? mix = null,
        IProgress<ConvertProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        using var plan = HfModelMapping.Plan(folder, mix is null ? weightType : HfWeightType.Source);
        if (mix is { } m)
        {
            // The quantizer reads the computed tensors (FP8 dequantized, experts stacked) a piece of rows at a time as
            // it writes them: computing them first would hold the whole model (1.3 TB for DeepSeek-V3 in BF16).
            using var file = plan.OpenRowByRow();
            var quantizeProgress = progress is null ? null : new QuantizeProgressAdapter(progress);
            GgufQuantizer.Quantize(file, plan.EncodeRows, outputPath, m, quantizeProgress, cancellationToken, importance: null);
            return;
        }
        plan.Write(outputPath, progress, cancellationToken);
    }

    sealed class QuantizeProgressAdapter(IProgress<ConvertProgress> inner) : IProgress<QuantizeProgress>
    {
        public void Report(QuantizeProgress p) => inner.Report(new ConvertProgress(p.Index, p.Count, p.Tensor.Source.Name));
    }
}
