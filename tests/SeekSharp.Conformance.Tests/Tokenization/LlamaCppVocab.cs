using System.Text;
using LLama;
using LLama.Common;
using LLama.Native;
using SeekSharp.Gguf;
using SeekSharp.Tokenization;

namespace SeekSharp.Conformance.Tests.Tokenization;

/// <summary>A GGUF holding only tokenizer metadata (plus the hyper-parameters llama.cpp insists on), loaded vocab-only by llama.cpp.</summary>
internal sealed class LlamaCppVocab : IDisposable
{
    public string Path { get; }
    public LLamaWeights Weights { get; }

    LlamaCppVocab(string path)
    {
        Path = path;
        Oracle.LlamaCpp.NativeLog.EnsureInitialized(); // one place configures the native library, before its first use
        Weights = LLamaWeights.LoadFromFile(new ModelParams(path) { VocabOnly = true, GpuLayerCount = 0 });
    }

    /// <summary>Writes <paramref name="addTokenizer"/>'s keys into a tiny "llama" GGUF and loads it with llama.cpp.</summary>
    public static LlamaCppVocab Create(string name, Action<GgufWriter> addTokenizer)
    {
        var w = new GgufWriter();
        w.Set("general.architecture", "llama");
        w.Set("general.name", "seeksharp-tokenizer-test");
        w.Set("llama.context_length", 4096u);
        w.Set("llama.embedding_length", 64u);
        w.Set("llama.block_count", 1u);
        w.Set("llama.feed_forward_length", 128u);
        w.Set("llama.attention.head_count", 4u);
        w.Set("llama.attention.head_count_kv", 4u);
        w.Set("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        addTokenizer(w);
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"seeksharp-tok-{name}-{Environment.ProcessId}-{Guid.NewGuid():N}.gguf");
        w.Write(path);
        return new LlamaCppVocab(path);
    }

    public int[] Tokenize(string text, bool addSpecial, bool parseSpecial) =>
        [.. Weights.Tokenize(text, addSpecial, parseSpecial, Encoding.UTF8).Select(t => (int)t)];

    public Tokenizer OurTokenizer()
    {
        using var file = GgufFile.Open(Path);
        return Tokenizer.FromGguf(file);
    }

    public void Dispose()
    {
        Weights.Dispose();
        try { File.Delete(Path); } catch (IOException) { }
    }
}
