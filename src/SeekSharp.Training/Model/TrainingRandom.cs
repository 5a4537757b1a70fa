namespace SeekSharp.Training.Model;

/// <summary>
/// A seeded random generator whose whole state is one <see cref="ulong"/> (SplitMix64, Steele, Lea and Flood 2014),
/// so a checkpoint can store it and a resumed run draws exactly the numbers the uninterrupted run would have.
/// <see cref="System.Random"/> cannot be saved and restored, which is why training does not use it.
/// </summary>
public sealed class TrainingRandom
{
    /// <summary>Creates a generator from <paramref name="seed"/>; equal seeds give equal sequences on every platform.</summary>
    public TrainingRandom(ulong seed) => State = seed;

    /// <summary>The complete state: assign a saved value to continue a sequence.</summary>
    public ulong State { get; set; }

    /// <summary>The next 64 uniformly random bits.</summary>
    public ulong NextUInt64()
    {
        ulong z = State += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, <paramref name="maxExclusive"/>).</summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxExclusive, 1);
        // Multiply-shift maps 64 random bits onto the range; its bias is below 2^-32 for any int range.
        return (int)(((UInt128)NextUInt64() * (ulong)maxExclusive) >> 64);
    }

    /// <summary>A standard normal sample (Box-Muller; the second value is discarded so the state stays one word).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(); // (0, 1]: keeps the log finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
