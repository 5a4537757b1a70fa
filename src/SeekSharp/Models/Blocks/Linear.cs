using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Models.Blocks;

/// <summary>
/// A weight matrix [Rows = out features, Cols = in features] left in the memory-mapped GGUF file, in its stored type.
/// GGUF lists the shape innermost first, so the tensor's shape is {Cols, Rows}.
/// </summary>
internal readonly unsafe struct Linear
{
    public readonly byte* Data;
    public readonly GgmlType Type;
    public readonly int Rows;
    public readonly int Cols;

    public Linear(byte* data, GgmlType type, int rows, int cols)
    {
        Data = data; Type = type; Rows = rows; Cols = cols;
    }

    /// <summary>y[T, Rows] = x[T, Cols] · Wᵀ, rows shared among the threads of <paramref name="pool"/>.</summary>
    public void Apply(ReadOnlySpan<float> x, Span<float> y, int tokens, WorkerPool pool)
        => MatMul.MatMulRows(Type, Data, Rows, Cols, x[..(tokens * Cols)], y[..(tokens * Rows)], tokens, pool);

    /// <summary>Copies row <paramref name="row"/> out as floats (used for embedding look-up).</summary>
    public void ReadRow(int row, Span<float> dst)
    {
        long rowBytes = TensorTypes.RowBytes(Type, Cols);
        TensorTypes.Dequantize(Type, new ReadOnlySpan<byte>(Data + row * rowBytes, checked((int)rowBytes)), dst[..Cols]);
    }
}

/// <summary>Looks up tensors by role (<see cref="TensorNames"/>) and checks their shapes against the config
/// (<see cref="ModelConfig.ShapeOf"/>), so a mismatched file fails at load with the tensor's name.</summary>
internal sealed class WeightReader(GgufFile file, ModelConfig config)
{
    public GgufFile File { get; } = file;

    public bool Has(TensorKind kind, int layer = -1) => File.FindTensor(TensorNames.Of(kind, layer)) is not null;

    /// <summary>A matrix, mapped in place (any tensor type).</summary>
    public unsafe Linear Matrix(TensorKind kind, int layer = -1)
    {
        var (rows, cols) = config.ShapeOf(kind);
        var t = Require(TensorNames.Of(kind, layer));
        ExpectShape(t, cols, rows);
        return new Linear(File.GetTensorPointer(t), t.Type, rows, cols);
    }

    /// <summary>A 1-D tensor (norm weight, bias, frequency factors) dequantized to floats; these are small.</summary>
    public float[] Vector(TensorKind kind, int layer = -1)
    {
        int length = config.ShapeOf(kind).Cols;
        var t = Require(TensorNames.Of(kind, layer));
        ExpectShape(t, length);
        var values = new float[length];
        TensorTypes.Dequantize(t.Type, File.GetTensorBytes(t), values);
        return values;
    }

    public float[]? OptionalVector(TensorKind kind, int layer = -1) => Has(kind, layer) ? Vector(kind, layer) : null;

    private GgufTensorInfo Require(string name)
        => File.FindTensor(name) ?? throw new ModelLoadException(File.Path, $"tensor '{name}' is missing");

    private void ExpectShape(GgufTensorInfo t, params long[] expected)
    {
        if (!t.Shape.AsSpan().SequenceEqual(expected))
            throw new ModelLoadException(File.Path,
                $"tensor '{t.Name}' has shape [{string.Join(", ", t.Shape)}] but the metadata implies [{string.Join(", ", expected)}] (innermost first)");
    }
}
