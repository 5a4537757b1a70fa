using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels;

/// <summary>
/// What the kernels and tools know about one ggml type, in one row: ggml's <c>type_traits</c> (block size, bytes per
/// block, dequantize, reference quantize) and <c>type_traits_cpu</c> (the activation type of the dot, the dot), plus
/// our batched dots. <see cref="MatMul"/>, <see cref="TensorTypes"/> and the GEMM's weight packing read this table and
/// nothing else, so a new type is one file in Quants/ and one row in <see cref="Build"/>.
/// </summary>
/// <remarks>
/// Dots take whole blocks of the weight row (elements, for F32, F16 and BF16) against an activation row already
/// converted to <see cref="DotType"/>. The four-, two-row and eight-token dots must give each output the single
/// <see cref="Dot"/>'s bits, so that how a batch is split never changes a result.
/// </remarks>
internal sealed unsafe class TypeTraits
{
    /// <summary>The type this row describes.</summary>
    public required GgmlType Type { get; init; }

    /// <summary>Elements per block (1 for F32, F16 and BF16).</summary>
    public required int BlockSize { get; init; }

    /// <summary>Bytes per block.</summary>
    public required int BlockBytes { get; init; }

    /// <summary>
    /// The type the activation is converted to before the dot (ggml's vec_dot_type): F32, F16 or BF16 (kept as floats
    /// rounded to half or bfloat16 values), Q8_0, Q8_1 or Q8_K.
    /// </summary>
    public required GgmlType DotType { get; init; }

    /// <summary>Decodes whole blocks, bit for bit as ggml's dequantize_row_*.</summary>
    public required delegate*<ReadOnlySpan<byte>, Span<float>, void> Dequantize { get; init; }

    /// <summary>Encodes whole blocks as ggml's reference quantizer does; null where SeekSharp cannot write the type.</summary>
    public delegate*<ReadOnlySpan<float>, Span<byte>, void> Quantize { get; init; }

    /// <summary>
    /// Encodes one row as ggml's quantizer does with an importance matrix (quantize_row_*_impl with quant_weights):
    /// (row, importance of each of its columns, output). Null where SeekSharp has no such quantizer.
    /// </summary>
    public delegate*<ReadOnlySpan<float>, ReadOnlySpan<float>, Span<byte>, void> QuantizeWeighted { get; init; }

    /// <summary>Whether ggml's quantizer of this type ignores an importance matrix (F32, F16, BF16, Q8_0), so
    /// <see cref="Quantize"/> serves with or without one.</summary>
    public bool IgnoresImportance { get; init; }

    /// <summary>Weight row · activation row over <c>blocks</c> blocks.</summary>
    public required delegate*<byte*, byte*, int, SimdTier, float> Dot { get; init; }

    /// <summary>One weight row against four activation rows <c>x + t·xStride</c>, into <c>y[t·yStride]</c>; or null.</summary>
    public delegate*<byte*, byte*, long, int, float*, long, SimdTier, void> Dot4 { get; init; }

    /// <summary>Two weight rows (<c>w</c>, <c>w + wStride</c>) against four activation rows, 512-bit vectors only; or null.</summary>
    public delegate*<byte*, long, byte*, long, int, float*, long, SimdTier, void> Dot2x4 { get; init; }

    /// <summary>One weight row, or a part of it (<see cref="EightTokenPart"/>), against eight activation rows (Q8_K) and
    /// their <see cref="Q8_K.BuildEightTokenTable"/>, 512-bit vectors only; or null.</summary>
    public delegate*<byte*, byte*, long, byte*, int, float*, EightTokenPart, float*, long, SimdTier, void> Dot8 { get; init; }

    /// <summary>The one- or four-token dot over a part of a row, each token's running sums in a state of
    /// <see cref="MatMul.PartStateFloats"/> floats (<see cref="EightTokenPart"/>), 512-bit vectors only; or null. With <see cref="Dot8"/> and
    /// <see cref="DotsForBatches"/>, it lets the type's long rows be stored part-major (<see cref="MatMul.CanStorePartMajor"/>).</summary>
    public delegate*<byte*, byte*, long, int, int, float*, EightTokenPart, float*, long, void> DotPart { get; init; }

    /// <summary>Rearranges the converted activation blocks in place for this type's dots (Q4_K's 512-bit order); or null.</summary>
    public delegate*<byte*, int, SimdTier, void> PrepareActivation { get; init; }

    /// <summary>
    /// Whether batches of any size keep the integer dots instead of the float GEMM on decoded weights (see
    /// <see cref="MatMul"/>): true where the dots are as fast, or where the GEMM would round differently.
    /// </summary>
    public bool DotsForBatches { get; init; }

    /// <summary>Whether the dot's activation is quantized (Q8_0, Q8_1 or Q8_K) rather than floats.</summary>
    public bool ActivationIsQuantized => DotType is GgmlType.Q8_0 or GgmlType.Q8_1 or GgmlType.Q8_K;

    private static readonly TypeTraits?[] Table = Build();

    /// <summary>The row of <paramref name="type"/>, or null if SeekSharp cannot read it.</summary>
    public static TypeTraits? Find(GgmlType type) => (uint)type < (uint)Table.Length ? Table[(int)type] : null;

    /// <summary>The row of <paramref name="type"/>.</summary>
    /// <exception cref="NotSupportedException">SeekSharp cannot read the type.</exception>
    public static TypeTraits For(GgmlType type) => Find(type) ?? throw TensorTypes.Unsupported(type);

    /// <summary>The types SeekSharp reads, in ggml's id order.</summary>
    public static IEnumerable<GgmlType> Supported => Table.Where(t => t is not null).Select(t => t!.Type);

    private static TypeTraits?[] Build()
    {
        TypeTraits[] rows =
        [
            new()
            {
                Type = GgmlType.F32, BlockSize = 1, BlockBytes = sizeof(float), DotType = GgmlType.F32,
                Dequantize = &DequantizeF32, Quantize = &QuantizeF32, IgnoresImportance = true, Dot = &DotF32,
            },
            new()
            {
                Type = GgmlType.F16, BlockSize = 1, BlockBytes = F16.BlockBytes, DotType = GgmlType.F16,
                Dequantize = &F16.Dequantize, Quantize = &F16.Quantize, IgnoresImportance = true, Dot = &DotF16, Dot4 = &Dot4F16,
            },
            new()
            {
                Type = GgmlType.BF16, BlockSize = 1, BlockBytes = BF16.BlockBytes, DotType = GgmlType.BF16,
                Dequantize = &BF16.Dequantize, Quantize = &BF16.Quantize, IgnoresImportance = true, Dot = &DotBF16,
            },
            new()
            {
                Type = GgmlType.Q8_0, BlockSize = Q8_0.BlockSize, BlockBytes = Q8_0.BlockBytes, DotType = GgmlType.Q8_0,
                Dequantize = &Q8_0.Dequantize, Quantize = &Q8_0.QuantizeReference, IgnoresImportance = true, Dot = &Q8_0.Dot, Dot4 = &Q8_0.Dot4,
            },
            new()
            {
                Type = GgmlType.Q4_0, BlockSize = Q4_0.BlockSize, BlockBytes = Q4_0.BlockBytes, DotType = GgmlType.Q8_0,
                Dequantize = &Q4_0.Dequantize, Quantize = &Q4_0.QuantizeReference, QuantizeWeighted = &Q4_0.QuantizeWeighted, Dot = &Q4_0.Dot, Dot4 = &Q4_0.Dot4,
            },
            new()
            {
                // The dot takes the offsets' share from Q8_1's block sum s, rounded to half, which a GEMM on decoded
                // values would not see: batches keep the dots (Q4_1 and Q5_1 are the rare fallback types of a few tensors).
                Type = GgmlType.Q4_1, BlockSize = Q4_1.BlockSize, BlockBytes = Q4_1.BlockBytes, DotType = GgmlType.Q8_1,
                Dequantize = &Q4_1.Dequantize, Quantize = &Q4_1.QuantizeReference, QuantizeWeighted = &Q4_1.QuantizeWeighted, Dot = &Q4_1.Dot, Dot4 = &Q4_1.Dot4,
                DotsForBatches = true,
            },
            new()
            {
                Type = GgmlType.Q5_0, BlockSize = Q5_0.BlockSize, BlockBytes = Q5_0.BlockBytes, DotType = GgmlType.Q8_0,
                Dequantize = &Q5_0.Dequantize, Quantize = &Q5_0.QuantizeReference, QuantizeWeighted = &Q5_0.QuantizeWeighted, Dot = &Q5_0.Dot, Dot4 = &Q5_0.Dot4,
            },
            new()
            {
                Type = GgmlType.Q5_1, BlockSize = Q5_1.BlockSize, BlockBytes = Q5_1.BlockBytes, DotType = GgmlType.Q8_1,
                Dequantize = &Q5_1.Dequantize, Quantize = &Q5_1.QuantizeReference, QuantizeWeighted = &Q5_1.QuantizeWeighted, Dot = &Q5_1.Dot, Dot4 = &Q5_1.Dot4,
                DotsForBatches = true,
            },
            new()
            {
                Type = GgmlType.Q2_K, BlockSize = Q8_K.BlockSize, BlockBytes = Q2_K.BlockBytes, DotType = GgmlType.Q8_K,
                Dequantize = &Q2_K.Dequantize, Quantize = &Q2_K.QuantizeReference, QuantizeWeighted = &Q2_K.QuantizeWeighted, Dot = &Q2_K.Dot, Dot4 = &Q2_K.Dot4,
            },
            new()
            {
                Type = GgmlType.Q3_K, BlockSize = Q8_K.BlockSize, BlockBytes = Q3_K.BlockBytes, DotType = GgmlType.Q8_K,
                Dequantize = &Q3_K.Dequantize, Quantize = &Q3_K.QuantizeReference, QuantizeWeighted = &Q3_K.QuantizeWeighted, Dot = &Q3_K.Dot, Dot4 = &Q3_K.Dot4,
            },
            new()
            {
                // Q4_K and Q6_K keep their integer dots at every batch size: they run as fast as the float GEMM on
                // decoded weights (whose decoding costs more), and they give llama.cpp's bits.
                Type = GgmlType.Q4_K, BlockSize = Q8_K.BlockSize, BlockBytes = Q4_K.BlockBytes, DotType = GgmlType.Q8_K,
                Dequantize = &Q4_K.Dequantize, Quantize = &Q4_K.QuantizeReference, QuantizeWeighted = &Q4_K.QuantizeWeighted, Dot = &Q4_K.Dot, Dot4 = &Q4_K.Dot4,
                Dot2x4 = &Q4_K.Dot2x4, Dot8 = &Q4_K.Dot8, DotPart = &Q4_K.DotPart, PrepareActivation = &Q4_K.PrepareActivation, DotsForBatches = true,
            },
            new()
            {
                Type = GgmlType.Q5_K, BlockSize = Q8_K.BlockSize, BlockBytes = Q5_K.BlockBytes, DotType = GgmlType.Q8_K,
                Dequantize = &Q5_K.Dequantize, Quantize = &Q5_K.QuantizeReference, QuantizeWeighted = &Q5_K.QuantizeWeighted, Dot = &Q5_K.Dot, Dot4 = &Q5_K.Dot4,
                Dot2x4 = &Q5_K.Dot2x4, Dot8 = &Q5_K.Dot8, PrepareActivation = &AffineKDot.PrepareActivation,
            },
            new()
            {
                Type = GgmlType.Q6_K, BlockSize = Q8_K.BlockSize, BlockBytes = Q6_K.BlockBytes, DotType = GgmlType.Q8_K,
                Dequantize = &Q6_K.Dequantize, Quantize = &Q6_K.QuantizeReference, QuantizeWeighted = &Q6_K.QuantizeWeighted, Dot = &Q6_K.Dot, Dot4 = &Q6_K.Dot4,
                Dot2x4 = &Q6_K.Dot2x4, Dot8 = &Q6_K.Dot8, DotPart = &Q6_K.DotPart, DotsForBatches = true,
            },
            new()
            {
                Type = GgmlType.IQ4_NL, BlockSize = IQ4_NL.BlockSize, BlockBytes = IQ4_NL.BlockBytes, DotType = GgmlType.Q8_0,
                Dequantize = &IQ4_NL.Dequantize, Quantize = &IQ4_NL.QuantizeReference, QuantizeWeighted = &IQ4_NL.QuantizeWeighted, Dot = &IQ4_NL.Dot, Dot4 = &IQ4_NL.Dot4,
            },
            new()
            {
                Type = GgmlType.IQ4_XS, BlockSize = Q8_K.BlockSize, BlockBytes = IQ4_XS.BlockBytes, DotType = GgmlType.Q8_K,
                Dequantize = &IQ4_XS.Dequantize, Quantize = &IQ4_XS.QuantizeReference, QuantizeWeighted = &IQ4_XS.QuantizeWeighted, Dot = &IQ4_XS.Dot, Dot4 = &IQ4_XS.Dot4,
            },
            new()
            {
                // ggml's IQ2_XXS and IQ2_XS quantizers require an importance matrix: no Quantize, only QuantizeWeighted.
                Type = GgmlType.IQ2_XXS, BlockSize = Q8_K.BlockSize, BlockBytes = IQ2_XXS.BlockBytes, DotType = GgmlType.Q8_K,
                Dequantize = &IQ2_XXS.Dequantize, QuantizeWeighted = &IQ2_XXS.QuantizeWeighted, Dot = &IQ2_XXS.Dot, Dot4 = &IQ2_XXS.Dot4,
            },
            new()
            {
                Type = GgmlType.IQ2_XS, BlockSize = Q8_K.BlockSize, BlockBytes = IQ2_XS.BlockBytes, DotType = GgmlType.Q8_K,
                Dequantize = &IQ2_XS.Dequantize, QuantizeWeighted = &IQ2_XS.QuantizeWeighted, Dot = &IQ2_XS.Dot, Dot4 = &IQ2_XS.Dot4,
            },
            new()
            {
                Type = GgmlType.IQ2_S, BlockSize = Q8_K.BlockSize, BlockBytes = IQ2_S.BlockBytes, DotType = GgmlType.Q8_K,
                Dequantize = &IQ2_S.Dequantize, Quantize = &IQ2_S.QuantizeReference, QuantizeWeighted = &IQ2_S.QuantizeWeighted, Dot = &IQ2_S.Dot, Dot4 = &IQ2_S.Dot4,
            },
            new()
            {
                // ggml's IQ1_S quantizer requires an importance matrix; IQ1_M's takes one or not. No Dot4; both have
                // AVX2 dots.
                Type = GgmlType.IQ1_S, BlockSize = Q8_K.BlockSize, BlockBytes = IQ1_S.BlockBytes, DotType = GgmlType.Q8_K,
                Dequantize = &IQ1_S.Dequantize, QuantizeWeighted = &IQ1_S.QuantizeWeighted, Dot = &IQ1_S.Dot,
            },
            new()
            {
                Type = GgmlType.IQ1_M, BlockSize = Q8_K.BlockSize, BlockBytes = IQ1_M.BlockBytes, DotType = GgmlType.Q8_K,
                Dequantize = &IQ1_M.Dequantize, Quantize = &IQ1_M.QuantizeReference, QuantizeWeighted = &IQ1_M.QuantizeWeighted, Dot = &IQ1_M.Dot,
            },
            new()
            {
                Type = GgmlType.IQ3_XXS, BlockSize = Q8_K.BlockSize, BlockBytes = IQ3_XXS.BlockBytes, DotType = GgmlType.Q8_K,
                Dequantize = &IQ3_XXS.Dequantize, Quantize = &IQ3_XXS.QuantizeReference, QuantizeWeighted = &IQ3_XXS.QuantizeWeighted, Dot = &IQ3_XXS.Dot, Dot4 = &IQ3_XXS.Dot4,
            },
            new()
            {
                Type = GgmlType.IQ3_S, BlockSize = Q8_K.BlockSize, BlockBytes = IQ3_S.BlockBytes, DotType = GgmlType.Q8_K,
                Dequantize = &IQ3_S.Dequantize, Quantize = &IQ3_S.QuantizeReference, QuantizeWeighted = &IQ3_S.QuantizeWeighted, Dot = &IQ3_S.Dot, Dot4 = &IQ3_S.Dot4,
            },
        ];
        var table = new TypeTraits?[rows.Max(r => (int)r.Type) + 1];
        foreach (var row in rows)
        {
            table[(int)row.Type] = row;
        }
        return table;
    }

    // F32, F16 and BF16 count elements, not blocks, and their activations are floats.
    private static void DequantizeF32(ReadOnlySpan<byte> src, Span<float> dst) => src.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(dst));

    private static void QuantizeF32(ReadOnlySpan<float> src, Span<byte> dst) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(src).CopyTo(dst);

    private static float DotF32(byte* w, byte* x, int n, SimdTier tier) => VectorOps.Dot((float*)w, (float*)x, n, tier);

    private static float DotF16(byte* w, byte* x, int n, SimdTier tier) => F16.Dot((ushort*)w, (float*)x, n, tier);

    private static float DotBF16(byte* w, byte* x, int n, SimdTier tier) => BF16.Dot((ushort*)w, (float*)x, n, tier);

    private static void Dot4F16(byte* w, byte* x, long xStride, int n, float* y, long yStride, SimdTier tier) =>
        F16.Dot4((ushort*)w, (float*)x, xStride / sizeof(float), n, y, yStride, tier);
}
