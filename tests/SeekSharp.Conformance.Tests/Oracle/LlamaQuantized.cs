using System.Runtime.InteropServices;
using System.Text;
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

    /// <summary>
    /// <paramref name="source"/> quantized by llama.cpp with the llama.cpp file type <paramref name="ftype"/> and the
    /// importance weights <paramref name="weights"/> (tensor name → one weight per column, per expert), handed to
    /// llama_model_quantize as llama-quantize hands its parsed matrix (a null-terminated array of
    /// llama_model_imatrix_data). Written to <paramref name="output"/>; returns false if llama.cpp refused.
    /// </summary>
    public static unsafe bool TryQuantize(string source, string output, string ftype, IReadOnlyDictionary<string, float[]>? weights)
    {
        LlamaCpp.NativeLog.EnsureInitialized();
        var entries = weights?.ToArray() ?? [];
        var names = entries.Select(e => GCHandle.Alloc(Encoding.UTF8.GetBytes(e.Key + "\0"), GCHandleType.Pinned)).ToArray();
        var data = entries.Select(e => GCHandle.Alloc(e.Value, GCHandleType.Pinned)).ToArray();
        var table = new ImatrixEntry[entries.Length + 1];
        try
        {
            for (int i = 0; i < entries.Length; i++)
                table[i] = new ImatrixEntry { Name = names[i].AddrOfPinnedObject(), Data = data[i].AddrOfPinnedObject(), Size = (nuint)entries[i].Value.Length };
            fixed (ImatrixEntry* pTable = table)
            {
                var p = LLamaModelQuantizeParams.Default();
                p.nthread = 2;
                p.ftype = Enum.Parse<LLamaFtype>(ftype);
                p.allow_requantize = false;
                p.quantize_output_tensor = true;
                p.imatrix = weights is null ? IntPtr.Zero : (IntPtr)pTable;
                return NativeApi.llama_model_quantize(source, output, ref p) == 0;
            }
        }
        finally
        {
            foreach (var h in names.Concat(data)) h.Free();
        }
    }

    /// <summary>llama.h's llama_model_imatrix_data: one tensor's weights; a null name ends the array.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ImatrixEntry
    {
        public IntPtr Name;
        public IntPtr Data;
        public nuint Size;
    }
}
