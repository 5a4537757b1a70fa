using System.Globalization;

namespace SeekSharp.Training.Tasks;

/// <summary>
/// How many digits an operand has: between <see cref="Min"/> and <see cref="Max"/>, drawn uniformly over the count and
/// then uniformly among numbers of that length (one digit: 0-9). Written <c>3</c> (exactly three) or <c>1-3</c>.
/// </summary>
/// <param name="Min">Fewest digits (at least 1).</param>
/// <param name="Max">Most digits (at least <paramref name="Min"/>).</param>
public readonly record struct DigitRange(int Min, int Max)
{
    /// <summary>Exactly <paramref name="digits"/> digits.</summary>
    public static DigitRange Exactly(int digits) => new(digits, digits);

    /// <summary>Parses <c>N</c> or <c>N-M</c>.</summary>
    /// <exception cref="ArgumentException">Not of that form, or min above max, or outside 1..<paramref name="limit"/>.</exception>
    public static DigitRange Parse(string text, int limit = 15)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Trim().Split('-');
        if (parts.Length is < 1 or > 2 || !parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            throw new ArgumentException($"digit count '{text}': expected N or N-M, e.g. 3 or 1-3.");
        int min = int.Parse(parts[0], CultureInfo.InvariantCulture);
        int max = parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : min;
        var range = new DigitRange(min, max);
        range.Validate(limit);
        return range;
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when the range is empty or outside 1..<paramref name="limit"/>.</summary>
    public void Validate(int limit)
    {
        if (Min < 1 || Max < Min || Max > limit)
            throw new ArgumentOutOfRangeException(null, $"digit counts must satisfy 1 <= min ({Min}) <= max ({Max}) <= {limit}.");
    }

    /// <summary>A number with a digit count in this range.</summary>
    public long Draw(Random rng) => RandomOperands.WithDigits(rng, Min, Max);

    /// <summary><c>3</c> or <c>1-3</c>: the form <see cref="Parse"/> reads.</summary>
    public override string ToString() =>
        Min == Max ? Min.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{Min}-{Max}");
}

/// <summary>The digit ranges of a two-operand task's left and right operands, written <c>3x3</c> or <c>1-3x1-2</c>.</summary>
/// <param name="Left">Digits of the first operand.</param>
/// <param name="Right">Digits of the second operand.</param>
public readonly record struct OperandDigits(DigitRange Left, DigitRange Right)
{
    /// <summary>
    /// Parses the <c>--digits</c> forms: <c>A</c> (both operands A), <c>A,B</c> or <c>AxB</c>, where A and B are
    /// <c>N</c> or <c>N-M</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Not of that form or out of range.</exception>
    public static OperandDigits Parse(string text, int limit = 15)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Split(text.Contains(',') ? ',' : 'x');
        if (parts.Length > 2 || parts.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException($"--digits '{text}': expected A or A,B (A and B each N or N-M), e.g. 3, 3,2 or 1-3.");
        var left = DigitRange.Parse(parts[0], limit);
        return new OperandDigits(left, parts.Length == 2 ? DigitRange.Parse(parts[1], limit) : left);
    }

    /// <summary><c>AxB</c>.</summary>
    public override string ToString() => $"{Left}x{Right}";
}
