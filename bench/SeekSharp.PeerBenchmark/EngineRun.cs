using System.Text.Json.Serialization;

namespace SeekSharp.PeerBenchmark;

/// <summary>One child process's measurement at one depth (tokens already cached), in <c>seek bench --json</c>'s format.</summary>
internal sealed record EngineRun(
    [property: JsonPropertyName("pp_tps")] double PromptTps,
    [property: JsonPropertyName("tg_tps")] double GenerationTps,
    [property: JsonPropertyName("load_s")] double LoadSeconds,
    [property: JsonPropertyName("rss_mb")] double PeakRssMb,
    [property: JsonPropertyName("n_depth")] int Depth);
