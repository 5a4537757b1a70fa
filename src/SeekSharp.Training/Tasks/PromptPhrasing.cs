using System.Globalization;

namespace SeekSharp.Training.Tasks;

/// <summary>Varied natural phrasings of one question, so a model learns the task rather than one sentence.</summary>
internal static class PromptPhrasing
{
    /// <summary>Fills a template drawn uniformly from <paramref name="templates"/> ({0}, {1} placeholders).</summary>
    public static string Format(Random rng, IReadOnlyList<string> templates, object a, object b) =>
        string.Format(CultureInfo.InvariantCulture, templates[rng.Next(templates.Count)], a, b);
}
