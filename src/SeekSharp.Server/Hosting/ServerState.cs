using SeekSharp.Server.Metrics;

namespace SeekSharp.Server.Hosting;

/// <summary>What every endpoint shares: the model host, the metrics and the options.</summary>
internal sealed record ServerState(ModelHost Host, ServerMetrics Metrics, ServerOptions Options)
{
    /// <summary>When the server started (Ollama's created_at / expires_at reference).</summary>
    public DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;
}
