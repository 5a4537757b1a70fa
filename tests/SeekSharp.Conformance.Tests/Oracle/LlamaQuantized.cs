using LLama;
using LLama.Native;

namespace SeekSharp.Conformance.Tests.Oracle;

/// <summary>Files quantized by llama.cpp's own quantizer (llama_model_quantize), written next to their source once.</summary>
internal static class LlamaQuantized
{
    /// <summary>
    /// <paramref name="source"/> quantized with the llama.cpp file type <paramref name="ftype"/> (e.g. MOSTLY_Q2_K),
    /// without an importance matrix; written under a temporary name first, so a failed run leaves no half file.
    /// </summary>
    public static string GetOrQuantize(string source, string ftype)
    {
        string quantized = Path.Combine(Path.GetDirectoryName(source)!, $"{Path.GetFileNameWithoutExtension(source)}-{ftype}.gguf");
        if (!File.Exists(quantized))
        {
            LlamaCpp.NativeLog.EnsureInitialized();
            string partial = quantized + $".{Environment.ProcessId}.tmp";
            Assert.True(LLamaQuantizer.Quantize(source, partial, Enum.Parse<LLamaFtype>(ftype), nthread: 2, allowRequantize: false, quantizeOutputTensor: true),
                $"llama.cpp failed to quantize {source} with {ftype}.{LlamaCpp.NativeLog.RecentErrors()}");
            File.Move(partial, quantized, overwrite: true);
        }
        return quantized;
    }
}
