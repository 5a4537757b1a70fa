namespace SeekSharp.Server.Hosting;

/// <summary>What <c>seek serve</c> serves and how: the model, the address, the scheduler's sizes and the limits.</summary>
public sealed record ServerOptions
{
    /// <summary>Path of the GGUF model to serve.</summary>
    public required string ModelPath { get; init; }
    /// <summary>Name clients use for the model besides its own (general.name) and the file name (llama.cpp's --alias).</summary>
    public string? Alias { get; init; }
    /// <summary>Interface to listen on.</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>TCP port; 0 lets the system pick a free one (see <see cref="SeekServer.BaseAddress"/>).</summary>
    public int Port { get; init; } = 8080;
    /// <summary>Most sequences generated together (the scheduler's batch width).</summary>
    public int Parallel { get; init; } = 4;
    /// <summary>Positions one request may use, prompt plus answer; 0: the model's, at most 4096.</summary>
    public int ContextLength { get; init; }
    /// <summary>Positions the KV page pool holds over all requests; 0: parallel × context.</summary>
    public int KvSize { get; init; }
    /// <summary>Requests that may wait for a slot before new ones get 429; 0: the scheduler's default.</summary>
    public int MaxWaiting { get; init; }
    /// <summary>When set, every endpoint but /health requires <c>Authorization: Bearer KEY</c>.</summary>
    public string? ApiKey { get; init; }
    /// <summary>Largest request body accepted (413 above it).</summary>
    public long MaxRequestBodyBytes { get; init; } = 4 * 1024 * 1024;
    /// <summary>On shutdown, how long running requests may go on before they are cancelled.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Time a client has to send its request headers before the connection is closed (slow or idle clients).</summary>
    public TimeSpan RequestHeadersTimeout { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>After this long without an event, an SSE stream gets a <c>: keep-alive</c> comment.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>Chat template to use instead of the model's (Jinja text), or null.</summary>
    public string? ChatTemplate { get; init; }
    /// <summary>The scheduler's <see cref="Serving.SchedulerOptions.MinStepInterval"/>: tests of streaming pages pace the bundled model with it.</summary>
    internal TimeSpan MinStepInterval { get; init; }
    /// <summary>The chat app's SQLite database (<c>--db</c>); null: <see cref="DefaultDatabasePath"/>. Created on the app's first use.</summary>
    public string? DatabasePath { get; init; }

    /// <summary>chats.db in the user's data folder: <c>$XDG_DATA_HOME/seeksharp</c> or <c>~/.local/share/seeksharp</c> on Linux,
    /// <c>%LOCALAPPDATA%\seeksharp</c> on Windows, <c>~/Library/Application Support/seeksharp</c> on macOS.</summary>
    public static string DefaultDatabasePath =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "seeksharp", "chats.db");

    /// <summary>Throws <see cref="ArgumentException"/> for the first value out of range, in the words of seek serve's flags.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535) throw new ArgumentException($"--port must be between 0 and 65535, got {Port}");
        if (Parallel < 1) throw new ArgumentException($"--parallel must be 1 or more, got {Parallel}");
        if (ContextLength < 0) throw new ArgumentException($"--ctx must be a positive number of tokens (or 0 for the model's own length), got {ContextLength}");
        if (KvSize < 0) throw new ArgumentException($"--kv-size must be 0 or more, got {KvSize}");
        if (MaxWaiting < 0) throw new ArgumentException($"the waiting-queue limit must be 0 or more, got {MaxWaiting}");
        if (ApiKey is { Length: 0 }) throw new ArgumentException("--api-key must not be empty");
        if (MaxRequestBodyBytes < 1024) throw new ArgumentException($"the request body limit must be at least 1024 bytes, got {MaxRequestBodyBytes}");
        if (KeepAliveInterval <= TimeSpan.Zero) throw new ArgumentException($"the keep-alive interval must be positive, got {KeepAliveInterval}");
        if (string.IsNullOrWhiteSpace(Host)) throw new ArgumentException("--host must not be empty");
        if (DatabasePath is { } db && string.IsNullOrWhiteSpace(db)) throw new ArgumentException("--db must not be empty");
    }
}
