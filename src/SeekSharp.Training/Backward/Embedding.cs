using System.Diagnostics;

namespace SeekSharp.Training.Backward;

/// <summary>Token embedding lookup. Glossary: N tokens, V vocabulary, D width.</summary>
internal static class Embedding
{
    /// <summary>x[N, D] = table[tokens[n]].</summary>
    public static void Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<float> table, Span<float> x, int d)
    {
        for (int n = 0; n < tokens.Length; n++)
        {
            Debug.Assert((uint)tokens[n] < (uint)(table.Length / d));
            table.Slice(tokens[n] * d, d).CopyTo(x.Slice(n * d, d));
        }
    }

    /// <summary>dtable[tokens[n]] += dx[n], in token order so repeated tokens always sum the same way.</summary>
    public static void Backward(ReadOnlySpan<float> dx, ReadOnlySpan<int> tokens, Span<float> dtable, int d)
    {
        dx = BackwardMutation.Current.Scaled(dx, BackwardTerm.Embedding); // dx itself unless a test mutates the term
        for (int n = 0; n < tokens.Length; n++)
        {
            var row = dtable.Slice(tokens[n] * d, d);
            var g = dx.Slice(n * d, d);
            for (int i = 0; i < d; i++)
                row[i] += g[i];
        }
    }
}
