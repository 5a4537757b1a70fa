namespace SeekSharp.Quantization;

/// <summary>
/// The mixes <see cref="GgufQuantizer"/> writes, numbered as llama.cpp's <c>llama_ftype</c> (stored as
/// <c>general.file_type</c>). A mix names the type most weights get; <see cref="QuantizationRecipe"/> picks the type of
/// each tensor within the mix as llama.cpp's quantizer does.
/// </summary>
public enum LlamaFileType : uint
{
    /// <summary>LLAMA_FTYPE_ALL_F32: every tensor in F32.</summary>
    AllF32 = 0,
    /// <summary>LLAMA_FTYPE_MOSTLY_F16: 2-D weights in F16, 1-D tensors kept.</summary>
    MostlyF16 = 1,
    /// <summary>LLAMA_FTYPE_MOSTLY_Q4_0: Q4_0 weights, output projection in Q6_K (Q8_0 when its rows are not whole 256-blocks).</summary>
    MostlyQ4_0 = 2,
    /// <summary>LLAMA_FTYPE_MOSTLY_Q8_0: Q8_0 everywhere.</summary>
    MostlyQ8_0 = 7,
    /// <summary>LLAMA_FTYPE_MOSTLY_Q4_K_M: Q4_K, with Q6_K for the output and for half the attn_v / ffn_down layers.</summary>
    MostlyQ4_K_M = 15,
    /// <summary>LLAMA_FTYPE_MOSTLY_Q5_K_M: Q5_K, with Q6_K for the output and for half the attn_v / ffn_down layers.</summary>
    MostlyQ5_K_M = 17,
    /// <summary>LLAMA_FTYPE_MOSTLY_Q6_K: Q6_K everywhere.</summary>
    MostlyQ6_K = 18,
}
