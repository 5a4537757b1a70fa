namespace SeekSharp.Quantization;

/// <summary>
/// A weight to be quantized is NaN or ±Inf. No quantizer has a code for it: the block's scale would come out
/// non-finite and the whole block garbage, so <see cref="GgufQuantizer"/> refuses the model before writing anything
/// (llama-quantize fails too, once it has validated the quantized rows).
/// </summary>
public sealed class NonFiniteWeightException(string path, string tensor, long row, long column, float value)
    : Exception($"{path}: tensor '{tensor}' holds {Describe(value)} at row {row}, column {column}; a model with non-finite weights cannot be quantized")
{
    /// <summary>The model file that holds the weight.</summary>
    public string Path { get; } = path;

    /// <summary>The tensor's name, as in the GGUF file.</summary>
    public string Tensor { get; } = tensor;

    /// <summary>The row of the first non-finite weight, counting rows of every matrix of a 3-D tensor in order.</summary>
    public long Row { get; } = row;

    /// <summary>The column (index along the tensor's first dimension) of the first non-finite weight.</summary>
    public long Column { get; } = column;

    /// <summary>The weight: NaN, +Inf or -Inf.</summary>
    public float Value { get; } = value;

    // float's own ToString gives "∞" and "-∞", which a terminal or a log search may not show as typed.
    private static string Describe(float value) => float.IsNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
}
