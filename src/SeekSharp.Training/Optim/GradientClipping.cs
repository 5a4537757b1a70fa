namespace SeekSharp.Training.Optim;

/// <summary>Global gradient-norm clipping (Pascanu et al. 2013): all gradients are scaled together so their L2 norm is at most a bound.</summary>
internal static class GradientClipping
{
    /// <summary>The L2 norm of <paramref name="gradients"/>, summed in double in index order (deterministic).</summary>
    public static double Norm(ReadOnlySpan<float> gradients)
    {
        // Four independent chains keep the adds pipelined; the order is still fixed, so the result is reproducible.
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 4 <= gradients.Length; i += 4)
        {
            s0 += (double)gradients[i] * gradients[i];
            s1 += (double)gradients[i + 1] * gradients[i + 1];
            s2 += (double)gradients[i + 2] * gradients[i + 2];
            s3 += (double)gradients[i + 3] * gradients[i + 3];
        }
        for (; i < gradients.Length; i++)
            s0 += (double)gradients[i] * gradients[i];
        return Math.Sqrt(s0 + s1 + s2 + s3);
    }

    /// <summary>Scales <paramref name="gradients"/> down to norm <paramref name="maxNorm"/> when larger; returns the norm before clipping.</summary>
    public static double Clip(Span<float> gradients, float maxNorm)
    {
        double norm = Norm(gradients);
        if (maxNorm > 0 && norm > maxNorm)
        {
            float scale = (float)(maxNorm / norm);
            for (int i = 0; i < gradients.Length; i++)
                gradients[i] *= scale;
        }
        return norm;
    }
}
