using System.CommandLine;
using SeekSharp.Inference.Sampling;

namespace SeekSharp.Cli.Commands;

/// <summary>The sampling flags of <c>seek run</c> and <c>seek chat</c>, and the checks chat's <c>/set</c> shares with them.</summary>
internal static partial class Common
{
    /// <summary>Checks sampling flags once, naming the flag and the value the user gave (see <see cref="SamplingOptions.Validate"/>).</summary>
    public static SamplingOptions CheckSampling(SamplingOptions options, Func<string, string> name)
    {
        options.Validate(name);
        return options;
    }

    /// <summary>The command-line flag of each <see cref="SamplingOptions"/> property.</summary>
    public static string SamplingFlag(string property) => property switch
    {
        nameof(SamplingOptions.Temperature) => "--temp",
        nameof(SamplingOptions.TopK) => "--top-k",
        nameof(SamplingOptions.TopP) => "--top-p",
        nameof(SamplingOptions.MinP) => "--min-p",
        nameof(SamplingOptions.RepeatPenalty) => "--repeat-penalty",
        nameof(SamplingOptions.PresencePenalty) => "--presence-penalty",
        nameof(SamplingOptions.FrequencyPenalty) => "--frequency-penalty",
        nameof(SamplingOptions.PenaltyLastN) => "--repeat-last-n",
        _ => "--" + property.ToLowerInvariant(),
    };

    /// <summary>
    /// The sampling flags shared by <c>seek run</c> and <c>seek chat</c> (same names, defaults and checks):
    /// <c>--temp --top-k --top-p --min-p --repeat-penalty --presence-penalty --frequency-penalty --seed/-s</c>.
    /// </summary>
    public sealed class SamplingFlags
    {
        private static readonly SamplingOptions D = new();
        public readonly Option<float> Temp = new("--temp") { Description = "Temperature; 0 is greedy", DefaultValueFactory = _ => D.Temperature };
        public readonly Option<int> TopK = new("--top-k") { Description = "Top-k (0 disables)", DefaultValueFactory = _ => D.TopK };
        public readonly Option<float> TopP = new("--top-p") { Description = "Top-p (1 disables)", DefaultValueFactory = _ => D.TopP };
        public readonly Option<float> MinP = new("--min-p") { Description = "Min-p (0 disables)", DefaultValueFactory = _ => D.MinP };
        public readonly Option<float> Repeat = new("--repeat-penalty") { Description = "Repetition penalty (1 disables)", DefaultValueFactory = _ => D.RepeatPenalty };
        public readonly Option<float> Presence = new("--presence-penalty") { Description = "Presence penalty", DefaultValueFactory = _ => D.PresencePenalty };
        public readonly Option<float> Frequency = new("--frequency-penalty") { Description = "Frequency penalty", DefaultValueFactory = _ => D.FrequencyPenalty };
        public readonly Option<int> Seed = new("--seed", "-s") { Description = "Random seed", DefaultValueFactory = _ => D.Seed };

        /// <summary>Adds the flags to <paramref name="command"/>.</summary>
        public SamplingFlags AddTo(Command command)
        {
            foreach (var o in new Option[] { Temp, TopK, TopP, MinP, Repeat, Presence, Frequency, Seed }) command.Options.Add(o);
            return this;
        }

        /// <summary>The flags' values (defaults where not given), checked with <see cref="CheckSampling"/>.</summary>
        public SamplingOptions Read(ParseResult r) => CheckSampling(new SamplingOptions
        {
            Temperature = r.GetValue(Temp), TopK = r.GetValue(TopK), TopP = r.GetValue(TopP), MinP = r.GetValue(MinP),
            RepeatPenalty = r.GetValue(Repeat), PresencePenalty = r.GetValue(Presence), FrequencyPenalty = r.GetValue(Frequency),
            Seed = r.GetValue(Seed),
        }, SamplingFlag);

        /// <summary>
        /// Replaces in a base (the model's advised defaults in chat) only the values the user gave on the command line;
        /// the values are checked now, before any model is loaded.
        /// </summary>
        public Func<SamplingOptions, SamplingOptions> Overrides(ParseResult r)
        {
            var given = Read(r);
            bool Given(Option o) => IsGiven(r, o);
            return s => s with
            {
                Temperature = Given(Temp) ? given.Temperature : s.Temperature,
                TopK = Given(TopK) ? given.TopK : s.TopK,
                TopP = Given(TopP) ? given.TopP : s.TopP,
                MinP = Given(MinP) ? given.MinP : s.MinP,
                RepeatPenalty = Given(Repeat) ? given.RepeatPenalty : s.RepeatPenalty,
                PresencePenalty = Given(Presence) ? given.PresencePenalty : s.PresencePenalty,
                FrequencyPenalty = Given(Frequency) ? given.FrequencyPenalty : s.FrequencyPenalty,
                Seed = Given(Seed) ? given.Seed : s.Seed,
            };
        }
    }

    /// <summary>Most tokens to generate: at least 1 (null: no limit).</summary>
    public static int? CheckMaxTokens(int? value, string flag)
        => value is < 1 ? throw new ArgumentException($"{flag} must be at least 1, got {value}") : value;
}
