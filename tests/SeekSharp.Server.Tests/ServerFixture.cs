using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using SeekSharp.Server.Hosting;

namespace SeekSharp.Server.Tests;

/// <summary>
/// A real <c>seek serve</c> on 127.0.0.1 and a free port over the bundled tiny model, started once per test class
/// (<c>IClassFixture&lt;ServerFixture&gt;</c>) or collection. Derive with other <see cref="ServerOptions"/> (see
/// <see cref="ApiKeyServerFixture"/>) for an API key, another parallelism or context. <see cref="InitializeAsync"/>
/// returns once /health answers 200, i.e. the model is loaded.
/// </summary>
public class ServerFixture : IAsyncLifetime
{
    /// <summary>Context of the default fixture: small, so that "a prompt over the context" is cheap to build.</summary>
    public const int DefaultContext = 1024;

    public ServerFixture() : this(o => o) { }

    /// <param name="configure">Changes to the default options (port 0, parallel 4, context <see cref="DefaultContext"/>).</param>
    protected ServerFixture(Func<ServerOptions, ServerOptions> configure)
    {
        Options = configure(new ServerOptions { ModelPath = BundledModelPath(), Port = 0, Parallel = 4, ContextLength = DefaultContext, ShutdownGrace = TimeSpan.FromSeconds(2) });
    }

    public ServerOptions Options { get; }
    public WebApplication App { get; private set; } = null!;
    /// <summary>http://127.0.0.1:PORT/</summary>
    public Uri BaseAddress { get; private set; } = null!;
    /// <summary>The name /v1/models reports.</summary>
    public string ModelId => SeekServer.Models(App).Model!.Id;

    public static string BundledModelPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "models", "seeksharp-r1-tiny.gguf");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("models/seeksharp-r1-tiny.gguf not found above " + AppContext.BaseDirectory);
    }

    public async Task InitializeAsync()
    {
        App = SeekServer.Build(Options, b => b.Logging.SetMinimumLevel(LogLevel.Warning));
        await App.StartAsync();
        BaseAddress = SeekServer.BaseAddress(App);
        using var client = CreateClient();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            using var health = await client.GetAsync("health", deadline.Token);
            if (health.IsSuccessStatusCode) break;
            if ((int)health.StatusCode != 503)
                throw new InvalidOperationException($"the server did not load the model: {(int)health.StatusCode} {await health.Content.ReadAsStringAsync()}");
            await Task.Delay(50, deadline.Token);
        }
    }

    /// <summary>A client for this server, sending the fixture's API key when it has one; 60 s timeout.</summary>
    public HttpClient CreateClient(string? apiKey = null)
    {
        // MaxResponseDrainSize 0: a response disposed before its end closes the connection, as a client that walks away
        // does. By default the handler reads the rest of the answer to reuse the connection, so the server would never
        // learn of the disconnect (whether it did depended on how fast the answer ended).
        var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if ((apiKey ?? Options.ApiKey) is { } key) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public async Task DisposeAsync()
    {
        if (App is null) return;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await App.StopAsync(stop.Token);
        await App.DisposeAsync();
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}

/// <summary>A server that requires <see cref="Key"/>.</summary>
public sealed class ApiKeyServerFixture() : ServerFixture(o => o with { ApiKey = Key })
{
    public const string Key = "sk-test-0123456789";
}
