using System.Globalization;

namespace SeekSharp.Training.Tasks;

/// <summary>
/// The sentences a task asks its question in: templates with <c>{0}</c> and <c>{1}</c>, split into the trained two
/// thirds and a held-out third. The held-out sentences are shapes that no task's trained phrasings use ("What do you get
/// when…", "If you…, what is the result?", "Can you tell me…", "Quick question:"…), while their operation words (add,
/// minus, product, make…) are ones the trained phrasings teach: a new way of asking, not a new word for the operation.
/// </summary>
/// <remarks>
/// Trained sentences are sometimes framed by a task-neutral opener ("Hey, ", "Try this: ") and closer (" Thanks!") or a
/// tail joined by a comma in place of the final stop (", okay?"), the sentence's first letter lower-cased after a comma or
/// colon. Without that, each task's fourteen sentences were each
/// learned whole: a model trained on them answered 99 % of 3×3-digit additions asked in them but 36 % asked in the
/// held-out ones (validation split), taking "when you add 499 to 468" for a subtraction. Frames shared by every task
/// carry no hint of the operation, and the lower-cased verbs ("Hey, add …") are the words the model must key on. Held-out
/// sentences are asked exactly as written. The frames avoid the held-out sentences' words (please, tell, can you,
/// quick, question, result, work out).
/// The tails came from a model trained without them: it answered held-out subtractions asked as "If you subtract 8 from
/// 47, what is the result?" with countdown expressions (0 of 48, test split), and did the same for "Subtract 8 from 47,
/// and what remains?" but not for "Subtract 8 from 47. What is the result?". Its only trained sentences with a number
/// before a comma were countdown's lists ("Using 8, 4, 9, make 47."), so it read the comma as a list.
/// </remarks>
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

    /// <summary>Openers put before a third of the trained sentences.</summary>
    internal static readonly string[] Openers =
        ["Hi! ", "Hello. ", "Hey, ", "OK, ", "So, ", "Now, ", "Next one: ", "Try this: ", "Homework: ", "Here is one: ", "Help me with this: ", "Hmm, "];

    /// <summary>Closers put after a quarter of the trained sentences.</summary>
    internal static readonly string[] Closers = [" Thanks!", " Thank you.", " Show your steps.", " Think step by step.", " Take your time.", " :)"];

    /// <summary>Tails put after a quarter of the trained sentences, replacing their final stop.</summary>
    internal static readonly string[] Tails = [", okay?", ", right?", ", thanks!", ", thank you.", ", step by step.", ", and show your steps."];

    /// <summary>Fills a template drawn uniformly from <paramref name="set"/>, framed as the remarks say when trained. It
    /// takes the same three draws from <paramref name="rng"/> whatever the set, so both sets ask the same stream of
    /// problems.</summary>
    public string Format(Random rng, PhrasingSet set, object a, object b)
    {
        var templates = Of(set);
        string sentence = string.Format(CultureInfo.InvariantCulture, templates[rng.Next(templates.Count)], a, b);
        int opener = rng.Next(Openers.Length * 3), closer = rng.Next(Closers.Length * 4);
        if (set == PhrasingSet.HeldOut) return sentence;
        if (opener < Openers.Length)
        {
            string o = Openers[opener];
            bool continues = o.EndsWith(", ", StringComparison.Ordinal) || o.EndsWith(": ", StringComparison.Ordinal);
            if (continues && char.IsUpper(sentence[0]) && !sentence.StartsWith("I ", StringComparison.Ordinal))
                sentence = char.ToLowerInvariant(sentence[0]) + sentence[1..];
            sentence = o + sentence;
        }
        if (closer < Closers.Length) return sentence + Closers[closer];
        closer -= Closers.Length;
        if (closer >= Tails.Length) return sentence;
        return (sentence[^1] is '.' or '?' or '!' ? sentence[..^1] : sentence) + Tails[closer];
    }
}
