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
    /// <summary>LLAMA_FTYPE_MOSTLY_Q2_K: Q2_K, with Q3_K for ffn_down and attn_output, Q3_K or Q4_K for attn_v.</summary>
    MostlyQ2_K = 10,
    /// <summary>LLAMA_FTYPE_MOSTLY_Q3_K_S: Q3_K everywhere but the output.</summary>
    MostlyQ3_K_S = 11,
    /// <summary>LLAMA_FTYPE_MOSTLY_Q3_K_M: Q3_K, with Q4_K/Q5_K for attn_v, ffn_down and attn_output.</summary>
    MostlyQ3_K_M = 12,
    /// <summary>LLAMA_FTYPE_MOSTLY_Q3_K_L: Q3_K, with Q5_K for attn_v, ffn_down and attn_output.</summary>
    MostlyQ3_K_L = 13,
    /// <summary>LLAMA_FTYPE_MOSTLY_Q4_K_S: Q4_K, with Q5_K for the first attn_v layers and the first eighth of ffn_down.</summary>
    MostlyQ4_K_S = 14,
    /// <summary>LLAMA_FTYPE_MOSTLY_Q4_K_M: Q4_K, with Q6_K for the output and for half the attn_v / ffn_down layers.</summary>
    MostlyQ4_K_M = 15,
    /// <summary>LLAMA_FTYPE_MOSTLY_Q5_K_S: Q5_K everywhere but the output.</summary>
    MostlyQ5_K_S = 16,
    /// <summary>LLAMA_FTYPE_MOSTLY_Q5_K_M: Q5_K, with Q6_K for the output and for half the attn_v / ffn_down layers.</summary>
    MostlyQ5_K_M = 17,
    /// <summary>LLAMA_FTYPE_MOSTLY_Q6_K: Q6_K everywhere.</summary>
    MostlyQ6_K = 18,
    /// <summary>LLAMA_FTYPE_MOSTLY_IQ2_XXS: IQ2_XXS (2.06 bits per weight), Q2_K for the token embedding and the first
    /// eighth of ffn_down, Q4_K or Q2_K for attn_v, Q5_K for the output. llama.cpp writes it only with an importance matrix,
    /// and SeekSharp cannot encode IQ2_XXS: the mix is planned (for benchmarks that encode with ggml), not offered by
    /// <c>seek quantize</c>.</summary>
    MostlyIQ2_XXS = 19,
    /// <summary>LLAMA_FTYPE_MOSTLY_IQ4_NL: IQ4_NL (32-blocks, non-linear levels), Q5_K for the first eighth of ffn_down.</summary>
    MostlyIQ4_NL = 25,
    /// <summary>LLAMA_FTYPE_MOSTLY_IQ4_XS: IQ4_XS (256-blocks of IQ4_NL levels with 6-bit scales), Q5_K for the first eighth of ffn_down.</summary>
    MostlyIQ4_XS = 30,
}
