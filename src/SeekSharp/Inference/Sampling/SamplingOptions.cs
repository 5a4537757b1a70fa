namespace SeekSharp.Inference.Sampling;

/// <summary>Sampling settings, with llama.cpp's defaults. Applied in llama.cpp's order: penalties, top-k, top-p, min-p, temperature, draw.</summary>
public sealed record SamplingOptions
{
    /// <summary>Divides logits before drawing; 0 or less means greedy (argmax).</summary>
    public float Temperature { get; init; } = 0.8f;
    /// <summary>Keep the K most likely tokens; 0 or less disables.</summary>
    public int TopK { get; init; } = 40;
    /// <summary>Keep the smallest set of most likely tokens whose probability reaches P; 1 disables.</summary>
    public float TopP { get; init; } = 0.95f;
    /// <summary>Drop tokens less likely than MinP times the most likely one; 0 disables.</summary>
    public float MinP { get; init; } = 0.05f;
    /// <summary>Divides positive (multiplies negative) logits of recently seen tokens; 1 disables.</summary>
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

    /// <summary>Plain argmax decoding.</summary>
    public static SamplingOptions Greedy { get; } = new() { Temperature = 0f };
}
