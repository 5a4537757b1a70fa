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
    /// <summary>LLAMA_FTYPE_MOSTLY_IQ2_XXS: IQ2_XXS (2.06 bits per weight), Q2_K for the token embedding, attn_v and the
    /// first eighth of ffn_down (Q4_K for attn_v with four or more query heads per key/value head), Q5_K for the output.
    /// Needs an importance matrix.</summary>
    MostlyIQ2_XXS = 19,
    /// <summary>LLAMA_FTYPE_MOSTLY_IQ2_XS: as IQ2_XXS, with IQ2_XS (2.31 bits per weight). Needs an importance matrix.</summary>
    MostlyIQ2_XS = 20,
    /// <summary>LLAMA_FTYPE_MOSTLY_IQ3_XS: IQ3_S, with IQ3_XXS for attn_q, attn_k and the middle three quarters of
    /// ffn_gate/ffn_up, Q4_K for attn_v with grouped-query attention of four or more. Needs an importance matrix (for
    /// its IQ3_XXS tensors).</summary>
    MostlyIQ3_XS = 22,
    /// <summary>LLAMA_FTYPE_MOSTLY_IQ3_XXS: IQ3_XXS (3.06 bits per weight), IQ2_S for attn_q and attn_k, IQ3_S for the
    /// token embedding and attn_output, Q5_K for the output. Needs an importance matrix.</summary>
    MostlyIQ3_XXS = 23,
    /// <summary>LLAMA_FTYPE_MOSTLY_IQ1_S: IQ1_S (1.56 bits per weight), IQ2_XXS for attn_output, otherwise as IQ2_XXS.
    /// Needs an importance matrix.</summary>
    MostlyIQ1_S = 24,
    /// <summary>LLAMA_FTYPE_MOSTLY_IQ4_NL: IQ4_NL (32-blocks, non-linear levels), Q5_K for the first eighth of ffn_down.</summary>
    MostlyIQ4_NL = 25,
    /// <summary>LLAMA_FTYPE_MOSTLY_IQ3_S: IQ3_S (3.44 bits per weight), Q4_K for attn_v with grouped-query attention of
    /// four or more.</summary>
    MostlyIQ3_S = 26,
    /// <summary>LLAMA_FTYPE_MOSTLY_IQ3_M: IQ3_S, with Q4_K for attn_v, attn_output and the first eighth of ffn_down.</summary>
    MostlyIQ3_M = 27,
    /// <summary>LLAMA_FTYPE_MOSTLY_IQ2_S: IQ2_XS, with IQ3_S for the token embedding, attn_output, the first eighth of
    /// ffn_down and attn_v (Q4_K with four or more query heads per key/value head). Needs an importance matrix.</summary>
    MostlyIQ2_S = 28,
    /// <summary>LLAMA_FTYPE_MOSTLY_IQ2_M: as IQ2_S, with IQ2_S (2.5 bits per weight) for most weights. Needs an
    /// importance matrix.</summary>
    MostlyIQ2_M = 29,
    /// <summary>LLAMA_FTYPE_MOSTLY_IQ4_XS: IQ4_XS (256-blocks of IQ4_NL levels with 6-bit scales), Q5_K for the first eighth of ffn_down.</summary>
    MostlyIQ4_XS = 30,
    /// <summary>LLAMA_FTYPE_MOSTLY_IQ1_M: IQ1_M (1.75 bits per weight), otherwise as IQ1_S. Needs an importance matrix
    /// (except for the token embedding and output, which it does not put in IQ1_M).</summary>
    MostlyIQ1_M = 31,
}
