using System.CommandLine;
using SeekSharp.Server.Hosting;

namespace SeekSharp.Cli.Commands;

/// <summary>
/// <c>seek serve</c>: the chat app (<c>/</c>), the OpenAI / DeepSeek (<c>/v1/...</c>) and Ollama (<c>/api/...</c>) APIs over HTTP, many
/// requests batched together by one scheduler. Ctrl+C or SIGTERM stops accepting connections, lets running requests
/// finish for a grace period, then exits.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = "Interface to listen on (0.0.0.0 for every interface)", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port (0: any free port)", DefaultValueFactory = _ => 8080 };
        var parallel = new Option<int>("--parallel", "-np") { Description = "Most requests generated together in one batch", DefaultValueFactory = _ => 4 };
        var ctx = Common.ContextOption("Positions per request, prompt plus answer (0: the model's, at most 4096)");
        var kvSize = new Option<int>("--kv-size") { Description = "Positions the shared KV cache holds over all requests and the prefix cache (0: parallel x ctx)", DefaultValueFactory = _ => 0 };
        var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer KEY' on every endpoint but /health (default: the SEEK_API_KEY environment variable, else none)" };
        var alias = new Option<string?>("--alias", "-a") { Description = "Model name clients use (default: a pulled model's store name, else the file name without .gguf)" };
        var grace = new Option<double>("--shutdown-grace") { Description = "Seconds running requests may go on after Ctrl+C or SIGTERM before they are cancelled", DefaultValueFactory = _ => 10 };
        var template = Common.TemplateFileOption();
        var db = new Option<string?>("--db") { Description = $"The chat app's conversation database (SQLite; default: {ServerOptions.DefaultDatabasePath})" };
        var command = new Command("serve", "Serve the model over HTTP: the chat app at /, OpenAI/DeepSeek (/v1) and Ollama (/api) APIs, /health and /metrics")
        {
            host, port, parallel, ctx, kvSize, apiKey, alias, grace, template, db,
        };
        var model = DefaultModel.AddTo(command);
        command.SetAction(r => Common.Guard(() =>
        {
            double graceSeconds = r.GetValue(grace);
            if (!(graceSeconds >= 0 && graceSeconds <= 3600)) throw new ArgumentException($"--shutdown-grace must be between 0 and 3600 seconds, got {graceSeconds}");
            var options = new ServerOptions
            {
                ModelPath = DefaultModel.Resolve(r, model),
                Host = r.GetValue(host)!,
                Port = r.GetValue(port),
                Parallel = r.GetValue(parallel),
                ContextLength = r.GetValue(ctx),
                KvSize = r.GetValue(kvSize),
                ApiKey = r.GetValue(apiKey) ?? (Environment.GetEnvironmentVariable("SEEK_API_KEY") is { Length: > 0 } env ? env : null),
                // A pulled model is served under its store name (deepseek-r1:1.5b, as Ollama names it), not its file's.
                Alias = r.GetValue(alias) ?? DefaultModel.StoreName(DefaultModel.Given(r, model)),
                ChatTemplate = Common.ReadTemplateFile(r.GetValue(template)),
                ShutdownGrace = TimeSpan.FromSeconds(graceSeconds),
                DatabasePath = r.GetValue(db),
            };
            return Run(options);
        }));
        return command;
    }

    private static int Run(ServerOptions options)
    {
        var app = SeekServer.Build(options);
        var models = SeekServer.Models(app); // read before Run, which disposes the services
        app.Lifetime.ApplicationStarted.Register(() => Console.Error.WriteLine(
            $"seek: serving {Path.GetFileName(options.ModelPath)} at {SeekServer.BaseAddress(app)} (chat: /, OpenAI: /v1, Ollama: /api, /health, /metrics); Ctrl+C stops"));
        // The host handles SIGINT and SIGTERM itself: stop accepting, let requests finish, then return here.
        app.Run();
        if (models.LoadError is { } error) throw error;
        return 0;
    }
}
