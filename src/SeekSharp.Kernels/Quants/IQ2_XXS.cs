using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_IQ2_XXS: super-blocks of 256 weights in 8 sub-blocks of 32, 66 bytes each (ggml-common.h block_iq2_xxs):
/// <code>
/// offset 0  ushort d       super-block scale, IEEE half
/// offset 2  byte   qs[64]  sub-block ib: 8 bytes at 2 + 8ib, read as two little-endian uints a0, a1
///   group l = 0..3 (elements 32ib + 8l .. +7): magnitudes = Iq2XxsGrid[byte l of a0],
///                                             signs = KSigns[(a1 &gt;&gt; 7l) &amp; 127] (bit j → element j negative)
///   scale s = a1 &gt;&gt; 28 (4 bits)
/// value = (d·(0.5 + s)·0.25)·magnitude·(±1)
/// </code>
/// Its vec_dot_type is Q8_K. 2.06 bits per weight: the smallest of llama.cpp's "true" 2-bit types.
/// <see cref="QuantizeWeighted"/> is ggml's quantize_iq2_xxs, which needs an importance matrix (so there is no
/// reference quantizer without one).
/// </summary>
internal static class IQ2_XXS
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 66;

    /// <summary>ggml's GROUP_MAX_EPS: a sub-block whose largest magnitude is below this is stored as zeros.</summary>
    private const float GroupMaxEps = 1e-15f;
    private const int QsOffset = 2;

    /// <summary>The largest magnitude kMaxQ's levels 0..2 reach: 2·2 + 1 (level l stands for 2l + 1).</summary>
    private const int MaxQ = 3;

    /// <summary>
    /// quantize_iq2_xxs with quant_weights (quantize_row_iq2_xxs_impl), one row. Per sub-block of 32: weights
    /// <c>importance·sqrt(σ² + x²)</c> with σ² the super-block's mean square, signs folded to even parity; a first scale
    /// from make_qp_quants on levels 0..4, then 13 candidate inverse scales <c>(5 + 0.1·step)/(3·scale)</c>, each group of
    /// eight rounded onto the 256-point codebook (a neighbour where the point is off it); the best candidate's scale is
    /// refined once with every group placed again. <c>d = maxScale/31</c>; each sub-block's 4-bit scale code sits in
    /// the top bits of its sign word.
    /// </summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes && columnWeights.Length == src.Length);
        IqLattice lattice = IqLattice.Iq2Xxs;
        Span<float> weights = stackalloc float[32], waux = stackalloc float[32], xval = stackalloc float[32], scales = stackalloc float[8];
        Span<sbyte> levels = stackalloc sbyte[32], trial = stackalloc sbyte[32];
        Span<byte> signs = stackalloc byte[4], qpLevels = stackalloc byte[32];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);
            block.Clear();
            float maxScale = 0f;
            float sigma2 = WeightedFits.SumOfSquares(x) / BlockSize;
            for (int ib = 0; ib < 8; ib++)
            {
                ReadOnlySpan<float> xb = x.Slice(32 * ib, 32);
                WeightedFits.Importance(xb, columnWeights.Slice(b * BlockSize + 32 * ib, 32), sigma2, weights);
                IqGridFit.SquareRoots(weights, waux);
                IqGridFit.FoldSigns(xb, weights, xval, signs, evenParity: true);
                float max = IqGridFit.Max(xval);
                if (max < GroupMaxEps)
                {
                    scales[ib] = 0f;
                    continue;
                }
                float scale = WeightedFits.MakeQpQuants(MaxQ + 1, xval, qpLevels, weights);
                float effMax = scale * MaxQ;
                if (effMax <= 0)
                {
                    scales[ib] = 0f;
                    continue;
                }
                float best = 0f;
                for (int step = -6; step <= 6; step++)
                {
                    float id = (2 * MaxQ - 1 + step * 0.1f) / effMax;
                    float thisScale = 1 / id;
                    for (int k = 0; k < 4; k++)
                    {
                        IqGridFit.PlaceGroup(lattice, xval.Slice(8 * k, 8), waux.Slice(8 * k, 8), id, thisScale, MaxQ - 1, trial.Slice(8 * k, 8));
                    }
                    var (sumqx, sumq2) = IqGridFit.Moments(xval, weights, trial);
                    if (sumq2 > 0 && sumqx * sumqx > best * sumq2)
                    {
                        scale = sumqx / sumq2;
                        best = scale * sumqx;
                        trial.CopyTo(levels);
                    }
                }
                // Unlike its siblings, IQ2_XXS places every group again at the winning scale, on or off the codebook.
                if (scale > 0)
                {
                    float id = 1 / scale;
                    for (int k = 0; k < 4; k++)
                    {
                        IqGridFit.PlaceGroup(lattice, xval.Slice(8 * k, 8), waux.Slice(8 * k, 8), id, scale, MaxQ - 1, levels.Slice(8 * k, 8));
                    }
                    var (sumqx, sumq2) = IqGridFit.Moments(xval, weights, levels);
                    if (sumq2 > 0) scale = sumqx / sumq2;
                }
                Debug.Assert(scale >= 0);
                Span<byte> sub = block.Slice(QsOffset + 8 * ib, 8);
                uint signWord = 0;
                for (int k = 0; k < 4; k++)
                {
                    sub[k] = (byte)IqGridFit.IndexOf(lattice, levels.Slice(8 * k, 8));
                    signWord |= (uint)signs[k] << (7 * k);
                }
                MemoryMarshal.Write(sub[4..], signWord);
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
            for (int ib = 0; ib < 8; ib++)
            {
                Span<byte> word = block[(QsOffset + 8 * ib + 4)..];
                MemoryMarshal.Write(word, MemoryMarshal.Read<uint>(word) | (uint)IqGridFit.ScaleCode(scales[ib], inverseD, 15) << 28);
            }
        }
    }

    /// <summary>dequantize_row_iq2_xxs: <c>y = ((d·(0.5 + s))·0.25)·magnitude·(±1)</c>, rounded to float at each step.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        ulong[] grid = Iq2Grids.Iq2XxsGrid;
        byte[] signTable = Iq2Grids.KSigns;
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            for (int ib = 0; ib < 8; ib++)
            {
                ReadOnlySpan<byte> sub = block.Slice(QsOffset + 8 * ib, 8);
                uint a1 = MemoryMarshal.Read<uint>(sub[4..]);
                // Same float steps as ggml: the 4-bit scale plus a half, times d, then the quarter.
                float db = d * (0.5f + (a1 >> 28)) * 0.25f;
                for (int l = 0; l < 4; l++)
                {
                    ulong magnitudes = grid[sub[l]];
                    int signs = signTable[(a1 >> (7 * l)) & 127];
                    Span<float> yg = y.Slice(32 * ib + 8 * l, 8);
                    IqGroup.Decode(yg, db, magnitudes, signs);
                }
            }
        }
    }

    /// <summary>
    /// IQ2_XXS row · Q8_K activation over <paramref name="blocks"/> super-blocks: the lanes and float steps of
    /// <see cref="IqDot{T}"/>, each sub-block with one odd scale <c>2s + 1</c>.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier) => IqDot<Layout>.Dot(w, x, blocks, tier);

    /// <summary><see cref="Dot"/> of one weight row with four activation rows; see <see cref="IqDot{T}.Dot4"/>.</summary>
    public static unsafe void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier) =>
        IqDot<Layout>.Dot4(w, x, xStride, blocks, y, yStride, tier);

    private readonly unsafe struct Layout : IIqLayout
    {
        public static int BlockBytes => IQ2_XXS.BlockBytes;

        public static ulong[] Grid => Iq2Grids.Iq2XxsGrid;

        public static float Unit => 0.125f;

        public static ulong[] SignBytes => Iq2Grids.KSignBytes;

        public static void Group(byte* wb, int ib, int g, out ulong magnitudes, out int signs, out int scale)
        {
            byte* sub = wb + QsOffset + 8 * ib;
            uint a1 = Unsafe.ReadUnaligned<uint>(sub + 4);
            magnitudes = Iq2Grids.Iq2XxsGrid[sub[g]];
            signs = Iq2Grids.KSigns[(a1 >> (7 * g)) & 127];
            scale = (int)(2 * (a1 >> 28) + 1);
        }

        /// <summary>
        /// Four grid loads by the index bytes, four loads from the byte-wide sign table by the 7-bit fields of the
        /// sub-block's second word (each taken out by one bextr), and its scale in the top four bits.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Weights(byte* wb, int ib, ulong* grid, ulong* signBytes, out Vector256<sbyte> signs, out Vector256<short> scale)
        {
            byte* sub = wb + QsOffset + 8 * ib;
            uint a1 = Unsafe.ReadUnaligned<uint>(sub + 4);
            signs = IqGroup.Groups(signBytes[a1 & 127], signBytes[IqGroup.Bits(a1, 7, 7)],
                signBytes[IqGroup.Bits(a1, 14, 7)], signBytes[IqGroup.Bits(a1, 21, 7)]);
            scale = Vector256.Create((short)(2 * (a1 >> 28) + 1));
            return IqGroup.Groups(grid[sub[0]], grid[sub[1]], grid[sub[2]], grid[sub[3]]).AsByte();
        }
    }
}
