using System.Text.Json;
using System.Text.Json.Serialization;
using SeekSharp.Models;
using SeekSharp.Training.Model;
using SeekSharp.Training.Recipes.Grpo;

namespace SeekSharp.Training.Recipes.Common;

/// <summary>
/// A training run as read from its JSON config file (camelCase keys, comments and trailing commas allowed, unknown keys
/// rejected so a typo cannot silently fall back to a default). Every field has a default, so a config names only what
/// it changes. Relative paths are relative to the current directory.
/// </summary>
public sealed record TrainConfig
{
    // model and tokenizer
    /// <summary>
    /// Shape of a new model (ignored when <see cref="InitFrom"/> gives the model): a llama <see cref="ModelConfig"/>,
    /// written in JSON with its own property names (<c>embeddingLength</c>, <c>blockCount</c>, <c>headCount</c>,
    /// <c>headCountKv</c>, <c>feedForwardLength</c>, <c>contextLength</c>, <c>normEpsilon</c>, <c>ropeFreqBase</c>,
    /// <c>tiedEmbeddings</c>), each optional. Its vocabulary size is the tokenizer's, set when the run starts.
    /// </summary>
    [JsonConverter(typeof(NewModelJson))]
    public ModelConfig Model { get; init; } = NewModelJson.Default;
    /// <summary>Standard deviation of a new model's initial weights.</summary>
    public float InitStd { get; init; } = 0.02f;
    /// <summary>Where the tokenizer comes from.</summary>
    public TokenizerSettings Tokenizer { get; init; } = new();
    /// <summary>
    /// Starting weights: a GGUF exported by SeekSharp (F32 llama tensors) or a checkpoint file (<c>.ckpt</c>); null
    /// starts from random weights of <see cref="Model"/>'s shape. A GGUF also supplies the tokenizer.
    /// </summary>
    public string? InitFrom { get; init; }

    // data
    /// <summary>Tasks whose generated problems make the training data (pretrain, SFT) or the prompts (GRPO).</summary>
    public IReadOnlyList<TaskWeight> Tasks { get; init; } = [new("addition", 1)];
    /// <summary>JSONL traces (<c>prompt</c>, <c>completion</c>) to train on instead of the tasks' own traces (SFT only).</summary>
    public string? Traces { get; init; }
    /// <summary>Pretrain and SFT examples from the tasks are conversations: 0 to this many earlier questions (uniformly
    /// many, answered correctly, rendered by the chat template as history without reasoning) before the question the
    /// example trains on, so follow-up questions in a chat are learned as first ones are. 0: single questions.</summary>
    public int MaxHistoryTurns { get; init; }
    /// <summary>Chance (0 to 1) that a user message of a pretrain or SFT example gets one or two noise words (filler or
    /// made-up), so that an unfamiliar word in a question is familiar noise. 0: none.</summary>
    public double PromptNoise { get; init; }

    // optimisation
    /// <summary>Optimizer steps of the run.</summary>
    public int Steps { get; init; } = 1000;
    /// <summary>Sequences per step (B). GRPO sets its prompts per step in <see cref="Grpo"/> and runs its completions
    /// through forward/backward this many at a time (capped by the model's batch), accumulating their gradients.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>Positions per sequence (T), at most the model's context length.</summary>
    public int SeqLen { get; init; } = 256;
    /// <summary>Peak learning rate.</summary>
    public float LearningRate { get; init; } = 1e-3f;
    /// <summary>Linear warmup steps.</summary>
    public int WarmupSteps { get; init; } = 50;
    /// <summary>Cosine floor as a fraction of the peak rate.</summary>
    public float MinLrRatio { get; init; } = 0.1f;
    /// <summary>AdamW decoupled weight decay.</summary>
    public float WeightDecay { get; init; } = 0.1f;
    /// <summary>Global gradient-norm clip (0 disables).</summary>
    public float MaxGradNorm { get; init; } = 1f;
    /// <summary>AdamW β2.</summary>
    public float Beta2 { get; init; } = 0.95f;

    // run
    /// <summary>Seed of weight initialisation and data sampling.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Directory for the CSV log, plot, checkpoint and final GGUF.</summary>
    public string OutputDir { get; init; } = "runs/train";
    /// <summary>File name of the exported model inside <see cref="OutputDir"/>.</summary>
    public string ModelFile { get; init; } = "model.gguf";
    /// <summary>Steps between checkpoints (the last step always saves one).</summary>
    public int CheckpointEvery { get; init; } = 200;
    /// <summary>Worker threads of training and of GRPO's sampling (0: all cores).</summary>
    public int Threads { get; init; }
    /// <summary>Written as <c>general.name</c> in the exported GGUF.</summary>
    public string Name { get; init; } = "seeksharp";

    // recipe sections
    /// <summary>GRPO settings (<c>seek train grpo</c>).</summary>
    public GrpoSettings Grpo { get; init; } = new();
    /// <summary>Distillation settings (<c>seek train distill</c>).</summary>
    public DistillSettings Distill { get; init; } = new();
    /// <summary>Periodic evaluation on the validation split, and which weights the run exports (any recipe).</summary>
    public ValidationSettings Validation { get; init; } = new();

    static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        // "tasks": null, a task without "name" and the like are JSON errors naming the key, not null fields found later.
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        WriteIndented = true,
    };

    /// <summary>Reads and validates a config file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ArgumentException">The JSON is invalid, has an unknown key or an out-of-range value.</exception>
    public static TrainConfig Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Config file '{path}' does not exist.", path);
        TrainConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<TrainConfig>(File.ReadAllText(path), Options);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{path}: {e.Message} (keys are camelCase, e.g. \"batchSize\"; see TrainConfig for all of them).", e);
        }
        if (config is null) throw new ArgumentException($"{path}: the file holds JSON null, expected an object.");
        config.Validate();
        return config;
    }

    /// <summary>This config as indented JSON (what a run saves beside its outputs).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Options);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (Steps < 1) throw new ArgumentException($"steps must be at least 1, got {Steps}.");
        if (BatchSize < 1) throw new ArgumentException($"batchSize must be at least 1, got {BatchSize}.");
        if (SeqLen < 2) throw new ArgumentException($"seqLen must be at least 2, got {SeqLen}.");
        if (!(LearningRate > 0)) throw new ArgumentException($"learningRate must be positive, got {LearningRate}.");
        if (WarmupSteps < 0) throw new ArgumentException($"warmupSteps must not be negative, got {WarmupSteps}.");
        if (CheckpointEvery < 1) throw new ArgumentException($"checkpointEvery must be at least 1, got {CheckpointEvery}.");
        if (!(PromptNoise >= 0 && PromptNoise <= 1)) throw new ArgumentException($"promptNoise must be 0 to 1, got {PromptNoise}.");
        if (MaxHistoryTurns is < 0 or > 64) throw new ArgumentException($"maxHistoryTurns must be 0 to 64, got {MaxHistoryTurns}.");
        if (Threads < 0) throw new ArgumentException($"threads must be 0 (all cores) or more, got {Threads}.");
        if (Tasks.Count == 0) throw new ArgumentException("tasks is empty; name at least one task, e.g. [{\"name\": \"addition\", \"weight\": 1}].");
        // Nullable annotations do not reach list elements: "tasks": [null] deserializes to a null entry.
        if (Tasks.Any(t => t is null)) throw new ArgumentException("tasks holds a null entry; each task is an object such as {\"name\": \"addition\", \"weight\": 1}.");
        foreach (var t in Tasks) SeekSharp.Training.Tasks.TaskRegistry.Create(t.Name);
        if (string.IsNullOrWhiteSpace(OutputDir)) throw new ArgumentException("outputDir is empty.");
        if (InitFrom is null)
        {
            (Model with { VocabSize = Tokenizer.VocabSize }).Validate();
            if (!(InitStd > 0) || !float.IsFinite(InitStd)) throw new ArgumentException($"initStd must be positive, got {InitStd}.");
            if (SeqLen > Model.ContextLength)
                throw new ArgumentException($"seqLen {SeqLen} exceeds the model's contextLength {Model.ContextLength}.");
        }
        Tokenizer.Validate();
        Grpo.Validate();
        if (Steps % Grpo.Iterations != 0)
            throw new ArgumentException($"steps ({Steps}) must be a multiple of grpo.iterations ({Grpo.Iterations}): each sampled batch takes that many optimizer steps.");
        Validation.Validate();
    }
}

/// <summary>
/// Evaluation on the validation split while training, so that every choice made during a run (how long to train,
/// which checkpoint to keep) is made on problems that neither train nor the reported test figures use. The same
/// problems (fixed seed) are asked at every evaluation, so scores of two steps compare like with like.
/// </summary>
public sealed record ValidationSettings
{
    /// <summary>Optimizer steps between evaluations (0: none); the last step is always evaluated when this is set.</summary>
    public int Every { get; init; }
    /// <summary>Distinct validation problems per task.</summary>
    public int Problems { get; init; } = 200;
    /// <summary>Task specs to evaluate (<c>addition</c>, <c>addition-3x3</c>, ...); empty: the run's tasks.</summary>
    public IReadOnlyList<string> Tasks { get; init; } = [];
    /// <summary>Most tokens per answer (0: what the context leaves).</summary>
    public int MaxNewTokens { get; init; }
    /// <summary>Seed of the validation problems.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>
    /// Export the weights with the best validation score (mean accuracy over <see cref="Tasks"/>; the earlier step wins a
    /// tie) as the run's model, instead of the last step's. The checkpoint still holds the last step, for <c>--resume</c>.
    /// </summary>
    public bool KeepBest { get; init; } = true;

    internal void Validate()
    {
        if (Every < 0) throw new ArgumentException($"validation.every must be 0 (off) or a step count, got {Every}.");
        if (Problems < 1) throw new ArgumentException($"validation.problems must be at least 1, got {Problems}.");
        if (MaxNewTokens < 0) throw new ArgumentException($"validation.maxNewTokens must be 0 or more, got {MaxNewTokens}.");
        if (Tasks.Any(t => t is null)) throw new ArgumentException("validation.tasks holds a null entry; each is a task name such as \"addition-3x3\".");
        foreach (string t in Tasks) SeekSharp.Training.Tasks.TaskRegistry.Create(t);
    }
}

/// <summary>
/// Reads and writes <see cref="TrainConfig.Model"/>: a llama <see cref="ModelConfig"/> under its own property names in
/// camelCase, every key optional (defaults: <see cref="Default"/>'s), unknown keys refused. The names before issue 17
/// (dim, layers, heads, kvHeads, ffnDim, ropeTheta) are refused with the new name, and initStd with its new place.
/// </summary>
internal sealed class NewModelJson : JsonConverter<ModelConfig>
{
    /// <summary>The default new model: 256 wide, 4 blocks of 8 query and 4 key/value heads, SwiGLU 704, context 256.
    /// Its vocabulary size (1) stands in for the tokenizer's.</summary>
    public static readonly ModelConfig Default = ModelConfig.Llama(vocabSize: 1, contextLength: 256, embeddingLength: 256,
        blockCount: 4, headCount: 8, headCountKv: 4, feedForwardLength: 704);

    static readonly Dictionary<string, string> Renamed = new(StringComparer.Ordinal)
    {
        ["dim"] = "embeddingLength", ["layers"] = "blockCount", ["heads"] = "headCount", ["kvHeads"] = "headCountKv",
        ["ffnDim"] = "feedForwardLength", ["ropeTheta"] = "ropeFreqBase",
    };

    public override ModelConfig Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new JsonException($"model must be an object such as {{\"embeddingLength\": 256, \"blockCount\": 4}}, got {doc.RootElement.ValueKind}.");
        var d = Default;
        int vocab = d.VocabSize, context = d.ContextLength, dim = d.EmbeddingLength, layers = d.BlockCount, heads = d.HeadCount,
            kvHeads = d.HeadCountKv, ffn = d.FeedForwardLength;
        float epsilon = d.NormEpsilon, ropeBase = d.RopeFreqBase;
        bool tied = d.TiedEmbeddings;
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            int Int() => p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out int v) ? v : throw new JsonException($"model.{p.Name} must be an integer, got {p.Value}.");
            float Float() => p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetSingle(out float v) ? v : throw new JsonException($"model.{p.Name} must be a number, got {p.Value}.");
            switch (p.Name)
            {
                case "contextLength": context = Int(); break;
                case "embeddingLength": dim = Int(); break;
                case "blockCount": layers = Int(); break;
                case "headCount": heads = Int(); break;
                case "headCountKv": kvHeads = Int(); break;
                case "feedForwardLength": ffn = Int(); break;
                case "normEpsilon": epsilon = Float(); break;
                case "ropeFreqBase": ropeBase = Float(); break;
                case "tiedEmbeddings":
                    tied = p.Value.ValueKind switch
                    {
                        JsonValueKind.True => true, JsonValueKind.False => false,
                        _ => throw new JsonException($"model.tiedEmbeddings must be true or false, got {p.Value}."),
                    };
                    break;
                case "initStd": throw new JsonException("model.initStd is now a top-level key: \"initStd\".");
                case var old when Renamed.TryGetValue(old, out string? now):
                    throw new JsonException($"model.{old} is now model.{now} (the names of ModelConfig and of the GGUF keys).");
                default: throw new JsonException($"model.{p.Name} is not a model key; the keys are contextLength, embeddingLength, blockCount, headCount, headCountKv, feedForwardLength, normEpsilon, ropeFreqBase, tiedEmbeddings.");
            }
        }
        try
        {
            return ModelConfig.Llama(vocab, context, dim, layers, heads, kvHeads, ffn, epsilon, ropeBase, tied);
        }
        catch (ArgumentException e)
        {
            throw new JsonException($"model: {e.Message}");
        }
    }

    public override void Write(Utf8JsonWriter writer, ModelConfig value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteNumber("contextLength", value.ContextLength);
        writer.WriteNumber("embeddingLength", value.EmbeddingLength);
        writer.WriteNumber("blockCount", value.BlockCount);
        writer.WriteNumber("headCount", value.HeadCount);
        writer.WriteNumber("headCountKv", value.HeadCountKv);
        writer.WriteNumber("feedForwardLength", value.FeedForwardLength);
        writer.WriteNumber("normEpsilon", value.NormEpsilon);
        writer.WriteNumber("ropeFreqBase", value.RopeFreqBase);
        writer.WriteBoolean("tiedEmbeddings", value.TiedEmbeddings);
        writer.WriteEndObject();
    }
}

/// <summary>
/// The run's tokenizer: taken from <see cref="FromGguf"/> (or from <see cref="TrainConfig.InitFrom"/> when that is a
/// GGUF), else trained with byte-level BPE on the rendered chat text of generated problems of every task.
/// </summary>
public sealed record TokenizerSettings
{
    /// <summary>Vocabulary size of a newly trained tokenizer (bytes, merges and R1's added tokens).</summary>
    public int VocabSize { get; init; } = 1024;
    /// <summary>Generated problems per task in the tokenizer's training corpus.</summary>
    public int ExamplesPerTask { get; init; } = 2000;
    /// <summary>A GGUF whose tokenizer to reuse.</summary>
    public string? FromGguf { get; init; }

    internal void Validate()
    {
        if (FromGguf is null && VocabSize < 263) throw new ArgumentException($"tokenizer.vocabSize must be at least 263 (256 bytes and R1's added tokens), got {VocabSize}.");
        if (ExamplesPerTask < 1) throw new ArgumentException($"tokenizer.examplesPerTask must be at least 1, got {ExamplesPerTask}.");
    }
}

/// <summary>One task of the data mix.</summary>
/// <param name="Name">A <see cref="Tasks.TaskRegistry"/> name.</param>
/// <param name="Weight">Relative share of examples.</param>
public sealed record TaskWeight(string Name, double Weight = 1);

/// <summary>Distillation settings: a teacher writes traces, a new student of <see cref="TrainConfig.Model"/>'s shape learns them by SFT.</summary>
public sealed record DistillSettings
{
    /// <summary>The teacher GGUF (any model SeekSharp runs); its tokenizer is also the student's.</summary>
    public string? Teacher { get; init; }
    /// <summary>Problems per task the teacher answers (only verified-correct traces are kept).</summary>
    public int TracesPerTask { get; init; } = 1000;
    /// <summary>Teacher sampling temperature (0: greedy).</summary>
    public float Temperature { get; init; }
    /// <summary>Most tokens per teacher trace.</summary>
    public int MaxNewTokens { get; init; } = 200;
}
