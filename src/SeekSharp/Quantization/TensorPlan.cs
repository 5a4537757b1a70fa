using SeekSharp.Gguf;
using SeekSharp.Kernels;

namespace SeekSharp.Quantization;

/// <summary>One tensor of a quantization: the input tensor and the type it is written in.</summary>
/// <param name="Source">The tensor as stored in the input file.</param>
/// <param name="Target">The type of the output tensor; equal to <c>Source.Type</c> when the data is copied as is.</param>
/// <param name="FallbackFrom">When set, the mix asked for this type but the rows are not whole blocks of it, so
/// <paramref name="Target"/> is llama.cpp's fallback.</param>
public sealed record TensorPlan(GgufTensorInfo Source, GgmlType Target, GgmlType? FallbackFrom = null);
