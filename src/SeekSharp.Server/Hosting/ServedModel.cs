using SeekSharp.Chat;
using SeekSharp.Kernels;
using SeekSharp.Models;
using SeekSharp.Serving;

namespace SeekSharp.Server.Hosting;

/// <summary>A loaded model with its chat template and the scheduler that generates for every request to it.</summary>
public sealed class ServedModel : IDisposable
{
    internal ServedModel(Model model, ChatModel? chat, Scheduler scheduler, string? alias, DateTimeOffset loadedAt, TimeSpan loadDuration)
    {
        Model = model;
        Chat = chat;
        Scheduler = scheduler;
        // A Hugging Face folder's name is the model's name whole ("DeepSeek-R1-Distill-Qwen-1.5B" has no extension).
        FileName = Directory.Exists(model.File.Path) ? Path.GetFileName(Path.TrimEndingDirectorySeparator(model.File.Path))
            : Path.GetFileNameWithoutExtension(model.File.Path);
        ModelName = model.File.GetStringOrNull("general.name") ?? FileName;
        Id = alias ?? FileName;
        LoadedAt = loadedAt;
        LoadDuration = loadDuration;
        ModifiedAt = File.GetLastWriteTimeUtc(model.File.Path);
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { Id, ModelName, FileName, Path.GetFileName(model.File.Path) };
        if (alias is not null) names.Add(alias);
        // Ollama clients name models "name:tag" with "latest" as the default tag.
        foreach (string n in names.ToList()) names.Add(n + ":latest");
        Names = names;
        QuantizationLevel = model.File.Tensors.Where(t => t.Shape.Length >= 2)
            .GroupBy(t => t.Type).OrderByDescending(g => g.Sum(t => t.ElementCount)).Select(g => g.Key.ToString()).FirstOrDefault() ?? "unknown";
    }

    /// <summary>The model.</summary>
    public Model Model { get; }
    /// <summary>Its chat template, or null when the file has none (then only raw completions are served).</summary>
    public ChatModel? Chat { get; }
    /// <summary>Generates for every request to this model.</summary>
    public Scheduler Scheduler { get; }
    /// <summary>The id /v1/models reports: the alias, else the file name without extension.</summary>
    public string Id { get; }
    /// <summary>general.name, else the file name.</summary>
    public string ModelName { get; }
    /// <summary>The file name without extension (reported as <c>root</c>).</summary>
    public string FileName { get; }
    /// <summary>Every name a request may use: the id, alias, general.name, file name, each also with ":latest".</summary>
    public IReadOnlySet<string> Names { get; }
    /// <summary>When loading finished.</summary>
    public DateTimeOffset LoadedAt { get; }
    /// <summary>How long loading took (Ollama's load_duration of the first request).</summary>
    public TimeSpan LoadDuration { get; }
    /// <summary>The file's modification time.</summary>
    public DateTime ModifiedAt { get; }
    /// <summary>The tensor type holding most weights (Ollama's quantization_level).</summary>
    public string QuantizationLevel { get; }
    /// <summary>Positions per request.</summary>
    public int ContextLength => Scheduler.ContextLength;

    /// <summary>True when <paramref name="name"/> names this model (case-insensitive, ":latest" optional).</summary>
    public bool Answers(string name) => Names.Contains(name);

    /// <summary>The chat template, or a 400 explaining that this model has none.</summary>
    public ChatModel RequireChat() => Chat ?? throw ApiException.BadRequest(
        $"the model '{Id}' has no chat template (tokenizer.chat_template); use /v1/completions or /api/generate with raw: true", "messages");

    /// <summary>Parameter count in Ollama's words ("12.3M", "1.5B").</summary>
    public string ParameterSize => Model.ParameterCount switch
    {
        >= 1_000_000_000 and var n => $"{n / 1e9:0.#}B",
        >= 1_000_000 and var n => $"{n / 1e6:0.#}M",
        var n => $"{n / 1e3:0.#}K",
    };

    /// <inheritdoc/>
    public void Dispose()
    {
        Scheduler.Dispose();
        Model.Dispose();
    }
}
