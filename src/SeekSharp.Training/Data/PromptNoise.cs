using System.Text;
using SeekSharp.Training.Model;

namespace SeekSharp.Training.Data;

/// <summary>
/// Training-time noise for user messages: one or two words inserted between the words of a question, half of them
/// everyday filler and half made-up letter strings. A model that has only ever seen its own sentences reads an
/// unfamiliar word as a different question; one that has seen words come and go learns that the numbers and the
/// operation word carry the question. The filler avoids the words of the held-out phrasings (please, tell, can, quick,
/// question, result, work, out, get, equals), so no held-out sentence reaches training through it.
/// </summary>
internal static class PromptNoise
{
    static readonly string[] Filler =
        ["really", "just", "actually", "now", "here", "today", "maybe", "simply", "exactly", "kindly", "okay", "well",
         "then", "again", "also", "friend", "teacher", "homework", "puzzle", "numbers", "fast", "hmm", "sure", "thanks"];

    /// <summary><paramref name="text"/> with one or two noise words inserted at word boundaries.</summary>
    public static string Insert(string text, TrainingRandom random)
    {
        var words = new List<string>(text.Split(' '));
        int count = 1 + random.NextInt(2);
        for (int i = 0; i < count; i++)
        {
            string word = random.NextInt(2) == 0 ? Filler[random.NextInt(Filler.Length)] : PseudoWord(random);
            words.Insert(random.NextInt(words.Count + 1), word);
        }
        return string.Join(' ', words);
    }

    static string PseudoWord(TrainingRandom random)
    {
        int length = 3 + random.NextInt(6);
        var sb = new StringBuilder(length);
        for (int i = 0; i < length; i++) sb.Append((char)('a' + random.NextInt(26)));
        return sb.ToString();
    }
}
