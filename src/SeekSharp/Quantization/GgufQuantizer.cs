using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using SeekSharp.Gguf;
using SeekSharp.IO;
using SeekSharp.Kernels;

namespace SeekSharp.Quantization;

/// <summary>Progress of <see cref="GgufQuantizer.Quantize"/>: tensor <see cref="Index"/> (1-based) of <see cref="Count"/> is done.</summary>
public sealed record QuantizeProgress(int Index, int Count, TensorPlan Tensor);

/// <summary>
/// Rewrites a GGUF model in a <see cref="LlamaFileType"/> mix, as llama-quantize does: same metadata (plus
/// <c>general.file_type</c> and <c>general.quantization_version</c>), tensors in llama.cpp's order, each encoded in the
/// type <see cref="QuantizationRecipe"/> chooses with ggml's reference quantizers, so the output equals llama.cpp's
/// own quantization of the same input (and the same importance matrix, when one is given).
/// </summary>
public static class GgufQuantizer
{
    /// <summary>ggml's GGML_QNT_VERSION, which llama-quantize writes as <c>general.quantization_version</c>.</summary>
    public const uint QuantizationVersion = 2;

    /// <summary>Rows encoded per parallel work item: enough work to amortise scheduling, small enough to balance.</summary>
    private const int ChunkElements = 1 << 18;

    /// <summary>
    /// Quantizes <paramref name="inputPath"/> into <paramref name="outputPath"/>. Non-F32 inputs (F16, BF16, Q8_0, ...)
    /// are decoded to F32 first; tensors whose type does not change are copied byte for byte.
    /// </summary>
    /// <remarks>
    /// The output is written with <see cref="AtomicFile"/>: into a temporary <c>.NAME.tmp-*</c> file in the output's
    /// folder, flushed to disk, then renamed over <paramref name="outputPath"/>. An existing output is replaced only
    /// once the new one is complete; a failure or cancellation deletes the temporary file and leaves it untouched.
    /// A process killed with SIGKILL may leave the temporary file behind, never a partial output.
    /// </remarks>
    /// <param name="cancellationToken">Checked between tensors, while encoding and while writing; cancelling it before
    /// the final rename throws <see cref="OperationCanceledException"/> and writes nothing.</param>
    /// <returns>The plan that was written, in file order.</returns>
    /// <exception cref="GgufFormatException">The input is not a valid GGUF model.</exception>
    /// <exception cref="NotSupportedException">A chosen type (e.g. llama.cpp's Q5_0 fallback) cannot be encoded yet.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the output was not written.</exception>
    /// <param name="importance">An importance matrix (<see cref="ImportanceMatrix"/>), as llama-quantize's
    /// <c>--imatrix</c>: each weight it has an entry for is encoded with its per-column weights by the quantizers that
    /// take them, and the mix changes where llama.cpp's does. Weights it lacks are encoded without.</param>
    /// <exception cref="ImportanceMatrixRequiredException">The mix puts a tensor in an IQ1, IQ2 or IQ3_XXS type and
    /// <paramref name="importance"/> is null or has no entry for it (llama-quantize refuses too); nothing is written.</exception>
    /// <exception cref="ImportanceMatrixMismatchException">An entry's column count does not match its tensor, or a value is not finite.</exception>
    /// <exception cref="NonFiniteWeightException">A tensor to be re-encoded holds NaN or ±Inf; nothing was written.</exception>
    public static IReadOnlyList<TensorPlan> Quantize(string inputPath, string outputPath, LlamaFileType mix, IProgress<QuantizeProgress>? progress = null,
                                                     CancellationToken cancellationToken = default, ImportanceMatrix? importance = null)
    {
        if (Path.GetFullPath(inputPath) == Path.GetFullPath(outputPath))
            throw new ArgumentException($"the output '{outputPath}' must differ from the input: the input is memory-mapped while the output is written");
        using var input = GgufFile.Open(inputPath);
        return Quantize(input, outputPath, mix, progress, cancellationToken, importance);
    }

    /// <summary>As <see cref="Quantize(string, string, LlamaFileType, IProgress{QuantizeProgress}?, CancellationToken, ImportanceMatrix?)"/>,
    /// from a file already open (e.g. a Hugging Face folder opened as GGUF).</summary>
    public static IReadOnlyList<TensorPlan> Quantize(GgufFile input, string outputPath, LlamaFileType mix, IProgress<QuantizeProgress>? progress = null,
                                                     CancellationToken cancellationToken = default, ImportanceMatrix? importance = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var plan = QuantizationRecipe.Plan(input, mix, importance is not null);
        // llama-quantize refuses the whole run, before writing, when a tensor needs importance weights and there is no
        // matrix at all; with a matrix that lacks the tensor it fails when it reaches it. Both are checked up front here.
        if (importance is null && plan.FirstOrDefault(p => p.Target != p.Source.Type && QuantizationRecipe.RequiresImportance(p.Source.Name, p.Target)) is { } first)
            throw new ImportanceMatrixRequiredException(
                $"the {QuantizationRecipe.NameOf(mix)} mix puts tensor '{first.Source.Name}' in {first.Target}, which llama.cpp writes only with an importance matrix " +
                "(without one the result is garbage): make one with 'seek imatrix -m MODEL -f TEXT' and pass it with --imatrix");
        var weightsOf = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var p in plan)
        {
            if (p.Target == p.Source.Type) continue;
            float[]? weights = importance is null ? null : ImportanceFor(importance, p.Source);
            if (weights is null && QuantizationRecipe.RequiresImportance(p.Source.Name, p.Target))
                throw new ImportanceMatrixRequiredException(
                    $"the importance matrix has no entry for tensor '{p.Source.Name}', which the {QuantizationRecipe.NameOf(mix)} mix puts in {p.Target}: llama.cpp writes " +
                    $"{p.Target} only with importance weights. Was the matrix computed for this model?");
            if (weights is null && !TensorTypes.CanEncode(p.Target))
                throw new NotSupportedException(
                    $"tensor '{p.Source.Name}' needs {p.Target}{(p.FallbackFrom is { } f ? $" (llama.cpp's fallback for {f}: its rows of {p.Source.Shape[0]} are not whole {f} blocks)" : "")}, which SeekSharp cannot encode yet");
            if (weights is null) continue;
            if (!TensorTypes.CanEncodeWithImportance(p.Target))
                throw new NotSupportedException($"tensor '{p.Source.Name}' needs {p.Target}, which SeekSharp cannot encode with an importance matrix yet");
            weightsOf[p.Source.Name] = weights;
        }

        var writer = new GgufWriter(input.Version);
        foreach (var (key, value) in input.Metadata)
            writer.Set(key, value);
        writer.Set("general.quantization_version", QuantizationVersion);
        writer.Set("general.file_type", (uint)mix);

        for (int i = 0; i < plan.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var p = plan[i];
            ReadOnlyMemory<byte> data = p.Target == p.Source.Type ? input.GetTensorBytes(p.Source).ToArray()
                : Encode(input, p.Source, p.Target, weightsOf.GetValueOrDefault(p.Source.Name), cancellationToken);
            writer.AddTensor(p.Source.Name, p.Target, p.Source.Shape, data);
            progress?.Report(new QuantizeProgress(i + 1, plan.Count, p));
        }
        AtomicFile.Write(outputPath, writer.Write, cancellationToken);
        return plan;
    }

    // llama-quantize's lookup: the entry of the tensor's name, which must hold one weight per column per matrix (expert).
    // A mismatch means the matrix belongs to another model: llama.cpp fails, except for the token embedding.
    private static float[]? ImportanceFor(ImportanceMatrix importance, GgufTensorInfo t)
    {
        if (importance.ColumnWeights(t.Name) is not { } weights) return null;
        long expected = t.Shape[0] * (t.Shape.Length > 2 ? t.Shape[2] : 1);
        if (weights.Length != expected)
        {
            if (t.Name == "token_embd.weight") return null;
            throw new ImportanceMatrixMismatchException(
                $"the importance matrix has {weights.Length} values for tensor '{t.Name}' but the model's tensor has {t.Shape[0]} columns" +
                $"{(t.Shape.Length > 2 ? $" × {t.Shape[2]} experts" : "")} = {expected}: was it computed for another model?");
        }
        if (IndexOfNonFinite(weights) is >= 0 and int bad)
            throw new ImportanceMatrixMismatchException($"the importance matrix holds a non-finite value ({weights[bad]}) for tensor '{t.Name}'");
        return weights;
    }

    // Models run to gigabytes, so the common case is TensorPrimitives' vectorised test; the search runs only on the error path.
    private static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        if (TensorPrimitives.IsFiniteAll(values)) return -1;
        for (int i = 0; ; i++)
            if (!float.IsFinite(values[i])) return i;
    }

    // Decodes and re-encodes a tensor in chunks of whole rows, in parallel; each row is independent in every ggml type.
    // With an importance matrix, each row takes the weights of its matrix (expert i of a 3-D tensor: slice i).
    // Every decoded chunk is checked for NaN and ±Inf before it is encoded: a chunk that finds one breaks the loop,
    // which still completes every earlier chunk, so the smallest index found is the tensor's first bad weight.
    private static unsafe byte[] Encode(GgufFile input, GgufTensorInfo t, GgmlType target, float[]? importance, CancellationToken cancellationToken)
    {
        long cols = t.Shape[0];
        long rows = t.ElementCount / cols;
        long srcRowBytes = TensorTypes.RowBytes(t.Type, cols), dstRowBytes = TensorTypes.RowBytes(target, cols);
        var output = new byte[checked(dstRowBytes * rows)];
        byte* src = input.GetTensorPointer(t);
        int rowsPerChunk = (int)Math.Max(1, ChunkElements / cols);
        long chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
        var options = new ParallelOptions { CancellationToken = cancellationToken };
        (long Index, float Value) firstBad = (long.MaxValue, 0f);
        var badGate = new Lock();
        Parallel.For(0L, chunks, options, () => new float[rowsPerChunk * cols], (c, loop, floats) =>
        {
            long first = c * rowsPerChunk;
            int n = (int)Math.Min(rowsPerChunk, rows - first);
            var values = floats.AsSpan(0, (int)(n * cols));
            var from = new ReadOnlySpan<byte>(src + first * srcRowBytes, (int)(n * srcRowBytes));
            if (t.Type == GgmlType.F32) MemoryMarshal.Cast<byte, float>(from).CopyTo(values);
            else TensorTypes.Dequantize(t.Type, from, values);
            if (IndexOfNonFinite(values) is >= 0 and int bad)
            {
                lock (badGate)
                    if (first * cols + bad < firstBad.Index) firstBad = (first * cols + bad, values[bad]);
                loop.Break();
                return floats;
            }
            if (importance is null)
            {
                TensorTypes.Quantize(target, values, output.AsSpan((int)(first * dstRowBytes), (int)(n * dstRowBytes)));
            }
            else
            {
                long rowsPerMatrix = t.Shape[1];
                for (int r = 0; r < n; r++)
                {
                    long matrix = (first + r) / rowsPerMatrix;
                    TensorTypes.Quantize(target, values.Slice((int)(r * cols), (int)cols), output.AsSpan((int)((first + r) * dstRowBytes), (int)dstRowBytes),
                                         importance.AsSpan((int)(matrix * cols), (int)cols));
                }
            }
            return floats;
        }, _ => { });
        if (firstBad.Index != long.MaxValue)
            throw new NonFiniteWeightException(input.Path, t.Name, firstBad.Index / cols, firstBad.Index % cols, firstBad.Value);
        return output;
    }
}
