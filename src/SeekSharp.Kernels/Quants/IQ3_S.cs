using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_IQ3_S: super-blocks of 256 weights in 8 sub-blocks of 32, each in 4 groups of 8; 110 bytes each
/// (ggml-common.h block_iq3_s):
/// <code>
/// offset   0  ushort d          super-block scale, IEEE half
/// offset   2  byte   qs[64]     low 8 bits of the grid indices: qs[8ib + k] gives elements 32ib + 4k + 0..3
/// offset  66  byte   qh[8]      bit k of qh[ib] is bit 8 of index 8ib + k (Iq3Grids.Iq3sGrid has 512 entries)
/// offset  74  byte   signs[32]  bit j of signs[4ib + l] negates element 32ib + 8l + j (all eight bits stored)
/// offset 106  byte   scales[4]  nibble ib % 2 of scales[ib / 2]: 4-bit scale s of sub-block ib
/// value = (d·(1 + 2s))·magnitude·(sign bit ? −1 : 1)
/// </code>
/// Its vec_dot_type is Q8_K. llama-quantize's IQ3_S and IQ3_M mixes use it. 
/// <see cref="QuantizeReference"/> and <see cref="QuantizeWeighted"/> are ggml's quantize_iq3_s without and with an
/// importance matrix.
/// </summary>
internal static class IQ3_S
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 110;
    private const int QsOffset = 2;
    private const int QhOffset = 66;
    private const int SignsOffset = 74;
    private const int ScalesOffset = 106;

    /// <summary>Grid entry of index k (0..63) of the block: the qs byte plus the qh bit as bit 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint GridEntry(uint[] grid, byte qs, byte qh, int k) => grid[qs | (((qh >> (k & 7)) & 1) << 8)];

    /// <summary>What llama-quantize writes without an importance matrix (quantize_iq3_s with no quant_weights): the fit
    /// weighs each weight by x².</summary>
    public static void QuantizeReference(ReadOnlySpan<float> src, Span<byte> dst) => Quantize(src, default, dst);

    /// <summary>quantize_iq3_s with quant_weights, one row: each weight weighs <c>importance·sqrt(σ² + x²)</c>, σ² twice
    /// the super-block's mean square.</summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst) => Quantize(src, columnWeights, dst);

    /// <summary>
    /// quantize_row_iq3_s_impl (sub-blocks of 32): all eight signs stored, so no parity fold;
    /// <see cref="IqGridFit.SearchScale"/> over 19 candidates (steps of 0.2) with 4-level groups on the 512-point
    /// codebook, every group placed again at the winning scale; <c>d = maxScale/31</c> stored times 1.033 (ggml's
    /// fudge factor), each sub-block's scale as a 4-bit code.
    /// </summary>
    private static void Quantize(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes);
        IqLattice lattice = IqLattice.Iq3S;
        Span<float> weights = stackalloc float[32], waux = stackalloc float[32], xval = stackalloc float[32], scales = stackalloc float[8];
        Span<sbyte> levels = stackalloc sbyte[32];
        Span<byte> signs = stackalloc byte[4];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);
            block.Clear();
            float maxScale = 0f;
            float sigma2 = 2 * WeightedFits.SumOfSquares(x) / BlockSize;
            // ggml advances its qs and signs cursors only past sub-blocks it encodes: after an all-zero sub-block the
            // next one's grid bytes and signs land in the zero one's slots (qh and scales are indexed by sub-block).
            // Readers then decode shifted groups; the bytes are llama-quantize's, so they are written the same way.
            int qsAt = QsOffset, signsAt = SignsOffset;
            for (int ib = 0; ib < 8; ib++)
            {
                ReadOnlySpan<float> xb = x.Slice(32 * ib, 32);
                IqGridFit.Weights(xb, columnWeights.IsEmpty ? default : columnWeights.Slice(b * BlockSize + 32 * ib, 32), sigma2, weights);
                IqGridFit.SquareRoots(weights, waux);
                IqGridFit.FoldSigns(xb, weights, xval, signs, evenParity: false);
                float max = IqGridFit.Max(xval);
                levels.Clear();
                if (max == 0f)
                {
                    scales[ib] = 0f;
                    continue;
                }
                float scale = IqGridFit.SearchScale(lattice, xval, weights, waux, max, maxQ: 8, steps: 9, stepSize: 0.2f,
                                                    startOnGrid: false, refineAll: true, levels);
                Debug.Assert(scale >= 0);
                for (int k = 0; k < 8; k++)
                {
                    int index = IqGridFit.IndexOf(lattice, levels.Slice(4 * k, 4));
                    block[qsAt + k] = (byte)index;
                    block[QhOffset + ib] |= (byte)((index >> 8) << k);
                }
                qsAt += 8;
                signs.CopyTo(block[signsAt..]);
                signsAt += 4;
                scales[ib] = scale;
                maxScale = MathF.Max(maxScale, scale);
            }
            // An all-zero super-block keeps d = 0 and whatever groups were written, as ggml leaves them.
            if (maxScale == 0f) continue;
            float d = maxScale / 31;
            MemoryMarshal.Write(block, F16.FromSingle(d * 1.033f));
            float id = 1 / d;
            for (int ib = 0; ib < 8; ib += 2)
            {
                block[ScalesOffset + ib / 2] = (byte)(IqGridFit.ScaleCode(scales[ib], id, 15) | IqGridFit.ScaleCode(scales[ib + 1], id, 15) << 4);
            }
        }
    }

    /// <summary>
    /// dequantize_row_iq3_s: the sub-block scale <c>db = d·(1 + 2s)</c> rounded to float once, then each value
    /// <c>db·magnitude</c> with its sign applied (exact).
    /// </summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        uint[] grid = Iq3Grids.Iq3sGrid;
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            for (int ib = 0; ib < 8; ib++)
            {
                float db = d * (1 + 2 * ((block[ScalesOffset + ib / 2] >> (4 * (ib % 2))) & 0xF));
                byte qh = block[QhOffset + ib];
                for (int l = 0; l < 4; l++)
                {
                    int signs = block[SignsOffset + 4 * ib + l];
                    uint g1 = GridEntry(grid, block[QsOffset + 8 * ib + 2 * l], qh, 2 * l);
                    uint g2 = GridEntry(grid, block[QsOffset + 8 * ib + 2 * l + 1], qh, 2 * l + 1);
                    Span<float> yg = y.Slice(32 * ib + 8 * l, 8);
                    IqGroup.Decode(yg, db, IqGroup.Pair(g1, g2), signs);
                }
            }
        }
    }

    /// <summary>
    /// IQ3_S row · Q8_K activation over <paramref name="blocks"/> super-blocks: the lanes and float steps of
    /// <see cref="IqDot{T}"/> with the odd scale 1 + 2s (unit 1).
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier) => IqDot<Layout>.Dot(w, x, blocks, tier);

    /// <summary><see cref="Dot"/> of one weight row with four activation rows; see <see cref="IqDot{T}.Dot4"/>.</summary>
    public static unsafe void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier) =>
        IqDot<Layout>.Dot4(w, x, xStride, blocks, y, yStride, tier);

    private readonly unsafe struct Layout : IIqLayout
    {
        public static int BlockBytes => IQ3_S.BlockBytes;

        /// <summary>The 512 four-byte entries two to an element: entry k is the low or high half of element k / 2.</summary>
        public static ulong[] Grid { get; } = MemoryMarshal.Cast<uint, ulong>(Iq3Grids.Iq3sGrid).ToArray();

        public static float Unit => 1f;

        /// <summary>Not used: the signs are stored whole (<see cref="IqGroup.SignsWhere"/>).</summary>
        public static ulong[] SignBytes => Iq2Grids.KSignBytes;

        public static void Group(byte* wb, int ib, int g, out ulong magnitudes, out int signs, out int scale)
        {
            byte* p = wb + QsOffset + 8 * ib;
            byte qh = wb[QhOffset + ib];
            magnitudes = IqGroup.Pair(GridEntry(Iq3Grids.Iq3sGrid, p[2 * g], qh, 2 * g), GridEntry(Iq3Grids.Iq3sGrid, p[2 * g + 1], qh, 2 * g + 1));
            signs = wb[SignsOffset + 4 * ib + g];
            scale = 1 + 2 * ((wb[ScalesOffset + ib / 2] >> (4 * (ib % 2))) & 0xF);
        }

        /// <summary>Eight four-byte grid loads by the indices (qs byte, qh bit as bit 8); the 32 sign bits stored whole.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Weights(byte* wb, int ib, ulong* grid, ulong* signBytes, out Vector256<sbyte> signs, out Vector256<short> scale)
        {
            byte* p = wb + QsOffset + 8 * ib;
            uint* g = (uint*)grid;
            uint qh = wb[QhOffset + ib];
            signs = IqGroup.SignsWhere(Unsafe.ReadUnaligned<uint>(wb + SignsOffset + 4 * ib));
            scale = Vector256.Create((short)(1 + 2 * ((wb[ScalesOffset + ib / 2] >> (4 * (ib % 2))) & 0xF)));
            return Vector256.Create(g[p[0] | ((qh << 8) & 0x100)], g[p[1] | ((qh << 7) & 0x100)], g[p[2] | ((qh << 6) & 0x100)],
                g[p[3] | ((qh << 5) & 0x100)], g[p[4] | ((qh << 4) & 0x100)], g[p[5] | ((qh << 3) & 0x100)],
                g[p[6] | ((qh << 2) & 0x100)], g[p[7] | ((qh << 1) & 0x100)]).AsByte();
        }
    }
}
