namespace SeekSharp.Quantization;

/// <summary>An importance matrix does not fit the model being quantized (column counts differ, or values are not
/// finite); the message names the tensor, what was expected and what was found.</summary>
public sealed class ImportanceMatrixMismatchException(string message) : Exception(message);
