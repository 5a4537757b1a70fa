namespace SeekSharp.Tokenization;

/// <summary>
/// Ordinal string comparer that always uses the randomized (Marvin) hash. The runtime's default ordinal
/// comparer starts with a cheap non-randomized hash, and byte-level token texts (runs of U+0100..U+0143
/// such as "ĠĠĠ") fall into long collision chains with it: lookups became microseconds each.
/// Also serves span lookups so words can be found without allocating strings.
/// </summary>
internal sealed class TokenTextComparer : IEqualityComparer<string>, IAlternateEqualityComparer<ReadOnlySpan<char>, string>
{
    public static readonly TokenTextComparer Instance = new();

    public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);
    public int GetHashCode(string s) => string.GetHashCode(s.AsSpan());
    public bool Equals(ReadOnlySpan<char> alternate, string other) => alternate.SequenceEqual(other);
    public int GetHashCode(ReadOnlySpan<char> alternate) => string.GetHashCode(alternate);
    public string Create(ReadOnlySpan<char> alternate) => new(alternate);
}
