using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Models.Blocks;

/// <summary>
/// A weight matrix [Rows = out features, Cols = in features] left in the memory-mapped GGUF file, in its stored type.
/// GGUF lists the shape innermost first, so the tensor's shape is {Cols, Rows}. A matrix applied on its own may instead
/// be a part-major copy (<see cref="ToPartMajor"/>).
/// </summary>
internal readonly unsafe struct Linear
{
    public readonly byte* Data;
    public readonly GgmlType Type;
    public readonly int Rows;
    public readonly int Cols;
    /// <summary>Whether <see cref="Data"/> is stored part-major (<see cref="MatMul.StorePartMajor"/>) in <see cref="_copy"/>.</summary>
    public readonly bool PartMajor;
    private readonly byte[]? _copy;   // keeps the pinned part-major copy alive as long as the matrix

    public Linear(byte* data, GgmlType type, int rows, int cols)
    {
        Data = data; Type = type; Rows = rows; Cols = cols;
    }

    private Linear(byte[] pinnedCopy, GgmlType type, int rows, int cols)
    {
        _copy = pinnedCopy;
        Data = (byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(pinnedCopy));
        Type = type; Rows = rows; Cols = cols; PartMajor = true;
    }

    /// <summary>
    /// This matrix copied part-major where <see cref="MatMul.CanStorePartMajor"/> (long rows of Q4_K or Q6_K, with 512-bit
    /// vectors), else itself: for a matrix that is only applied on its own (<see cref="Apply"/>), such as an FFN's down
    /// projection, whose rows the products of eight or more tokens sweep in parts. Read part-major, each group of rows
    /// streams front to back instead of as one short run per row and part: the eight-token step of R1-Distill-Qwen-1.5B's
    /// shape (Q4_K_M, 2 threads, AVX-512) took 5 % less. The copy is the matrix's size again, in memory of the process;
    /// the file's pages it came from are no longer read (<see cref="WeightReader.MatrixAppliedAlone"/> releases them).
    /// </summary>
    public Linear ToPartMajor()
    {
        if (!MatMul.CanStorePartMajor(Type, Cols))
            return this;
        long bytes = Rows * TensorTypes.RowBytes(Type, Cols);
        var copy = GC.AllocateUninitializedArray<byte>(checked((int)bytes), pinned: true);
        var stored = new Linear(copy, Type, Rows, Cols);
        MatMul.StorePartMajor(Type, Data, stored.Data, Rows, Cols);
        return stored;
    }

    /// <summary>An F32 matrix [rows, cols] over <paramref name="pinned"/>, which must be pinned (allocated with
    /// <c>GC.AllocateArray(pinned: true)</c>) and stay referenced by the caller as long as the matrix is used: a pinned
    /// array is still collected once unreachable, and this struct holds only its address.</summary>
    public static Linear OverPinned(float[] pinned, int rows, int cols)
    {
        System.Diagnostics.Debug.Assert(pinned.Length == (long)rows * cols);
        return new Linear((byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(pinned)), GgmlType.F32, rows, cols);
    }

    /// <summary>y[T, Rows] = x[T, Cols] · Wᵀ, rows shared among the threads of <paramref name="pool"/>.</summary>
    public void Apply(ReadOnlySpan<float> x, Span<float> y, int tokens, WorkerPool pool)
    {
        if (PartMajor)
            MatMul.MatMulRowsPartMajor(Type, Data, Rows, Cols, x[..(tokens * Cols)], y[..(tokens * Rows)], tokens, pool);
        else
            MatMul.MatMulRows(Type, Data, Rows, Cols, x[..(tokens * Cols)], y[..(tokens * Rows)], tokens, pool);
    }

    /// <summary>
    /// Two or three matrices of the same input width applied to one input (query, key and value; gate and up), as
    /// <see cref="Apply"/> each, bit for bit, with the input converted once and one parallel loop for all their rows
    /// (<see cref="MatMul.MatMulRowsShared"/>). <paramref name="c"/> is optional (<c>default</c>).
    /// </summary>
    public static void ApplyShared(ReadOnlySpan<float> x, int tokens, WorkerPool pool, Linear a, Span<float> ya, Linear b, Span<float> yb,
        Linear c = default, Span<float> yc = default)
    {
        int cols = a.Cols;
        if (a.PartMajor || b.PartMajor || c.PartMajor)
            throw new ArgumentException("matrices applied to one input are read row-major; a part-major matrix is applied on its own");
        if (b.Cols != cols || (c.Data != null && c.Cols != cols))
            throw new ArgumentException($"matrices applied to one input must share its width: {a.Cols}, {b.Cols}{(c.Data != null ? $", {c.Cols}" : "")}");
        if (ya.Length < tokens * a.Rows || yb.Length < tokens * b.Rows || (c.Data != null && yc.Length < tokens * c.Rows))
            throw new ArgumentException("an output is shorter than its matrix's rows times the tokens");
        fixed (float* pa = ya, pb = yb, pc = yc)
        {
            MatMul.MatMulRowsShared(x[..(tokens * cols)], tokens, cols, pool,
                new MatMul.Product(a.Type, a.Data, a.Rows, pa), new MatMul.Product(b.Type, b.Data, b.Rows, pb),
                c.Data == null ? default : new MatMul.Product(c.Type, c.Data, c.Rows, pc));
        }
    }

    /// <summary>y[T, Rows] = x[T, Cols] · Wᵀ on the calling thread.</summary>
    public void ApplyOnThisThread(ReadOnlySpan<float> x, Span<float> y, int tokens)
    {
        if (PartMajor)
            throw new InvalidOperationException("a part-major matrix is applied with a pool (Apply)");
        MatMul.MatMulRowsOnThisThread(Type, Data, Rows, Cols, x[..(tokens * Cols)], y[..(tokens * Rows)], tokens);
    }

    /// <summary>The matrix as floats [Rows, Cols] (for weights that must be rearranged at load).</summary>
    public float[] ToFloats()
    {
        var values = new float[(long)Rows * Cols];
        for (int r = 0; r < Rows; r++)
            ReadRow(r, values.AsSpan(r * Cols, Cols));
        return values;
    }

    /// <summary>Copies row <paramref name="row"/> out as floats (used for embedding look-up).</summary>
    public void ReadRow(int row, Span<float> dst)
    {
        long rowBytes = TensorTypes.RowBytes(Type, Cols);
        if (PartMajor)
        {
            var bytes = new byte[rowBytes];
            MatMul.ReadPartMajorRow(Type, Data, Rows, Cols, row, bytes);
            TensorTypes.Dequantize(Type, bytes, dst[..Cols]);
            return;
        }
        TensorTypes.Dequantize(Type, new ReadOnlySpan<byte>(Data + row * rowBytes, checked((int)rowBytes)), dst[..Cols]);
    }
}

/// <summary>
/// A 3-D tensor of the file read as <see cref="Count"/> matrices of one shape, back to back: the routed experts of a
/// block ({Cols, Rows, E} in GGUF order), or MLA's per-head k_b / v_b. Only the matrices used are ever touched, so a
/// token reads only its chosen experts' weights.
/// </summary>
internal readonly unsafe struct LinearStack
{
    public readonly byte* Data;
    public readonly GgmlType Type;
    public readonly int Count, Rows, Cols;
    private readonly long _matrixBytes; // from one matrix to the next: its size, unless they are interleaved with others

    public LinearStack(byte* data, GgmlType type, int count, int rows, int cols, long matrixStrideBytes = 0)
    {
        Data = data; Type = type; Count = count; Rows = rows; Cols = cols;
        _matrixBytes = matrixStrideBytes > 0 ? matrixStrideBytes : rows * TensorTypes.RowBytes(type, cols);
    }

    /// <summary>F32 matrices [count][rows, cols] over <paramref name="pinned"/> (see <see cref="Linear.OverPinned"/>).</summary>
    public static LinearStack OverPinned(float[] pinned, int count, int rows, int cols) =>
        new(Linear.OverPinned(pinned, count * rows, cols).Data, GgmlType.F32, count, rows, cols);

    /// <summary>Matrix <paramref name="i"/> [Rows, Cols].</summary>
    public Linear this[int i] => new(Data + i * _matrixBytes, Type, Rows, Cols);
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

    /// <summary>
    /// A matrix that the model applies only on its own (<see cref="Linear.Apply"/>): copied part-major where that reads
    /// faster (<see cref="Linear.ToPartMajor"/>), the file's pages it came from then released from the process's memory.
    /// </summary>
    public unsafe Linear MatrixAppliedAlone(TensorKind kind, int layer = -1)
    {
        var mapped = Matrix(kind, layer);
        var stored = mapped.ToPartMajor();
        if (stored.PartMajor)
            File.ReleaseTensorPages(Require(TensorNames.Of(kind, layer)));
        return stored;
    }

    /// <summary>A 3-D tensor as a stack of matrices (<see cref="ModelConfig.StackOf"/> of <see cref="ModelConfig.ShapeOf"/>), mapped in place.</summary>
    public unsafe LinearStack Stack(TensorKind kind, int layer)
    {
        var (rows, cols) = config.ShapeOf(kind);
        int count = config.StackOf(kind);
        var t = Require(TensorNames.Of(kind, layer));
        ExpectShape(t, cols, rows, count);
        return new LinearStack(File.GetTensorPointer(t), t.Type, count, rows, cols);
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
