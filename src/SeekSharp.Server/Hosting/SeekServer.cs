using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SeekSharp.Server.App;
using SeekSharp.Server.Metrics;
using SeekSharp.Server.Ollama;
using SeekSharp.Server.OpenAi;

namespace SeekSharp.Server.Hosting;

/// <summary>
/// Builds <c>seek serve</c>: Kestrel with the OpenAI / DeepSeek and Ollama APIs, the chat app (page at /, API at /app/api), /health and /metrics over one
/// <see cref="Serving.Scheduler"/>. The model loads in the background once the server listens (/health answers 503
/// meanwhile). On shutdown (SIGTERM, Ctrl+C, <see cref="IHost.StopAsync"/>) Kestrel stops accepting connections while
/// the scheduler lets running requests finish for <see cref="ServerOptions.ShutdownGrace"/> and then cancels the rest.
/// </summary>
public static class SeekServer
{
    /// <summary>Builds the application; run it with <c>RunAsync</c> or <c>StartAsync</c>.</summary>
    /// <param name="options">What to serve; validated here.</param>
    /// <param name="configure">Adjusts the builder before it is built (logging providers, tests' settings).</param>
    public static WebApplication Build(ServerOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(SeekServer).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ "; o.UseUtcTimestamp = true; });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = JsonBody.HardLimit(options.MaxRequestBodyBytes); // the configured limit is JsonBody's
            // Idle or slow clients cost a socket and a timer, not a thread: they are dropped after the headers timeout,
            // and no connection limit is set so they cannot lock others out.
            kestrel.Limits.RequestHeadersTimeout = options.RequestHeadersTimeout;
            kestrel.Limits.MaxConcurrentConnections = null;
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(2);
            if (IPAddress.TryParse(options.Host, out var address)) kestrel.Listen(address, options.Port);
            else if (options.Host is "localhost") kestrel.ListenLocalhost(options.Port);
            else kestrel.ListenAnyIP(options.Port);
        });
        // Kestrel waits this long for requests to end on shutdown; the scheduler's grace comes first.
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownGrace + TimeSpan.FromSeconds(5));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<ModelHost>();
        builder.Services.AddSingleton<ServerMetrics>();
        configure?.Invoke(builder);

        var app = builder.Build();
        var host = app.Services.GetRequiredService<ModelHost>();
        var state = new ServerState(host, app.Services.GetRequiredService<ServerMetrics>(), options);
        var requestLogger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SeekSharp.Server.Requests");

        app.Lifetime.ApplicationStarted.Register(() => host.StartLoading(app.Lifetime.StopApplication));
        app.Lifetime.ApplicationStopping.Register(() => host.StopAsync(options.ShutdownGrace));

        app.Use((http, next) => RequestLog.Middleware(http, next, requestLogger));
        app.Use(ApiErrors.Middleware);
        if (options.ApiKey is { } key) app.Use(new ApiKeyCheck(key).Middleware);

        app.MapGet("/health", (HttpContext http) =>
        {
            state.Host.Require(null); // 503 in the envelope while loading, 500 if loading failed
            http.Response.ContentType = "application/json";
            return http.Response.Body.WriteAsync("{\"status\":\"ok\"}"u8.ToArray()).AsTask();
        });
        app.MapGet("/metrics", (HttpContext http) =>
        {
            var model = state.Host.Model;
            http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            return http.Response.WriteAsync(state.Metrics.Render(model?.Id, model?.Scheduler.GetStats()));
        });
        OpenAiEndpoints.Map(app, state);
        OllamaEndpoints.Map(app, state);
        AppAssets.Map(app);
        var store = new Lazy<ChatStore>(() => new ChatStore(options.DatabasePath ?? ServerOptions.DefaultDatabasePath));
        // A database named with --db opens now, so that a bad path or a newer schema stops the server at once with its
        // message; the default one opens on the app's first call (a server used only through its APIs writes no file).
        if (options.DatabasePath is not null) _ = store.Value;
        AppEndpoints.Map(app, state, store);
        app.Lifetime.ApplicationStopped.Register(() => { if (store.IsValueCreated) store.Value.Dispose(); });
        app.MapFallback((HttpContext http) => throw new ApiException(404,
            $"Unknown request URL: {http.Request.Method} {http.Request.Path}", "invalid_request_error", code: "unknown_url"));
        app.Lifetime.ApplicationStopped.Register(host.Dispose);
        return app;
    }

    /// <summary>The address a started server listens on, e.g. <c>http://127.0.0.1:53211/</c> (the real port when 0 was asked).</summary>
    public static Uri BaseAddress(WebApplication app)
    {
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("the server is not started");
        return new Uri(address.EndsWith('/') ? address : address + "/");
    }

    /// <summary>The model host of <paramref name="app"/>: loading state and the loaded model.</summary>
    public static ModelHost Models(WebApplication app) => app.Services.GetRequiredService<ModelHost>();
}
