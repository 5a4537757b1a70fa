using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using SeekSharp.Server.Hosting;

namespace SeekSharp.Web.Tests;

/// <summary><c>seek serve</c> in this process on a free loopback port, with the bundled model and its own chat database.</summary>
public sealed class AppServer : IAsyncDisposable
{
    AppServer(ServerOptions options) => Options = options;

    public ServerOptions Options { get; }
    public WebApplication App { get; private set; } = null!;
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>
    /// Paces the bundled model (hundreds of tokens a second here) to a token every 15 ms per sequence, about the speed
    /// of a 7B model on a laptop: fast enough for the tests, slow enough that a browser sees an answer arrive in many
    /// pieces and can press stop in the middle of one, on any machine.
    /// </summary>
    public static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(15);

    public static async Task<AppServer> StartAsync(string databasePath, string? apiKey = null)
    {
        var server = new AppServer(new ServerOptions
        {
            ModelPath = Paths.BundledModel, Port = 0, Parallel = 2, ContextLength = 2048, ShutdownGrace = TimeSpan.FromSeconds(1),
            DatabasePath = databasePath, ApiKey = apiKey, MinStepInterval = Pace,
        });
        server.App = SeekServer.Build(server.Options, b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        await server.App.StartAsync();
        server.BaseAddress = SeekServer.BaseAddress(server.App);
        await SeekServer.Models(server.App).Loading;
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await App.StopAsync(stop.Token);
        await App.DisposeAsync();
    }
}

public static class Paths
{
    public static string RepoRoot { get; } = FindRoot();

    public static string BundledModel => Path.Combine(RepoRoot, "models", "seeksharp-r1-tiny.gguf");

    /// <summary>Where the browser tests write their screenshots and figures: artifacts/web/ at the repository's root.</summary>
    public static string Artifacts
    {
        get
        {
            string dir = Path.Combine(RepoRoot, "artifacts", "web");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "models", "seeksharp-r1-tiny.gguf"))) return dir.FullName;
        throw new FileNotFoundException("models/seeksharp-r1-tiny.gguf not found above " + AppContext.BaseDirectory);
    }
}
