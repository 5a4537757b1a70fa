using System.Text;

namespace SeekSharp.Training.Tasks;

/// <summary>
/// Seeded problem streams inside one part of a train / validation / test partition. The partition hashes the task name
/// and <see cref="Problem.Key"/> (FNV-1a, 64 bit: stable across runs and platforms, unlike string.GetHashCode) into a
/// million buckets, so it is fixed per problem and independent of the seed and of the operand lengths asked for: no seed
/// can draw a held-out problem into training, and a 3x3-digit test problem is a test problem in every mix.
/// </summary>
/// <remarks>
/// The held-out fraction (10 % by default) is halved: its first half of buckets is the test split, the second the
/// validation split. The train split is the rest, the same buckets as when held-out problems were one split, so models
/// trained before the split was halved never saw a validation or test problem.
/// </remarks>
public static class ProblemSets
{
    /// <summary>Fraction of the problem space kept out of training (validation and test together) unless a caller says otherwise.</summary>
    public const double DefaultHeldOutFraction = 0.1;

    const ulong Buckets = 1_000_000;

    // Rejection sampling gives up after this many draws in a row outside the split (a split too small to sample).
    const int MaxAttempts = 10_000;

    // Distinct sampling stops after this many draws in a row inside the split that were all repeats: the split holds
    // (nearly) no further problem of this task.
    const int MaxRepeats = 10_000;

    /// <summary>The split <paramref name="problem"/> falls in.</summary>
    public static ProblemSplit SplitOf(Problem problem, double heldOutFraction = DefaultHeldOutFraction)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ValidateFraction(heldOutFraction);
        ulong bucket = Fnv1a(problem.Task + "/" + problem.Key) % Buckets;
        ulong heldOut = (ulong)(heldOutFraction * Buckets);
        return bucket < heldOut / 2 ? ProblemSplit.Test : bucket < heldOut ? ProblemSplit.Validation : ProblemSplit.Train;
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

    /// <summary>
    /// Up to <paramref name="count"/> problems of <paramref name="task"/> in <paramref name="split"/> with no two of one
    /// <see cref="Problem.Key"/> (a+b and b+a are one problem), the same for the same seed. Fewer come back when the
    /// split holds fewer distinct problems (e.g. one-digit addition): the caller reports how many it got.
    /// </summary>
    /// <exception cref="InvalidOperationException">The split is (nearly) empty for this task.</exception>
    public static IReadOnlyList<Problem> Distinct(IReasoningTask task, ProblemSplit split, int seed, int count,
        double heldOutFraction = DefaultHeldOutFraction)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ValidateFraction(heldOutFraction);
        var problems = new List<Problem>(count);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        int repeats = 0;
        using var stream = Iterate(task, split, seed, int.MaxValue, heldOutFraction).GetEnumerator();
        while (problems.Count < count && repeats < MaxRepeats && stream.MoveNext())
        {
            if (keys.Add(stream.Current.Key))
            {
                problems.Add(stream.Current);
                repeats = 0;
            }
            else repeats++;
        }
        return problems;
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
