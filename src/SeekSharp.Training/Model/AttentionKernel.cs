namespace SeekSharp.Training.Model;

/// <summary>How a <see cref="Transformer"/> computes causal attention. Both give the same results up to float rounding.</summary>
public enum AttentionKernel
{
    /// <summary>Per-head tiles multiplied through <c>SeekSharp.Kernels.Gemm</c> (fast; computes the masked triangle too).</summary>
    Gemm,
    /// <summary>Direct loops over the causal (query, key) pairs: the simple reference.</summary>
    Direct,
}
