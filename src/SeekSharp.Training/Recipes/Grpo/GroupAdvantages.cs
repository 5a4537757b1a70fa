namespace SeekSharp.Training.Recipes.Grpo;

/// <summary>
/// GRPO's baseline: each completion's reward compared with the other completions of the same prompt, so no value
/// model is needed. Glossary: N completions = P prompts × G per group, laid out group after group.
/// </summary>
internal static class GroupAdvantages
{
    /// <summary>
    /// Writes the advantage of every completion: GRPO's <c>(r − mean) / (std + ε)</c> (population standard deviation
    /// of the group), or with <paramref name="drGrpo"/> Dr. GRPO's <c>r − mean</c>. A group whose rewards are all equal
    /// gets advantage 0 everywhere: it carries no signal about which completion is better.
    /// </summary>
    /// <param name="rewards">[N] rewards, group after group.</param>
    /// <param name="groupSize">G; N must be a multiple of it.</param>
    /// <param name="drGrpo">Skip the division by the standard deviation.</param>
    /// <param name="epsilon">ε added to the standard deviation.</param>
    /// <param name="advantages">[N] output.</param>
    public static void Compute(ReadOnlySpan<double> rewards, int groupSize, bool drGrpo, double epsilon, Span<double> advantages)
    {
        if (groupSize < 1 || rewards.Length % groupSize != 0)
            throw new ArgumentException($"{rewards.Length} rewards do not form whole groups of {groupSize}.", nameof(rewards));
        if (advantages.Length != rewards.Length)
            throw new ArgumentException($"advantages has {advantages.Length} entries; there are {rewards.Length} rewards.", nameof(advantages));
        for (int start = 0; start < rewards.Length; start += groupSize)
        {
            var group = rewards.Slice(start, groupSize);
            double mean = 0;
            foreach (double r in group) mean += r;
            mean /= groupSize;
            double variance = 0;
            foreach (double r in group) variance += (r - mean) * (r - mean);
            double scale = drGrpo ? 1.0 : 1.0 / (Math.Sqrt(variance / groupSize) + epsilon);
            for (int i = 0; i < groupSize; i++)
                advantages[start + i] = (group[i] - mean) * scale;
        }
    }
}
