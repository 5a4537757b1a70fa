using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Training.Model;

namespace SeekSharp.Training.Export;

/// <summary>
/// Writes a trained <see cref="Transformer"/> as a GGUF file of the <c>llama</c> architecture with F32 tensors, named
/// and shaped as llama.cpp (src/llama-arch.cpp) and SeekSharp's loader expect, so it runs in both.
/// </summary>
/// <remarks>
/// The training model rotates adjacent pairs, which is what llama.cpp does for <c>llama</c> (LLAMA_ROPE_TYPE_NORM), so
/// the q/k rows are written as they are, without the permutation convert_hf_to_gguf applies to Hugging Face weights.
/// Shapes are given in ggml order {ne0 = input width, ne1 = rows}.
/// </remarks>
public static class GgufExport
{
    /// <summary>Writes <paramref name="model"/> with the given tokenizer metadata to <paramref name="path"/>.</summary>
    /// <param name="model">The model whose current parameters are written.</param>
    /// <param name="path">Output file, replaced if it exists.</param>
    /// <param name="tokenizerMetadata">
    /// The <c>tokenizer.*</c> keys (<c>tokenizer.ggml.model</c>, <c>tokens</c>, <c>token_type</c>, <c>merges</c>, special
    /// token ids, optionally <c>tokenizer.chat_template</c>), values as <see cref="GgufWriter.Set"/> accepts them.
    /// <c>tokenizer.ggml.tokens</c> must hold exactly V tokens.
    /// </param>
    /// <param name="name">Written as <c>general.name</c>.</param>
    /// <exception cref="ArgumentException">A key outside <c>tokenizer.</c>, or a token list that does not match the vocabulary.</exception>
    public static void Write(Transformer model, string path, IReadOnlyDictionary<string, object> tokenizerMetadata, string name = "seeksharp")
    {
        foreach (string key in tokenizerMetadata.Keys)
            if (!key.StartsWith("tokenizer.", StringComparison.Ordinal))
                throw new ArgumentException($"Tokenizer metadata key '{key}' does not start with 'tokenizer.'; model keys are written from the model's config.", nameof(tokenizerMetadata));
        Write(model, path, w =>
        {
            foreach (var (key, value) in tokenizerMetadata)
                w.Set(key, value);
        }, name);
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/>, with <paramref name="writeTokenizer"/> setting the <c>tokenizer.*</c> keys.</summary>
    /// <param name="model">The model whose current parameters are written.</param>
    /// <param name="path">Output file, replaced if it exists.</param>
    /// <param name="writeTokenizer">Sets the tokenizer keys (and optionally <c>tokenizer.chat_template</c>) on the writer.</param>
    /// <param name="name">Written as <c>general.name</c>.</param>
    /// <exception cref="ArgumentException"><c>tokenizer.ggml.tokens</c> is missing or does not hold V tokens.</exception>
    public static void Write(Transformer model, string path, Action<GgufWriter> writeTokenizer, string name = "seeksharp")
    {
        var c = model.Config;
        var w = new GgufWriter();
        c.WriteGguf(w);
        w.Set("general.name", name);
        w.Set("general.file_type", 0u); // LLAMA_FTYPE_ALL_F32
        writeTokenizer(w);

        if (!w.Metadata.TryGetValue("tokenizer.ggml.tokens", out var tokens))
            throw new ArgumentException("The tokenizer metadata has no 'tokenizer.ggml.tokens'; llama.cpp and SeekSharp need the vocabulary.", nameof(writeTokenizer));
        int tokenCount = tokens is GgufArray array ? array.Values.Length : -1;
        if (tokenCount != c.VocabSize)
            throw new ArgumentException($"'tokenizer.ggml.tokens' holds {tokenCount} tokens but the model's vocabulary is {c.VocabSize}; they must match (llama.cpp rejects the file otherwise).", nameof(writeTokenizer));

        // Tensors go out in the layout's order: the embedding, the blocks, the final norm and (untied) output.
        foreach (var t in model.Layout.All)
        {
            long[] shape = t.IsMatrix ? [t.Cols, t.Rows] : [t.Cols];
            w.AddTensor(t.Name, GgmlType.F32, shape, (ReadOnlySpan<float>)t.Of(model.Parameters));
        }
        w.Write(path);
    }
}
