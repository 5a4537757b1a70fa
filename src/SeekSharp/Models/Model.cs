using SeekSharp.Gguf;
using SeekSharp.Models.Architectures;
using SeekSharp.Models.Blocks;
using SeekSharp.Tokenization;

namespace SeekSharp.Models;

/// <summary>A model loaded from a GGUF file: configuration, tokenizer and memory-mapped weights. Thread-safe to share; state lives in contexts.</summary>
public sealed class Model : IDisposable
{
    private Model(GgufFile file, ModelConfig config, Tokenizer tokenizer, ITransformer transformer)
    {
        File = file; Config = config; Tokenizer = tokenizer; Transformer = transformer;
    }

    /// <summary>The mapped GGUF file.</summary>
    public GgufFile File { get; }
    /// <summary>Hyper-parameters.</summary>
    public ModelConfig Config { get; }
    /// <summary>The tokenizer the file carries.</summary>
    public Tokenizer Tokenizer { get; }
    internal ITransformer Transformer { get; }

    /// <summary>
    /// Opens <paramref name="path"/>: a GGUF file, or a Hugging Face model folder (config.json, tokenizer.json and
    /// safetensors weights), which is read as the GGUF llama.cpp's converter would make of it with each weight in its
    /// stored precision (<see cref="HuggingFace.HfWeightType.Source"/>). Throws <see cref="GgufFormatException"/>,
    /// <see cref="ModelLoadException"/> or <see cref="Safetensors.SafetensorsFormatException"/> naming the problem.
    /// </summary>
    public static Model Load(string path)
    {
        if (System.IO.Directory.Exists(path))
            return Load(HuggingFace.HuggingFaceFolder.Open(path));
        if (!System.IO.File.Exists(path))
            throw new FileNotFoundException($"model file '{path}' does not exist", path);
        return Load(GgufFile.Open(path));
    }

    /// <summary>Builds a model over an open file, which it then owns (disposed with the model, or on failure).</summary>
    internal static Model Load(GgufFile file)
    {
        string path = file.Path;
        try
        {
            var config = ModelConfig.FromGguf(file);
            // FromGguf accepted the architecture, so the table has it.
            ITransformer transformer = ArchitectureTable.Known[config.Architecture].Load(new WeightReader(file, config), config);
            var tokenizer = Tokenizer.FromGguf(file);
            if (tokenizer.VocabSize != config.VocabSize)
                throw new ModelLoadException(path, $"tokenizer has {tokenizer.VocabSize} tokens but token_embd.weight has {config.VocabSize} rows");
            return new Model(file, config, tokenizer, transformer);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Parameter count: elements of every tensor in the file.</summary>
    public long ParameterCount => File.Tensors.Sum(t => t.ElementCount);

    /// <summary>Creates an evaluation context with its own KV cache and scratch buffers.</summary>
    public Inference.InferenceContext CreateContext(Inference.ContextOptions? options = null)
        => new(this, options ?? new Inference.ContextOptions());

    /// <inheritdoc/>
    public void Dispose() => File.Dispose();
}
