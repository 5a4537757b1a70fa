using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_IQ2_S: super-blocks of 256 weights in 8 sub-blocks of 32, 82 bytes each (ggml-common.h block_iq2_s):
/// <code>
/// offset  0  ushort d           super-block scale, IEEE half
/// offset  2  byte   qs[32]      group g = 4ib + l (elements 8g .. 8g+7): low 8 bits of its grid index
/// offset 34  byte   signs[32]   group g: bit j → element j negative (all eight signs stored, no parity trick)
/// offset 66  byte   qh[8]       sub-block ib: bits 2l, 2l+1 are bits 8, 9 of group l's grid index
/// offset 74  byte   scales[8]   sub-block ib: low nibble scales groups l = 0, 1, high nibble groups l = 2, 3
/// magnitudes = Iq2SGrid[index], value = (d·(0.5 + s)·0.25)·magnitude·(±1)
/// </code>
/// Its vec_dot_type is Q8_K. 2.56 bits per weight. <see cref="QuantizeReference"/> and <see cref="QuantizeWeighted"/>
/// are ggml's quantize_iq2_s without and with an importance matrix.
/// </summary>
internal static class IQ2_S
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 82;

    /// <summary>ggml's GROUP_MAX_EPS_IQ2_S: a sub-block whose largest magnitude is below this is stored as zeros.</summary>
    private const float GroupMaxEps = 1e-8f;
    private const int QsOffset = 2;
    private const int SignsOffset = 34;
    private const int QhOffset = 66;
    private const int ScalesOffset = 74;

    /// <summary>Grid index of group l of sub-block ib: its low byte and the two high bits from qh.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Index(byte low, byte qh, int l) => low | ((qh << (8 - 2 * l)) & 0x300);

    /// <summary>What llama-quantize writes without an importance matrix (quantize_iq2_s with no quant_weights): each
    /// weight weighs <c>σ²/4 + x²</c>.</summary>
    public static void QuantizeReference(ReadOnlySpan<float> src, Span<byte> dst) => Quantize(src, default, dst);

    /// <summary>quantize_iq2_s with quant_weights, one row: each weight weighs <c>importance·sqrt(σ² + x²)</c>.</summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst) => Quantize(src, columnWeights, dst);

    /// <summary>
    /// quantize_row_iq2_s_impl. Per sixteen weights (two groups of eight): σ² twice the super-block's mean square, all
    /// eight signs of a group stored (no parity fold), <see cref="IqGridFit.SearchScale"/> over 19 candidates (steps
    /// of 0.1) on the 1024-point codebook; <c>d = maxScale/31</c> stored times 0.9875 (ggml's fudge factor), each
    /// half sub-block's 4-bit scale code a nibble.
    /// </summary>
    private static void Quantize(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes);
        IqLattice lattice = IqLattice.Iq2S;
        Span<float> weights = stackalloc float[16], waux = stackalloc float[16], xval = stackalloc float[16], scales = stackalloc float[16];
        Span<sbyte> levels = stackalloc sbyte[16];
        Span<byte> signs = stackalloc byte[2];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);
            block.Clear();
            float maxScale = 0f;
            float sigma2 = 2 * WeightedFits.SumOfSquares(x) / BlockSize;
            for (int ib = 0; ib < 16; ib++)
            {
                ReadOnlySpan<float> xb = x.Slice(16 * ib, 16);
                IqGridFit.Weights(xb, columnWeights.IsEmpty ? default : columnWeights.Slice(b * BlockSize + 16 * ib, 16), sigma2, weights, quarterSigma2: true);
                IqGridFit.SquareRoots(weights, waux);
                IqGridFit.FoldSigns(xb, weights, xval, signs, evenParity: false);
                float max = IqGridFit.Max(xval);
                levels.Clear();
                if (max < GroupMaxEps)
                {
                    scales[ib] = 0f;
                    continue;
                }
                float scale = IqGridFit.SearchScale(lattice, xval, weights, waux, max, maxQ: 3, steps: 9, stepSize: 0.1f,
                                                    startOnGrid: true, refineAll: false, levels);
                Debug.Assert(scale >= 0);
                for (int k = 0; k < 2; k++)
                {
                    int index = IqGridFit.IndexOf(lattice, levels.Slice(8 * k, 8));
                    int group = 2 * ib + k;
                    block[QsOffset + group] = (byte)index;
                    block[QhOffset + group / 4] |= (byte)((index >> 8) << (2 * (group % 4)));
                    block[SignsOffset + group] = signs[k];
                }
                scales[ib] = scale;
                maxScale = MathF.Max(maxScale, scale);
            }
            // An all-zero super-block keeps d = 0 and whatever groups were written, as ggml leaves them.
            if (maxScale == 0f) continue;
            float d = maxScale / 31;
            MemoryMarshal.Write(block, F16.FromSingle(d * 0.9875f));
            float inverseD = 1 / d;
            for (int ib = 0; ib < 16; ib++)
            {
                block[ScalesOffset + ib / 2] |= (byte)(IqGridFit.ScaleCode(scales[ib], inverseD, 15) << (4 * (ib % 2)));
            }
        }
    }

    /// <summary>dequantize_row_iq2_s: <c>y = ((d·(0.5 + s))·0.25)·magnitude·(±1)</c>, rounded to float at each step.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        ulong[] grid = Iq2Grids.Iq2SGrid;
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            for (int ib = 0; ib < 8; ib++)
            {
                byte sc = block[ScalesOffset + ib];
                float db0 = d * (0.5f + (sc & 0xF)) * 0.25f;
                float db1 = d * (0.5f + (sc >> 4)) * 0.25f;
                byte qh = block[QhOffset + ib];
                for (int l = 0; l < 4; l++)
                {
                    ulong magnitudes = grid[Index(block[QsOffset + 4 * ib + l], qh, l)];
                    int signs = block[SignsOffset + 4 * ib + l];
                    float db = l < 2 ? db0 : db1;
                    Span<float> yg = y.Slice(32 * ib + 8 * l, 8);
                    IqGroup.Decode(yg, db, magnitudes, signs);
                }
            }
        }
    }

    /// <summary>
    /// IQ2_S row · Q8_K activation over <paramref name="blocks"/> super-blocks: the lanes and float steps of
    /// <see cref="IqDot{T}"/>, each half sub-block (two groups of eight) with its own odd scale <c>2s + 1</c>.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier) => IqDot<Layout>.Dot(w, x, blocks, tier);

    /// <summary><see cref="Dot"/> of one weight row with four activation rows; see <see cref="IqDot{T}.Dot4"/>.</summary>
    public static unsafe void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier) =>
        IqDot<Layout>.Dot4(w, x, xStride, blocks, y, yStride, tier);

    private readonly unsafe struct Layout : IIqLayout
    {
        public static int BlockBytes => IQ2_S.BlockBytes;

        public static ulong[] Grid => Iq2Grids.Iq2SGrid;

        public static float Unit => 0.125f;

        public static ulong[] SignBytes => Iq2Grids.KSignBytes;

        public static void Group(byte* wb, int ib, int g, out ulong magnitudes, out int signs, out int scale)
        {
            magnitudes = Iq2Grids.Iq2SGrid[Index(wb[QsOffset + 4 * ib + g], wb[QhOffset + ib], g)];
            signs = wb[SignsOffset + 4 * ib + g];
            scale = 2 * ((wb[ScalesOffset + ib] >> (g < 2 ? 0 : 4)) & 0xF) + 1;
        }

        /// <summary>
        /// Grid indices from qs and qh; the sub-block's 32 sign bits are stored whole, so one 32-bit load and
        /// <see cref="IqGroup.SignsWhere"/> spread them (four sign-table loads measured 20.4 against 13.7 ns per
        /// super-block for ggml's AVX2 dot; <see cref="SignBytes"/> is not used).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Weights(byte* wb, int ib, ulong* grid, ulong* signBytes, out Vector256<sbyte> signs, out Vector256<short> scale)
        {
            byte* qs = wb + QsOffset + 4 * ib;
            byte* sg = wb + SignsOffset + 4 * ib;
            uint qh = wb[QhOffset + ib];
            int sc = wb[ScalesOffset + ib];
            scale = Vector256.Create(Vector128.Create((short)(2 * (sc & 0xF) + 1)), Vector128.Create((short)(2 * (sc >> 4) + 1)));
            signs = IqGroup.SignsWhere(Unsafe.ReadUnaligned<uint>(sg));
            return IqGroup.Groups(grid[qs[0] | ((qh << 8) & 0x300)], grid[qs[1] | ((qh << 6) & 0x300)],
                grid[qs[2] | ((qh << 4) & 0x300)], grid[qs[3] | ((qh << 2) & 0x300)]).AsByte();
        }
    }
}
