using SeekSharp.Kernels.Threading;

namespace SeekSharp.Kernels;

/// <summary>
/// Single-precision matrix products for training: <c>C = op(A) · op(B)</c> (or <c>C += ...</c>) on row-major
/// float matrices, where op is the identity or the transpose. Forward passes use <c>A · Bᵀ</c> (activations times
/// weights stored [out, in]), and backward passes the other two forms.
/// </summary>
public static class Gemm
{
    /// <summary><c>C[m, n] (+)= op(A)[m, k] · op(B)[k, n]</c>, all matrices row-major and dense.</summary>
    /// <param name="a">A, stored [m, k], or [k, m] when <paramref name="transposeA"/>.</param>
    /// <param name="b">B, stored [k, n], or [n, k] when <paramref name="transposeB"/>.</param>
    /// <param name="c">C, [m, n]; must not overlap A or B.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="k">Inner dimension.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="transposeA">Use Aᵀ.</param>
    /// <param name="transposeB">Use Bᵀ.</param>
    /// <param name="accumulate">Add to C instead of overwriting it.</param>
    /// <param name="pool">Threads that share the work; <see cref="WorkerPool.Shared"/> when null.</param>
    /// <exception cref="ArgumentException">A span is too short for its shape.</exception>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n,
        bool transposeA = false, bool transposeB = false, bool accumulate = false, WorkerPool? pool = null)
    {
        Validate(a, b, c, m, k, n);
        MultiplyReference(a, b, c, m, k, n, transposeA, transposeB, accumulate);
    }

    /// <summary>The plain triple loop, summing k in order in float: the reference the fast paths are tested against.</summary>
    internal static void MultiplyReference(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n,
        bool transposeA, bool transposeB, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float sum = 0f;
                for (int p = 0; p < k; p++)
                {
                    float av = transposeA ? a[p * m + i] : a[i * k + p];
                    float bv = transposeB ? b[j * k + p] : b[p * n + j];
                    sum += av * bv;
                }
                c[i * n + j] = accumulate ? c[i * n + j] + sum : sum;
            }
        }
    }

    private static void Validate(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n)
    {
        if (m < 0 || k < 0 || n < 0)
        {
            throw new ArgumentException($"Matrix sizes must be non-negative (m {m}, k {k}, n {n}).");
        }
        if (a.Length < (long)m * k)
        {
            throw new ArgumentException($"A holds {a.Length} floats; [{m}, {k}] needs {(long)m * k}.", nameof(a));
        }
        if (b.Length < (long)k * n)
        {
            throw new ArgumentException($"B holds {b.Length} floats; [{k}, {n}] needs {(long)k * n}.", nameof(b));
        }
        if (c.Length < (long)m * n)
        {
            throw new ArgumentException($"C holds {c.Length} floats; [{m}, {n}] needs {(long)m * n}.", nameof(c));
        }
    }
}
