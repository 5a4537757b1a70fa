using System.Diagnostics;
using System.Runtime.CompilerServices;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_Q8_1, the vec_dot_type of Q4_1 and Q5_1 (activations only, never stored in model files): blocks of 32,
/// 36 bytes each (ggml-common.h block_q8_1):
/// <code>
/// offset 0  ushort d       scale, IEEE half
/// offset 2  ushort s       d · Σ qs, IEEE half (d before its rounding to half)
/// offset 4  sbyte  qs[32]  value j = qs[j] * d
/// </code>
/// The block sum lets a weight type with an offset (<c>w = q·d_w + m</c>) take the offset's share of the dot as one
/// product <c>m · s</c> per block.
/// </summary>
internal static class Q8_1
{
    public const int BlockSize = 32;
    public const int BlockBytes = 36;

    /// <summary>
    /// Activation quantizer as the x86 CPU backend runs it (ggml-cpu/arch/x86/quants.c quantize_row_q8_1): the quants
    /// and d of <see cref="Q8_0.QuantizeActivation"/> (<c>id = 127 / amax</c>, rounding to nearest even), then
    /// <c>s = half(d · Σ qs)</c> with the unrounded <c>d = amax / 127</c>.
    /// </summary>
    public static unsafe void QuantizeActivation(float* src, byte* dst, int n, SimdTier tier)
    {
        Debug.Assert(n % BlockSize == 0);
        for (int b = 0; b < n / BlockSize; b++)
        {
            byte* block = dst + b * BlockBytes;
            sbyte* qs = (sbyte*)(block + 4);
            float d = Q8_0.QuantizeActivationBlock(src + b * BlockSize, block, qs, tier);
            int sum = 0;
            for (int j = 0; j < BlockSize; j++)
            {
                sum += qs[j];
            }
            // |Σ qs| ≤ 32·127 < 2^24, so the int converts to float exactly and d·sum is one rounding.
            Unsafe.WriteUnaligned(block + 2, BitConverter.HalfToUInt16Bits((Half)(d * sum)));
        }
    }

    /// <summary>The blocks back to float, <c>qs[j] * d</c> (for checks; the dots read the blocks).</summary>
    public static unsafe void Dequantize(byte* src, float* dst, int blocks)
    {
        for (int b = 0; b < blocks; b++)
        {
            byte* block = src + (long)b * BlockBytes;
            float d = F16.ToSingle(Unsafe.ReadUnaligned<ushort>(block));
            for (int j = 0; j < BlockSize; j++)
            {
                dst[(long)b * BlockSize + j] = ((sbyte*)(block + 4))[j] * d;
            }
        }
    }

    /// <summary>The half scale d of a block as a float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe float XScale(byte* block) => F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(block));

    /// <summary>The half block sum s of a block as a float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe float XSum(byte* block) => F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(block + 2));
}
