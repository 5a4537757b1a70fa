using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SeekSharp.Chat;
using SeekSharp.Models;
using SeekSharp.Serving;

namespace SeekSharp.Server.Hosting;

/// <summary>
/// Loads the served model in the background once Kestrel listens, so that /health answers 503 during the load instead
/// of the port refusing connections, and hands it to the endpoints when ready.
/// </summary>
public sealed class ModelHost(ServerOptions options, ILogger<ModelHost> logger) : IDisposable
{
    volatile ServedModel? _model;
    volatile Exception? _error;
    Task? _loading;
    Task? _stopping;

    /// <summary>The model once loaded, else null.</summary>
    public ServedModel? Model => _model;
    /// <summary>Why loading failed, or null.</summary>
    public Exception? LoadError => _error;
    /// <summary>Completes when loading has succeeded or failed.</summary>
    public Task Loading => _loading ?? Task.CompletedTask;

    /// <summary>Starts loading on a pool thread (once).</summary>
    public void StartLoading(Action onFailure)
    {
        _loading ??= Task.Run(() =>
        {
            var clock = Stopwatch.StartNew();
            Model? model = null;
            try
            {
                model = Models.Model.Load(options.ModelPath);
                ChatModel? chat = null;
                try { chat = new ChatModel(model, options.ChatTemplate); }
                catch (ModelLoadException e) when (options.ChatTemplate is null)
                {
                    logger.LogWarning("{Model}: {Message}; only raw completions are served", options.ModelPath, e.Message);
                }
                var scheduler = new Scheduler(model, new SchedulerOptions
                {
                    ContextLength = options.ContextLength,
                    Parallel = options.Parallel,
                    KvSize = options.KvSize,
                    MaxWaiting = options.MaxWaiting > 0 ? options.MaxWaiting : new SchedulerOptions().MaxWaiting,
                    MinStepInterval = options.MinStepInterval,
                });
                _model = new ServedModel(model, chat, scheduler, options.Alias, DateTimeOffset.UtcNow, clock.Elapsed);
                logger.LogInformation("loaded {Model} ({Id}) in {Seconds:F2} s: context {Context}, parallel {Parallel}",
                    options.ModelPath, _model.Id, clock.Elapsed.TotalSeconds, scheduler.ContextLength, options.Parallel);
            }
            catch (Exception e)
            {
                model?.Dispose();
                _error = e;
                logger.LogError("failed to load {Model}: {Message}", options.ModelPath, e.Message);
                onFailure();
            }
        });
    }

    /// <summary>The model a request names: any of its names, or the served model when <paramref name="name"/> is empty
    /// (llama.cpp's server does the same). 503 while loading, 404 for another name.</summary>
    public ServedModel Require(string? name)
    {
        var model = _model;
        if (model is null)
        {
            if (_error is { } e) throw new ApiException(500, $"the model failed to load: {e.Message}", "server_error");
            throw new ApiException(503, "the model is loading; retry shortly", "server_error", code: "model_loading") { RetryAfterSeconds = 1 };
        }
        if (!string.IsNullOrEmpty(name) && !model.Answers(name)) throw ApiException.ModelNotFound(name);
        return model;
    }

    /// <summary>Stops admitting requests and lets running ones finish for up to <paramref name="grace"/> (once; later calls return the same task).</summary>
    public Task StopAsync(TimeSpan grace)
    {
        lock (this)
            return _stopping ??= _model is { } m ? m.Scheduler.StopAsync(grace) : Task.CompletedTask;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        // A load still running finishes first, so that its model is not leaked.
        try { _loading?.Wait(TimeSpan.FromSeconds(30)); } catch (AggregateException) { }
        // So does a graceful stop, so that no request is still stepping when the model goes.
        try { _stopping?.Wait(options.ShutdownGrace + TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _model?.Dispose();
    }
}
