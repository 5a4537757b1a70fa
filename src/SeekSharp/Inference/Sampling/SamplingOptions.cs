using System.Globalization;

namespace SeekSharp.Inference.Sampling;

/// <summary>Sampling settings, with llama.cpp's defaults. Applied in llama.cpp's order: penalties, top-k, top-p, min-p, temperature, draw.</summary>
public sealed record SamplingOptions
{
    /// <summary>Divides logits before drawing; 0 means greedy (argmax). Must be finite and not negative.</summary>
    public float Temperature { get; init; } = 0.8f;
    /// <summary>Keep the K most likely tokens; 0 disables. Must not be negative.</summary>
    public int TopK { get; init; } = 40;
    /// <summary>Keep the smallest set of most likely tokens whose probability reaches P, in (0, 1]; 1 disables.</summary>
    public float TopP { get; init; } = 0.95f;
    /// <summary>Drop tokens less likely than MinP times the most likely one, in [0, 1]; 0 disables.</summary>
    public float MinP { get; init; } = 0.05f;
    /// <summary>Divides positive (multiplies negative) logits of recently seen tokens; 1 disables. Must be finite and positive.</summary>
    public float RepeatPenalty { get; init; } = 1f;
    /// <summary>Subtracted once from the logit of every recently seen token.</summary>
    public float PresencePenalty { get; init; }
    /// <summary>Subtracted per occurrence from the logit of recently seen tokens.</summary>
    public float FrequencyPenalty { get; init; }
    /// <summary>How many recent tokens the penalties look at.</summary>
    public int PenaltyLastN { get; init; } = 64;
    /// <summary>Seed of the random draw; the same seed and settings give the same output.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>True when sampling reduces to argmax.</summary>
    public bool IsGreedy => Temperature <= 0f;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> for the first setting out of range, naming it and its value: temperature
    /// finite and ≥ 0, top-k ≥ 0, top-p in (0, 1], min-p in [0, 1], repeat penalty finite and &gt; 0, presence and
    /// frequency penalties finite, penalty window ≥ 0. NaN fails every check (a NaN temperature would draw at random).
    /// </summary>
    /// <param name="name">
    /// Maps a property name (<c>nameof(Temperature)</c>...) to the name the user knows it by, e.g. a command-line flag;
    /// null uses the property name.
    /// </param>
    public void Validate(Func<string, string>? name = null)
    {
        name ??= static n => n;
        static string Show(float v) => v.ToString(CultureInfo.InvariantCulture);
        ArgumentException Bad(string property, string value, string expected) =>
            new($"{name(property)} must be {expected}, got {value}");

        if (!(float.IsFinite(Temperature) && Temperature >= 0f))
            throw Bad(nameof(Temperature), Show(Temperature), "a finite number of 0 or more (0 is greedy)");
        if (TopK < 0)
            throw Bad(nameof(TopK), TopK.ToString(CultureInfo.InvariantCulture), "0 or more (0 disables it)");
        // 0 is allowed (OpenAI's API takes it): the top token alone reaches any cumulative mass of 0, so it is kept.
        if (!(TopP >= 0f && TopP <= 1f))
            throw Bad(nameof(TopP), Show(TopP), "between 0 and 1 (1 disables it; 0 keeps only the most likely token)");
        if (!(MinP >= 0f && MinP <= 1f))
            throw Bad(nameof(MinP), Show(MinP), "between 0 and 1 (0 disables it)");
        if (!(float.IsFinite(RepeatPenalty) && RepeatPenalty > 0f))
            throw Bad(nameof(RepeatPenalty), Show(RepeatPenalty), "a finite number more than 0 (1 disables it)");
        if (!float.IsFinite(PresencePenalty))
            throw Bad(nameof(PresencePenalty), Show(PresencePenalty), "a finite number (0 disables it)");
        if (!float.IsFinite(FrequencyPenalty))
            throw Bad(nameof(FrequencyPenalty), Show(FrequencyPenalty), "a finite number (0 disables it)");
        if (PenaltyLastN < 0)
            throw Bad(nameof(PenaltyLastN), PenaltyLastN.ToString(CultureInfo.InvariantCulture), "0 or more (0 disables the penalties)");
    }

    /// <summary>Plain argmax decoding.</summary>
    public static SamplingOptions Greedy { get; } = new() { Temperature = 0f };
}
