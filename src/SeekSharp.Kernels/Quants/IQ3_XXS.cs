using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_IQ3_XXS: super-blocks of 256 weights in 8 sub-blocks of 32, each in 4 groups of 8; 98 bytes each
/// (ggml-common.h block_iq3_xxs):
/// <code>
/// offset  0  ushort d         super-block scale, IEEE half
/// offset  2  byte   qs[64]    grid indices: qs[8ib + 2l] gives elements 32ib + 8l + 0..3, qs[8ib + 2l + 1] gives
///                             elements 32ib + 8l + 4..7, each an entry of Iq3Grids.Iq3xxsGrid (four magnitudes)
/// offset 66  uint   aux[8]    sub-block ib: bits 7l .. 7l+6 = sign index of group l (expanded to eight sign bits by
///                             Iq2Grids.KSigns), bits 28..31 = scale s
/// value = (d·(0.5 + s)·0.5)·magnitude·(bit j of the signs ? −1 : 1)
/// </code>
/// Its vec_dot_type is Q8_K. llama-quantize's IQ3_XXS and IQ3_XS mixes (and the IQ2 mixes' attention tensors) use it.
/// <see cref="QuantizeReference"/> and <see cref="QuantizeWeighted"/> are ggml's quantize_iq3_xxs without and with an
/// importance matrix.
/// </summary>
internal static class IQ3_XXS
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 98;
    private const int QsOffset = 2;
    private const int AuxOffset = 66;

    /// <summary>ggml's GROUP_MAX_EPS_IQ3_XXS: a sub-block whose largest magnitude is below this is stored as zeros.</summary>
    private const float GroupMaxEps = 1e-8f;

    /// <summary>What llama-quantize writes without an importance matrix (quantize_iq3_xxs with no quant_weights): the
    /// fit weighs each weight by x².</summary>
    public static void QuantizeReference(ReadOnlySpan<float> src, Span<byte> dst) => Quantize(src, default, dst);

    /// <summary>quantize_iq3_xxs with quant_weights, one row: each weight weighs <c>importance·sqrt(σ² + x²)</c>, σ² twice
    /// the super-block's mean square.</summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst) => Quantize(src, columnWeights, dst);

    /// <summary>
    /// quantize_row_iq3_xxs_impl (grid size 256): per sub-block of 32, signs folded to even parity, then
    /// <see cref="IqGridFit.SearchScale"/> over 31 candidates (steps of 0.2) with 4-level groups on the 256-point
    /// codebook; the super-block scale <c>d = maxScale/31</c> is stored times 1.0125 (ggml's fudge factor), each
    /// sub-block's as the 4-bit code of <see cref="IqGridFit.ScaleCode"/>.
    /// </summary>
    private static void Quantize(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes);
        IqLattice lattice = IqLattice.Iq3Xxs;
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
            for (int ib = 0; ib < 8; ib++)
            {
                ReadOnlySpan<float> xb = x.Slice(32 * ib, 32);
                IqGridFit.Weights(xb, columnWeights.IsEmpty ? default : columnWeights.Slice(b * BlockSize + 32 * ib, 32), sigma2, weights);
                IqGridFit.SquareRoots(weights, waux);
                IqGridFit.FoldSigns(xb, weights, xval, signs, evenParity: true);
                float max = IqGridFit.Max(xval);
                levels.Clear();
                if (max < GroupMaxEps)
                {
                    scales[ib] = 0f;
                    continue;
                }
                float scale = IqGridFit.SearchScale(lattice, xval, weights, waux, max, maxQ: 8, steps: 15, stepSize: 0.2f,
                                                    startOnGrid: true, refineAll: false, levels);
                // ggml flips a negative scale and the signs here; the fit's scale is a ratio of positive sums, never negative.
                Debug.Assert(scale >= 0);
                for (int k = 0; k < 8; k++)
                {
                    block[QsOffset + 8 * ib + k] = (byte)IqGridFit.IndexOf(lattice, levels.Slice(4 * k, 4));
                }
                uint aux = signs[0] | (uint)signs[1] << 7 | (uint)signs[2] << 14 | (uint)signs[3] << 21;
                MemoryMarshal.Write(block[(AuxOffset + 4 * ib)..], aux);
                scales[ib] = scale;
                maxScale = MathF.Max(maxScale, scale);
            }
            if (maxScale == 0f)
            {
                block.Clear();
                continue;
            }
            float d = maxScale / 31;
            MemoryMarshal.Write(block, F16.FromSingle(d * 1.0125f));
            float id = 1 / d;
            for (int ib = 0; ib < 8; ib++)
            {
                Span<byte> auxBytes = block[(AuxOffset + 4 * ib)..];
                uint aux = MemoryMarshal.Read<uint>(auxBytes) | (uint)IqGridFit.ScaleCode(scales[ib], id, 15) << 28;
                MemoryMarshal.Write(auxBytes, aux);
            }
        }
    }

    /// <summary>
    /// dequantize_row_iq3_xxs: the sub-block scale <c>db = d·(0.5 + s)·0.5</c> rounded to float step by step in that
    /// order, then each value <c>db·magnitude</c> with its sign applied (exact).
    /// </summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        uint[] grid = Iq3Grids.Iq3xxsGrid;
        byte[] signTable = Iq2Grids.KSigns;
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            for (int ib = 0; ib < 8; ib++)
            {
                uint aux = MemoryMarshal.Read<uint>(block[(AuxOffset + 4 * ib)..]);
                float db = d * (0.5f + (aux >> 28)) * 0.5f;
                for (int l = 0; l < 4; l++)
                {
                    int signs = signTable[(aux >> (7 * l)) & 127];
                    uint g1 = grid[block[QsOffset + 8 * ib + 2 * l]];
                    uint g2 = grid[block[QsOffset + 8 * ib + 2 * l + 1]];
                    Span<float> yg = y.Slice(32 * ib + 8 * l, 8);
                    IqGroup.Decode(yg, db, IqGroup.Pair(g1, g2), signs);
                }
            }
        }
    }

    /// <summary>
    /// IQ3_XXS row · Q8_K activation over <paramref name="blocks"/> super-blocks: the lanes and float steps of
    /// <see cref="IqDot{T}"/> (ggml's AVX2 ggml_vec_dot_iq3_xxs_q8_K keeps the same eight float lanes), the scale
    /// (0.5 + s)·0.5 as (2s + 1)/4.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier) => IqDot<Layout>.Dot(w, x, blocks, tier);

    /// <summary><see cref="Dot"/> of one weight row with four activation rows; see <see cref="IqDot{T}.Dot4"/>.</summary>
    public static unsafe void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier) =>
        IqDot<Layout>.Dot4(w, x, xStride, blocks, y, yStride, tier);

    private readonly unsafe struct Layout : IIqLayout
    {
        public static int BlockBytes => IQ3_XXS.BlockBytes;

        /// <summary>The 256 four-byte entries two to an element: entry k is the low or high half of element k / 2.</summary>
        public static ulong[] Grid { get; } = MemoryMarshal.Cast<uint, ulong>(Iq3Grids.Iq3xxsGrid).ToArray();

        public static float Unit => 0.25f;

        public static ulong[] SignBytes => Iq2Grids.KSignBytes;

        public static void Group(byte* wb, int ib, int g, out ulong magnitudes, out int signs, out int scale)
        {
            byte* qs = wb + QsOffset + 8 * ib;
            uint aux = Unsafe.ReadUnaligned<uint>(wb + AuxOffset + 4 * ib);
            magnitudes = IqGroup.Pair(Iq3Grids.Iq3xxsGrid[qs[2 * g]], Iq3Grids.Iq3xxsGrid[qs[2 * g + 1]]);
            signs = Iq2Grids.KSigns[(aux >> (7 * g)) & 127];
            scale = (int)(2 * (aux >> 28) + 1);
        }

        /// <summary>Eight four-byte grid loads by the index bytes; signs and scale from the sub-block's word as in IQ2_XXS.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Weights(byte* wb, int ib, ulong* grid, ulong* signBytes, out Vector256<sbyte> signs, out Vector256<short> scale)
        {
            byte* qs = wb + QsOffset + 8 * ib;
            uint* g = (uint*)grid;
            uint aux = Unsafe.ReadUnaligned<uint>(wb + AuxOffset + 4 * ib);
            signs = IqGroup.Groups(signBytes[aux & 127], signBytes[IqGroup.Bits(aux, 7, 7)],
                signBytes[IqGroup.Bits(aux, 14, 7)], signBytes[IqGroup.Bits(aux, 21, 7)]);
            scale = Vector256.Create((short)(2 * (aux >> 28) + 1));
            return Vector256.Create(g[qs[0]], g[qs[1]], g[qs[2]], g[qs[3]], g[qs[4]], g[qs[5]], g[qs[6]], g[qs[7]]).AsByte();
        }
    }
}
