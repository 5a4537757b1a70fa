using System.Runtime.InteropServices;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// The weighted scale fits ggml-quants.c runs when llama-quantize has an importance matrix (the quantize_row_*_impl
/// paths): make_qx_quants with explicit weights, make_qkx3_quants and make_qp_quants, and the K-quant super-block fit
/// built on them that Q4_K and Q5_K share. Each importance weight is the mean square of the activation that column
/// meets, so a fit that minimises <c>Σ w·(x − q)²</c> minimises the expected error of the dot product rather than of
/// the weights. Every step is one float operation in C's order, so the bytes are ggml's.
/// </summary>
internal static class WeightedFits
{
    /// <summary>Groups whose largest magnitude is below this get scale 0 (ggml's GROUP_MAX_EPS).</summary>
    private const float GroupMaxEps = 1e-15f;

    /// <summary>
    /// The per-weight importance of ggml's impl quantizers: the column's importance times
    /// <c>sqrt(sigma2 + x²)</c>, so that within a column larger weights still count more.
    /// </summary>
    public static void Importance(ReadOnlySpan<float> x, ReadOnlySpan<float> columnWeights, float sigma2, Span<float> weights)
    {
        for (int l = 0; l < x.Length; l++)
        {
            weights[l] = columnWeights[l] * MathF.Sqrt(sigma2 + x[l] * x[l]);
        }
    }

    /// <summary>Fits one block <paramref name="x"/> under <paramref name="weights"/> into <paramref name="levels"/>
    /// (with <paramref name="aux"/> as the fit's scratch) and writes its bytes to <paramref name="block"/>.</summary>
    public delegate void BlockEncoder(ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<byte> levels, Span<byte> aux, Span<byte> block);

    /// <summary>
    /// The row loop of the 32-weight types' weighted quantizers (quantize_row_q4_0_impl and its Q4_1, Q5_0, Q5_1
    /// siblings): σ² is the row's mean square, each block's weights <see cref="Importance"/>, then the type's fit and
    /// packing (<paramref name="encode"/>).
    /// </summary>
    public static void QuantizeBlocks(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst, int blockSize, int blockBytes, BlockEncoder encode)
    {
        System.Diagnostics.Debug.Assert(src.Length % blockSize == 0 && columnWeights.Length == src.Length && dst.Length == src.Length / blockSize * blockBytes);
        Span<float> weights = stackalloc float[blockSize];
        Span<byte> levels = stackalloc byte[blockSize], aux = stackalloc byte[blockSize];
        float sigma2 = SumOfSquares(src) / src.Length;
        for (int b = 0; b < src.Length / blockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * blockSize, blockSize);
            Importance(x, columnWeights.Slice(b * blockSize, blockSize), sigma2, weights);
            encode(x, weights, levels, aux, dst.Slice(b * blockBytes, blockBytes));
        }
    }

    /// <summary>Σx² over <paramref name="x"/>, summed in order as ggml does.</summary>
    public static float SumOfSquares(ReadOnlySpan<float> x)
    {
        float s = 0f;
        foreach (float v in x)
        {
            s += v * v;
        }
        return s;
    }

    /// <summary>
    /// make_qx_quants with rmse_type 1 and explicit weights: the symmetric fit <c>x ≈ scale·l</c>, l in −nmax..nmax−1,
    /// from <c>iscale = −nmax / max</c> and 18 nudged candidates <c>−(nmax + 0.1·is) / max</c>; a candidate wins when
    /// it raises <c>(Σwxl)² / Σwl²</c>. Writes l + nmax (0 for a group below GROUP_MAX_EPS) and returns the scale.
    /// </summary>
    public static float MakeQxQuants(int nmax, ReadOnlySpan<float> x, Span<byte> levels, ReadOnlySpan<float> weights)
    {
        float max = 0f, amax = 0f;
        foreach (float v in x)
        {
            float a = MathF.Abs(v);
            if (a > amax)
            {
                amax = a;
                max = v;
            }
        }
        if (amax < GroupMaxEps)
        {
            levels[..x.Length].Clear();
            return 0f;
        }
        float iscale = -nmax / max;
        float sumlx = 0f, suml2 = 0f;
        for (int i = 0; i < x.Length; i++)
        {
            int l = Math.Clamp(Q8_K.NearestInt(iscale * x[i]), -nmax, nmax - 1);
            levels[i] = (byte)(l + nmax);
            float w = weights[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        float scale = suml2 != 0f ? sumlx / suml2 : 0f;
        float best = scale * sumlx;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0) continue;
            iscale = -(nmax + 0.1f * step) / max;
            sumlx = 0f;
            suml2 = 0f;
            for (int i = 0; i < x.Length; i++)
            {
                int l = Math.Clamp(Q8_K.NearestInt(iscale * x[i]), -nmax, nmax - 1);
                float w = weights[i];
                sumlx += w * x[i] * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0f && sumlx * sumlx > best * suml2)
            {
                for (int i = 0; i < x.Length; i++)
                {
                    levels[i] = (byte)(nmax + Math.Clamp(Q8_K.NearestInt(iscale * x[i]), -nmax, nmax - 1));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    /// <summary>
    /// make_qkx3_quants: the weighted affine fit <c>x ≈ scale·l − min</c>, l in 0..nmax, min ≥ 0, by squared error
    /// (use_mad false), over the candidate scales <c>(rmin + rdelta·is + nmax) / (max − min)</c>, is = 0..nstep.
    /// Returns the scale and the (positive) minimum.
    /// </summary>
    public static float MakeQkx3Quants(int nmax, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<byte> levels, out float theMin,
                                       Span<byte> aux, float rmin, float rdelta, int nstep)
    {
        int n = x.Length;
        float min = x[0], max = x[0];
        float sumW = weights[0];
        float sumX = sumW * x[0];
        for (int i = 1; i < n; i++)
        {
            if (x[i] < min) min = x[i];
            if (x[i] > max) max = x[i];
            float w = weights[i];
            sumW += w;
            sumX += w * x[i];
        }
        if (min > 0) min = 0;
        if (max <= min)
        {
            levels[..n].Clear();
            theMin = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0f;
        for (int i = 0; i < n; i++)
        {
            int l = Math.Clamp(Q8_K.NearestInt(iscale * (x[i] - min)), 0, nmax);
            levels[i] = (byte)l;
            float diff = scale * l + min - x[i];
            bestError += weights[i] * (diff * diff);
        }
        for (int step = 0; step <= nstep; step++)
        {
            iscale = (rmin + rdelta * step + nmax) / (max - min);
            float sumL = 0f, sumL2 = 0f, sumXL = 0f;
            for (int i = 0; i < n; i++)
            {
                // min is the best fit so far and can be near max, so v can be out of nearest_int's range: clamp first.
                float v = iscale * (x[i] - min);
                int l = v > 0 ? Q8_K.NearestInt(MathF.Min(v, nmax)) : 0;
                aux[i] = (byte)l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[i];
            }
            float D = sumW * sumL2 - sumL * sumL;
            if (D > 0)
            {
                float thisScale = (sumW * sumXL - sumX * sumL) / D;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / D;
                if (thisMin > 0)
                {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float error = 0f;
                for (int i = 0; i < n; i++)
                {
                    float diff = thisScale * aux[i] + thisMin - x[i];
                    error += weights[i] * (diff * diff);
                }
                if (error < bestError)
                {
                    aux[..n].CopyTo(levels);
                    bestError = error;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin = -min;
        return scale;
    }

    /// <summary>
    /// make_qp_quants: quantizes non-negative values (sub-block scales or minimums) to 0..nmax against one scale,
    /// weighted by <paramref name="weights"/>: the best of nine candidate scales by weighted squared error, then up to
    /// five passes that move single levels to their least-squares optimum. Returns <c>Σwxl / Σwl²</c>.
    /// ggml keeps the levels in bytes: IQ2_XXS passes magnitudes of which one may be negative (its sign-parity fold),
    /// whose level −1 then reads back as 255 wherever ggml reads the stored level, so <c>levels</c> is read back the
    /// same way here.
    /// </summary>
    public static float MakeQpQuants(int nmax, ReadOnlySpan<float> x, Span<byte> levels, ReadOnlySpan<float> weights)
    {
        int n = x.Length;
        float max = 0f;
        foreach (float v in x) max = MathF.Max(max, v);
        if (max < GroupMaxEps)
        {
            levels[..n].Clear();
            return 0f;
        }
        float iscale = nmax / max;
        Span<byte> L = levels[..n];
        for (int i = 0; i < n; i++) L[i] = (byte)Q8_K.NearestInt(iscale * x[i]);
        float scale = 1 / iscale;
        float bestMse = 0f;
        for (int i = 0; i < n; i++)
        {
            float diff = x[i] - scale * L[i];
            bestMse += weights[i] * diff * diff;
        }
        for (int step = -4; step <= 4; step++)
        {
            if (step == 0) continue;
            float iscaleIs = (0.1f * step + nmax) / max;
            float scaleIs = 1 / iscaleIs;
            float mse = 0f;
            for (int i = 0; i < n; i++)
            {
                int l = Math.Min(nmax, Q8_K.NearestInt(iscaleIs * x[i]));
                float diff = x[i] - scaleIs * l;
                mse += weights[i] * diff * diff;
            }
            if (mse < bestMse)
            {
                bestMse = mse;
                iscale = iscaleIs;
            }
        }
        float sumlx = 0f, suml2 = 0f;
        for (int i = 0; i < n; i++)
        {
            int l = Math.Min(nmax, Q8_K.NearestInt(iscale * x[i]));
            L[i] = (byte)l;
            float w = weights[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        for (int pass = 0; pass < 5; pass++)
        {
            int changed = 0;
            for (int i = 0; i < n; i++)
            {
                float w = weights[i];
                float slx = sumlx - w * x[i] * L[i];
                float sl2 = suml2 - w * L[i] * L[i];
                if (slx > 0 && sl2 > 0)
                {
                    int newL = Math.Min(nmax, Q8_K.NearestInt(x[i] * sl2 / slx));
                    if (newL != L[i])
                    {
                        slx += w * x[i] * newL;
                        sl2 += w * newL * newL;
                        if (slx * slx * suml2 > sumlx * sumlx * sl2)
                        {
                            L[i] = (byte)newL;
                            sumlx = slx;
                            suml2 = sl2;
                            changed++;
                        }
                    }
                }
            }
            if (changed == 0) break;
        }
        return suml2 > 0f ? sumlx / suml2 : 0f;
    }

    /// <summary>
    /// quantize_row_q{4,5}_K_impl's fit of one super-block with an importance matrix: per 32-weight sub-block the
    /// affine <see cref="MakeQkx3Quants"/> (rmin −0.9, 37 candidates), then the eight scales and eight minimums each
    /// quantized to 6 bits by <see cref="MakeQpQuants"/> weighted by the sub-blocks' total importance, then every
    /// weight requantized against the stored values. Fills the 16-byte header (d, dmin, scales[12]) and levels 0..nmax.
    /// </summary>
    public static void AffineSuperBlock(ReadOnlySpan<float> x, ReadOnlySpan<float> columnWeights, Span<byte> header, Span<byte> levels, int nmax)
    {
        Span<float> scales = stackalloc float[8], mins = stackalloc float[8], sw = stackalloc float[8], weights = stackalloc float[32];
        Span<byte> aux = stackalloc byte[32], ls = stackalloc byte[8], lm = stackalloc byte[8];
        float sigma2 = 2 * SumOfSquares(x) / Q8_K.BlockSize;
        for (int j = 0; j < 8; j++)
        {
            ReadOnlySpan<float> xs = x.Slice(32 * j, 32);
            Importance(xs, columnWeights.Slice(32 * j, 32), sigma2, weights);
            float sumW = 0f;
            foreach (float w in weights) sumW += w;
            sw[j] = sumW;
            scales[j] = MakeQkx3Quants(nmax, xs, weights, levels.Slice(32 * j, 32), out mins[j], aux, -0.9f, 0.05f, 36);
        }
        float dBlock = MakeQpQuants(63, scales, ls, sw);
        float mBlock = MakeQpQuants(63, mins, lm, sw);

        Span<byte> packed = header.Slice(4, 12);
        packed.Clear();
        for (int j = 0; j < 8; j++)
        {
            byte s = Math.Min((byte)63, ls[j]), m = Math.Min((byte)63, lm[j]);
            if (j < 4)
            {
                packed[j] = s;
                packed[j + 4] = m;
            }
            else
            {
                packed[j + 4] = (byte)((s & 0xF) | ((m & 0xF) << 4));
                packed[j - 4] |= (byte)((s >> 4) << 6);
                packed[j] |= (byte)((m >> 4) << 6);
            }
        }
        ushort dBits = F16.FromSingle(dBlock), dminBits = F16.FromSingle(mBlock);
        MemoryMarshal.Write(header, dBits);
        MemoryMarshal.Write(header[2..], dminBits);

        float dAll = F16.ToSingle(dBits), dminAll = F16.ToSingle(dminBits);
        Span<byte> sc = stackalloc byte[8], mn = stackalloc byte[8];
        Q4_K.UnpackScaleMins(packed, sc, mn);
        for (int j = 0; j < 8; j++)
        {
            float d = dAll * sc[j];
            if (d == 0f) continue; // keeps the levels of the fit, as ggml does
            float dm = dminAll * mn[j];
            for (int l = 0; l < 32; l++)
            {
                levels[32 * j + l] = (byte)Math.Clamp(Q8_K.NearestInt((x[32 * j + l] + dm) / d), 0, nmax);
            }
        }
    }
}
