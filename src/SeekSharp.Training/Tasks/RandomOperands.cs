namespace SeekSharp.Training.Tasks;

/// <summary>Operands with a chosen number of digits.</summary>
internal static class RandomOperands
{
    /// <summary>A number whose digit count is uniform in [minDigits, maxDigits], then uniform among numbers with that
    /// many digits (one digit: 0-9), so short and long operands are equally common.</summary>
    public static long WithDigits(Random rng, int minDigits, int maxDigits)
    {
        int digits = rng.Next(minDigits, maxDigits + 1);
        long low = digits == 1 ? 0 : Pow10(digits - 1);
        return low + rng.NextInt64(Pow10(digits) - low);
    }

    public static long Pow10(int n)
    {
        long p = 1;
        for (int i = 0; i < n; i++) p *= 10;
        return p;
    }
}
