namespace SeekSharp.Quantization;

/// <summary>A mix puts a tensor in a type whose quantizer needs importance weights (IQ1, IQ2, IQ3_XXS), and none were
/// given for it: llama-quantize refuses too, since the result would be garbage. The message names the tensor, its type
/// and how to make an importance matrix.</summary>
public sealed class ImportanceMatrixRequiredException(string message) : Exception(message);
