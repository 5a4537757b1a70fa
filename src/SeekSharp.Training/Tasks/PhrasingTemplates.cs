using System.Globalization;

namespace SeekSharp.Training.Tasks;

/// <summary>
/// The sentences a task asks its question in: templates with <c>{0}</c> and <c>{1}</c>, split into the trained two
/// thirds and a held-out third. The held-out sentences are shapes that no task's trained phrasings use ("What do you get
/// when…", "If you…, what is the result?", "Can you tell me…", "Quick question:"…), while their operation words (add,
/// minus, product, make…) are ones the trained phrasings teach: a new way of asking, not a new word for the operation.
/// </summary>
internal sealed class PhrasingTemplates
{
    readonly string[] trained, heldOut;

    public PhrasingTemplates(string[] trained, string[] heldOut)
    {
        if (trained.Length == 0 || heldOut.Length == 0) throw new ArgumentException("a task needs trained and held-out phrasings.");
        if (trained.Intersect(heldOut, StringComparer.Ordinal).Any()) throw new ArgumentException("a phrasing is both trained and held out.");
        (this.trained, this.heldOut) = (trained, heldOut);
    }

    /// <summary>The templates of <paramref name="set"/>.</summary>
    public IReadOnlyList<string> Of(PhrasingSet set) => set == PhrasingSet.HeldOut ? heldOut : trained;

    /// <summary>Fills a template drawn uniformly from <paramref name="set"/>. It takes one draw from
    /// <paramref name="rng"/> whatever the set, so both sets ask the same stream of problems.</summary>
    public string Format(Random rng, PhrasingSet set, object a, object b)
    {
        var templates = Of(set);
        return string.Format(CultureInfo.InvariantCulture, templates[rng.Next(templates.Count)], a, b);
    }
}
