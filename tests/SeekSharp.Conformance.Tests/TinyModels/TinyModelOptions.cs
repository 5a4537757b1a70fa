using System.Collections.Concurrent;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Tokenization;

namespace SeekSharp.Conformance.Tests.TinyModels;

/// <summary>Architectures <see cref="TinyModelBuilder"/> can write, named as llama.cpp's <c>general.architecture</c>.</summary>
public enum TinyArchitecture
{
    /// <summary><c>llama</c>: RMSNorm, rotary embeddings on adjacent pairs (LLAMA_ROPE_TYPE_NORM), SwiGLU, no biases.</summary>
    Llama,

    /// <summary><c>qwen2</c>: as llama but rotary embeddings on halves (LLAMA_ROPE_TYPE_NEOX) and q/k/v biases.</summary>
    Qwen2,

    /// <summary><c>qwen3</c>: as qwen2 without biases, with per-head RMSNorm of q and k and an explicit head width.</summary>
    Qwen3,

    /// <summary><c>deepseek2</c> (DeepSeek V2, V3, R1): Multi-head Latent Attention, DeepSeekMoE after leading dense
    /// blocks, YaRN; rotary embeddings on adjacent pairs (LLAMA_ROPE_TYPE_NORM). Shaped by <see cref="TinyModelOptions.DeepSeek2"/>.</summary>
    DeepSeek2,

    /// <summary><c>qwen3moe</c>: qwen3 attention with a mixture-of-experts feed-forward in every block (softmax router,
    /// chosen weights normalised; no shared experts), shaped by <see cref="TinyModelOptions.Experts"/> and its siblings.</summary>
    Qwen3Moe,
}

/// <summary>
/// Llama 3 rotary scaling as Hugging Face configures it (<c>rope_scaling.rope_type = "llama3"</c>). llama.cpp does not
/// read these numbers: convert_hf_to_gguf turns them into per-frequency divisors stored as the
/// <c>rope_freqs.weight</c> tensor, and that tensor alone drives the scaling.
/// </summary>
internal sealed record Llama3RopeScaling(
    float Factor = 8f,
    float LowFreqFactor = 1f,
    float HighFreqFactor = 4f,
    int OriginalContextLength = 64);

/// <summary>
/// Tokenizer metadata for a tiny model: a callback that writes the <c>tokenizer.ggml.*</c> keys and the vocabulary
/// size those keys describe (the row count of <c>token_embd</c> and <c>output</c>; llama.cpp rejects the file when
/// the two disagree).
/// </summary>
internal sealed record TinyTokenizer(string Name, int VocabSize, Action<GgufWriter> Write)
{
    /// <summary>
    /// A byte-level BPE vocab in GPT-2 style (<c>tokenizer.ggml.model = gpt2</c>, <c>pre = gpt-2</c>): 256 byte tokens,
    /// a few merges, then BOS and EOS control tokens; BOS is added when tokenizing with special tokens.
    /// </summary>
    public static TinyTokenizer Synthetic { get; } = new("synthetic-bpe", SyntheticBpeVocab.VocabSize, SyntheticBpeVocab.Write);

    /// <summary><see cref="Synthetic"/> padded with unused tokens to <paramref name="vocabSize"/> ids (e.g. 151936, Qwen2's
    /// output width), for tests that need a realistic logits row. Equal sizes give equal instances, so the model cache hits.</summary>
    public static TinyTokenizer SyntheticPadded(int vocabSize) =>
        PaddedCache.GetOrAdd(vocabSize, n => new TinyTokenizer($"synthetic-bpe-{n}", n, w => SyntheticBpeVocab.Write(w, n)));

    /// <summary>
    /// A real tokenizer converted as convert_hf_to_gguf would (<see cref="HuggingFaceGgufConverter"/>). The vocab size is
    /// the converted token count (highest id + 1). Cached per path, so equal options reuse one model file.
    /// </summary>
    public static TinyTokenizer FromHuggingFace(string tokenizerJsonPath, string? tokenizerConfigPath = null) =>
        HuggingFaceCache.GetOrAdd((tokenizerJsonPath, tokenizerConfigPath), key =>
        {
            int vocabSize = Tokenizer.FromHuggingFace(key.Json, key.Config).VocabSize;
            string name = Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(key.Json))) ?? key.Json;
            return new TinyTokenizer(name, vocabSize, w => HuggingFaceGgufConverter.AddTokenizerMetadata(w, key.Json, key.Config));
        });

    private static readonly ConcurrentDictionary<int, TinyTokenizer> PaddedCache = new();
    private static readonly ConcurrentDictionary<(string Json, string? Config), TinyTokenizer> HuggingFaceCache = new();

    public override string ToString() => Name;
}

/// <summary>Shape and content of a random-weight model written by <see cref="TinyModelBuilder"/>. Value equality, so it can key a cache.</summary>
internal sealed record TinyModelOptions
{
    public TinyArchitecture Architecture { get; init; } = TinyArchitecture.Llama;

    // transformer shape
    /// <summary>Residual width (n_embd). A multiple of 32 so every quantized row is whole blocks.</summary>
    public int Dim { get; init; } = 64;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;
    public int KvHeads { get; init; } = 2;
    /// <summary>SwiGLU hidden width (n_ff). A multiple of 32 (it is the input width of ffn_down).</summary>
    public int FfnDim { get; init; } = 128;
    public float RmsNormEps { get; init; } = 1e-5f;

    // weights
    /// <summary>Type of every 2D weight (token_embd, attention, FFN, output); norms, biases and rope_freqs stay F32.</summary>
    public GgmlType WeightType { get; init; } = GgmlType.F32;
    /// <summary>No <c>output.weight</c>: llama.cpp then reuses <c>token_embd.weight</c> as the output projection.</summary>
    public bool TiedOutput { get; init; }
    /// <summary>q/k/v bias vectors (qwen2 only; Qwen2 checkpoints always have them).</summary>
    public bool QkvBias { get; init; } = true;
    public int Seed { get; init; } = 1;

    // positions
    public int ContextLength { get; init; } = 256;
    public float RopeTheta { get; init; } = 10000f;
    /// <summary>Llama 3 scaling, written as <c>rope_freqs.weight</c> (llama only).</summary>
    public Llama3RopeScaling? Llama3Scaling { get; init; }

    // vocabulary
    public TinyTokenizer Tokenizer { get; init; } = TinyTokenizer.Synthetic;

    /// <summary>MLA, MoE and YaRN shape of a <see cref="TinyArchitecture.DeepSeek2"/> model (required for it, null for the
    /// other architectures). <see cref="TinyDeepSeek2.Options"/> builds complete options from a preset.</summary>
    public TinyDeepSeek2? DeepSeek2 { get; init; }

    /// <summary>Routed experts per block of a <see cref="TinyArchitecture.Qwen3Moe"/> model.</summary>
    public int Experts { get; init; } = 8;
    /// <summary>Experts each token is sent to (qwen3moe).</summary>
    public int ExpertsUsed { get; init; } = 2;
    /// <summary>Hidden width of one expert (qwen3moe).</summary>
    public int ExpertFfnDim { get; init; } = 64;

    /// <summary>Head width written as <c>attention.key_length</c>/<c>value_length</c> (qwen3); 0: Dim / Heads, unwritten.</summary>
    public int ExplicitHeadDim { get; init; }

    public int HeadDim => ExplicitHeadDim > 0 ? ExplicitHeadDim : Dim / Heads;

    /// <summary>GGUF <c>general.architecture</c> value and key prefix.</summary>
    public string ArchitectureName => Architecture switch
    {
        TinyArchitecture.Llama => "llama",
        TinyArchitecture.Qwen2 => "qwen2",
        TinyArchitecture.Qwen3 => "qwen3",
        TinyArchitecture.DeepSeek2 => "deepseek2",
        TinyArchitecture.Qwen3Moe => "qwen3moe",
        _ => throw new ArgumentOutOfRangeException(nameof(Architecture), Architecture, null),
    };

    public override string ToString() =>
        $"{ArchitectureName} d{Dim} L{Layers} h{Heads}/{KvHeads}{(ExplicitHeadDim > 0 ? $" hd{ExplicitHeadDim}" : "")} ff{FfnDim} {WeightType}{(TiedOutput ? " tied" : "")}" +
        $"{(Llama3Scaling is null ? "" : " llama3-rope")}{(DeepSeek2 is null ? "" : $" [{DeepSeek2}]")} {Tokenizer} seed{Seed}";
}
