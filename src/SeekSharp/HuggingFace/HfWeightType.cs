namespace SeekSharp.HuggingFace;

/// <summary>
/// The type a Hugging Face folder's matrices take in GGUF. Vectors (norm gains, biases) and the MoE router are always
/// F32, as llama.cpp's converter writes them.
/// </summary>
public enum HfWeightType
{
    /// <summary>convert_hf_to_gguf's <c>--outtype auto</c>: BF16 or F16 after the first matrix stored in one of them, else F16.</summary>
    Auto,
    /// <summary>Each matrix as stored (F32, F16 or BF16), FP8 dequantized to BF16: no precision lost, and unchanged tensors
    /// are served straight from the safetensors mapping. The default for loading a folder.</summary>
    Source,
    /// <summary>Every matrix in F32.</summary>
    F32,
    /// <summary>Every matrix in F16.</summary>
    F16,
    /// <summary>Every matrix in BF16.</summary>
    BF16,
}
