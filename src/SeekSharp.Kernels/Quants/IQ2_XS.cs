using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_IQ2_XS: super-blocks of 256 weights in 8 sub-blocks of 32, 74 bytes each (ggml-common.h block_iq2_xs):
/// <code>
/// offset  0  ushort d           super-block scale, IEEE half
/// offset  2  ushort qs[32]      group g = 4ib + l (elements 8g .. 8g+7): magnitudes = Iq2XsGrid[qs[g] &amp; 511],
///                               signs = KSigns[qs[g] &gt;&gt; 9] (bit j → element j negative)
/// offset 66  byte   scales[8]   sub-block ib: low nibble scales groups l = 0, 1, high nibble groups l = 2, 3
/// value = (d·(0.5 + s)·0.25)·magnitude·(±1)
/// </code>
/// Its vec_dot_type is Q8_K. 2.31 bits per weight. <see cref="QuantizeWeighted"/> is ggml's quantize_iq2_xs, which
/// needs an importance matrix (so there is no reference quantizer without one).
/// </summary>
internal static class IQ2_XS
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 74;

    /// <summary>ggml's GROUP_MAX_EPS: a sub-block whose largest magnitude is below this is stored as zeros.</summary>
    private const float GroupMaxEps = 1e-15f;
    private const int QsOffset = 2;
    private const int ScalesOffset = 66;

    /// <summary>
    /// quantize_iq2_xs with quant_weights (quantize_row_iq2_xs_impl), one row. Per sixteen weights (two groups of
    /// eight, half a stored sub-block): weights <c>importance·sqrt(σ² + x²)</c> with σ² the super-block's mean square,
    /// signs folded to even parity, then <see cref="IqGridFit.SearchScale"/> over 19 candidates (steps of 0.1) on the
    /// 512-point codebook. <c>d = maxScale/31</c>; each half's 4-bit scale code is a nibble of its sub-block's byte.
    /// </summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes && columnWeights.Length == src.Length);
        IqLattice lattice = IqLattice.Iq2Xs;
        Span<float> weights = stackalloc float[16], waux = stackalloc float[16], xval = stackalloc float[16], scales = stackalloc float[16];
        Span<sbyte> levels = stackalloc sbyte[16];
        Span<byte> signs = stackalloc byte[2];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);
            block.Clear();
            float maxScale = 0f;
            float sigma2 = WeightedFits.SumOfSquares(x) / BlockSize;
            for (int ib = 0; ib < 16; ib++)
            {
                ReadOnlySpan<float> xb = x.Slice(16 * ib, 16);
                WeightedFits.Importance(xb, columnWeights.Slice(b * BlockSize + 16 * ib, 16), sigma2, weights);
                IqGridFit.SquareRoots(weights, waux);
                IqGridFit.FoldSigns(xb, weights, xval, signs, evenParity: true);
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
                    MemoryMarshal.Write(block[(QsOffset + 2 * (2 * ib + k))..], (ushort)(index | signs[k] << 9));
                }
                scales[ib] = scale;
                maxScale = MathF.Max(maxScale, scale);
            }
            if (maxScale == 0f)
            {
                block.Clear();
                continue;
            }
            float d = maxScale / 31;
            MemoryMarshal.Write(block, F16.FromSingle(d));
            float inverseD = 1 / d;
            for (int ib = 0; ib < 16; ib++)
            {
                block[ScalesOffset + ib / 2] |= (byte)(IqGridFit.ScaleCode(scales[ib], inverseD, 15) << (4 * (ib % 2)));
            }
        }
    }

    /// <summary>dequantize_row_iq2_xs: <c>y = ((d·(0.5 + s))·0.25)·magnitude·(±1)</c>, rounded to float at each step.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        ulong[] grid = Iq2Grids.Iq2XsGrid;
        byte[] signTable = Iq2Grids.KSigns;
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
                for (int l = 0; l < 4; l++)
                {
                    int q = MemoryMarshal.Read<ushort>(block[(QsOffset + 2 * (4 * ib + l))..]);
                    ulong magnitudes = grid[q & 511];
                    int signs = signTable[q >> 9];
                    float db = l < 2 ? db0 : db1;
                    Span<float> yg = y.Slice(32 * ib + 8 * l, 8);
                    IqGroup.Decode(yg, db, magnitudes, signs);
                }
            }
        }
    }

    /// <summary>
    /// IQ2_XS row · Q8_K activation over <paramref name="blocks"/> super-blocks: the lanes and float steps of
    /// <see cref="IqDot{T}"/>, each half sub-block (two groups of eight) with its own odd scale <c>2s + 1</c>.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier) => IqDot<Layout>.Dot(w, x, blocks, tier);

    /// <summary><see cref="Dot"/> of one weight row with four activation rows; see <see cref="IqDot{T}.Dot4"/>.</summary>
    public static unsafe void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier) =>
        IqDot<Layout>.Dot4(w, x, xStride, blocks, y, yStride, tier);

    private readonly unsafe struct Layout : IIqLayout
    {
        public static int BlockBytes => IQ2_XS.BlockBytes;

        public static ulong[] Grid => Iq2Grids.Iq2XsGrid;

        public static float Unit => 0.125f;

        public static ulong[] SignBytes => Iq2Grids.KSignBytes;

        public static void Group(byte* wb, int ib, int g, out ulong magnitudes, out int signs, out int scale)
        {
            int q = Unsafe.ReadUnaligned<ushort>(wb + QsOffset + 2 * (4 * ib + g));
            magnitudes = Iq2Grids.Iq2XsGrid[q & 511];
            signs = Iq2Grids.KSigns[q >> 9];
            scale = 2 * ((wb[ScalesOffset + ib] >> (g < 2 ? 0 : 4)) & 0xF) + 1;
        }

        /// <summary>Each ushort: a 9-bit grid index and a 7-bit sign index; the scale nibbles cover elements 0-15 and 16-31.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Weights(byte* wb, int ib, ulong* grid, ulong* signBytes, out Vector256<sbyte> signs, out Vector256<short> scale)
        {
            ushort* q = (ushort*)(wb + QsOffset + 8 * ib);
            uint q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3];
            signs = IqGroup.Groups(signBytes[q0 >> 9], signBytes[q1 >> 9], signBytes[q2 >> 9], signBytes[q3 >> 9]);
            int sc = wb[ScalesOffset + ib];
            scale = Vector256.Create(Vector128.Create((short)(2 * (sc & 0xF) + 1)), Vector128.Create((short)(2 * (sc >> 4) + 1)));
            return IqGroup.Groups(grid[q0 & 511], grid[q1 & 511], grid[q2 & 511], grid[q3 & 511]).AsByte();
        }
    }
}
