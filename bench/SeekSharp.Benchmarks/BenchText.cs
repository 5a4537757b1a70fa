using System.Text;

namespace SeekSharp.Benchmarks;

/// <summary>The tokenizer workload: the test corpus (English, code, CJK, other scripts, edge cases) repeated to about 1 MB.</summary>
internal static class BenchText
{
    /// <summary>Smallest UTF-8 size of the assembled text; whole corpus passes are appended until it is reached.</summary>
    public const int TargetBytes = 1 << 20;

    static readonly Lazy<string> text = new(Build);

    /// <summary>The text; identical in the host and in every benchmark process, so throughput can be computed by the host.</summary>
    public static string Text => text.Value;

    /// <summary>UTF-8 size of <see cref="Text"/>: the bytes a tokenizer reads per encode and writes per decode.</summary>
    public static long Utf8Bytes => Encoding.UTF8.GetByteCount(Text);

    static string Build()
    {
        var files = Directory.GetFiles(RepoPaths.Corpus, "*.txt").Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0)
        {
            throw new InvalidOperationException($"No *.txt in {RepoPaths.Corpus}; the tokenizer benchmarks need the test corpus.");
        }
        // Files are joined in a fixed order so every process sees the same text; a pass ends on a file boundary.
        string pass = string.Concat(files.Select(File.ReadAllText));
        int passBytes = Encoding.UTF8.GetByteCount(pass);
        int passes = (TargetBytes + passBytes - 1) / passBytes;
        return string.Concat(Enumerable.Repeat(pass, passes));
    }
}
