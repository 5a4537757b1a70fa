using System.Text;

namespace SeekSharp.Training.Tasks;

/// <summary>
/// Seeded problem streams on either side of a train / held-out partition. The partition hashes
/// <see cref="Problem.Key"/> (FNV-1a, 64 bit: stable across runs and platforms, unlike string.GetHashCode), so it is
/// fixed per problem and independent of the seed: no seed can draw a held-out problem into training.
/// </summary>
public static class ProblemSets
{
    /// <summary>Fraction of the problem space reserved for evaluation unless a caller says otherwise.</summary>
    public const double DefaultHeldOutFraction = 0.1;

    // Rejection sampling gives up after this many draws in a row outside the split (a split too small to sample).
    const int MaxAttempts = 10_000;

    /// <summary>The split <paramref name="problem"/> falls in.</summary>
    public static ProblemSplit SplitOf(Problem problem, double heldOutFraction = DefaultHeldOutFraction)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ValidateFraction(heldOutFraction);
        ulong bucket = Fnv1a(problem.Task + "/" + problem.Key) % 1_000_000;
        return bucket < (ulong)(heldOutFraction * 1_000_000) ? ProblemSplit.HeldOut : ProblemSplit.Train;
    }

    /// <summary>
    /// <paramref name="count"/> problems of <paramref name="task"/> in <paramref name="split"/>, the same for the same
    /// seed. Problems may repeat within a stream when the task's problem space is small.
    /// </summary>
    /// <exception cref="InvalidOperationException">The split is (nearly) empty for this task.</exception>
    public static IEnumerable<Problem> Generate(IReasoningTask task, ProblemSplit split, int seed, int count,
        double heldOutFraction = DefaultHeldOutFraction)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ValidateFraction(heldOutFraction);
        return Iterate(task, split, seed, count, heldOutFraction);
    }

    static IEnumerable<Problem> Iterate(IReasoningTask task, ProblemSplit split, int seed, int count, double heldOutFraction)
    {
        var rng = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            int attempts = 0;
            Problem p;
            do
            {
                if (++attempts > MaxAttempts)
                    throw new InvalidOperationException(
                        $"Task '{task.Name}': no {split} problem in {MaxAttempts} draws; the problem space is too small for held-out fraction {heldOutFraction}.");
                p = task.Generate(rng);
            }
            while (SplitOf(p, heldOutFraction) != split);
            yield return p;
        }
    }

    static void ValidateFraction(double f)
    {
        if (!(f > 0 && f < 1)) throw new ArgumentOutOfRangeException(nameof(f), f, "the held-out fraction must be strictly between 0 and 1.");
    }

    static ulong Fnv1a(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes(s))
        {
            h ^= b;
            h *= 1099511628211UL;
        }
        return h;
    }
}
