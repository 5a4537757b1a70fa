using SeekSharp.Gguf;
using SeekSharp.Tokenization;
using SeekSharp.Training.Data;
using SeekSharp.Training.Tasks;
using SeekSharp.Training.Tokenizers;

namespace SeekSharp.Training.Recipes.Common;

/// <summary>
/// A run's tokenizer together with the GGUF metadata that reproduces it, so every model the run exports carries the
/// vocabulary it was trained with. A run keeps it as <c>tokenizer.gguf</c> (metadata only) in its output directory,
/// which a resumed run reads back instead of training again.
/// </summary>
public sealed class RunTokenizer
{
    /// <summary>File name of the saved tokenizer inside a run directory.</summary>
    public const string FileName = "tokenizer.gguf";

    readonly Dictionary<string, object> metadata; // tokenizer.* keys, values as GgufWriter.Set accepts them

    RunTokenizer(Tokenizer tokenizer, Dictionary<string, object> metadata)
    {
        Tokenizer = tokenizer;
        this.metadata = metadata;
    }

    /// <summary>The tokenizer.</summary>
    public Tokenizer Tokenizer { get; }

    /// <summary>Sets the <c>tokenizer.*</c> keys (vocabulary, merges, special ids, chat template) on a GGUF writer.</summary>
    public void WriteMetadata(GgufWriter writer)
    {
        foreach (var (key, value) in metadata) writer.Set(key, value);
    }

    /// <summary>Reads the tokenizer keys of any GGUF file (a model or a saved <see cref="FileName"/>).</summary>
    public static RunTokenizer FromGguf(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"GGUF file '{path}' does not exist.", path);
        using var file = GgufFile.Open(path);
        var keys = file.Metadata.Where(kv => kv.Key.StartsWith("tokenizer.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        if (!keys.ContainsKey("tokenizer.ggml.tokens"))
            throw new ArgumentException($"{path} has no tokenizer (no 'tokenizer.ggml.tokens' key).");
        return new RunTokenizer(Tokenizer.FromGguf(file), keys);
    }

    /// <summary>Trains a byte-level BPE tokenizer with R1's chat tokens and template on the chat text of generated
    /// train-split problems of <paramref name="tasks"/>.</summary>
    public static RunTokenizer Train(IEnumerable<string> tasks, TokenizerSettings settings, int seed)
    {
        var texts = new List<string>();
        foreach (string name in tasks)
        {
            var task = TaskRegistry.Create(name);
            foreach (var p in ProblemSets.Generate(task, ProblemSplit.Train, seed, settings.ExamplesPerTask))
                texts.Add(R1ChatText.Prompt(p.Prompt) + R1ChatText.AssistantTurn(p.Completion));
        }
        var trained = BpeTrainer.Train(texts, new BpeTrainerOptions { VocabSize = settings.VocabSize });
        var writer = new GgufWriter();
        trained.WriteGgufMetadata(writer);
        return new RunTokenizer(trained.CreateTokenizer(), new Dictionary<string, object>(writer.Metadata, StringComparer.Ordinal));
    }

    /// <summary>Writes the tokenizer alone (metadata, no tensors) to <paramref name="path"/>.</summary>
    public void Save(string path)
    {
        var writer = new GgufWriter();
        WriteMetadata(writer);
        writer.Write(path);
    }
}
