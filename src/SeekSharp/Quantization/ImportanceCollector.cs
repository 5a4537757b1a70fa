using SeekSharp.Inference;
using SeekSharp.Models;

namespace SeekSharp.Quantization;

/// <summary>
/// Collects an <see cref="ImportanceMatrix"/> as llama-imatrix does: runs the model over a calibration text in
/// llama-perplexity's chunks and, for every weight of a matrix product in the blocks, sums each input column's squared
/// activation over the tokens (and counts the tokens). It listens to the forward pass's named intermediates
/// (<see cref="ITraceSink"/>), each of which is the input of one or more weights.
/// </summary>
/// <remarks>
/// Like llama-imatrix, it ignores the output projection (<c>output.weight</c>, outside the blocks) and batches of
/// fewer than 16 tokens, and sums in float in token order. Dense llama, qwen2 and qwen3 models are supported; the
/// routed experts and multi-head latent attention of qwen3moe and deepseek2 are not collected yet.
/// </remarks>
public sealed class ImportanceCollector : ITraceSink
{
    /// <summary>llama-imatrix skips matrix products over fewer tokens than this (its "ask" callback).</summary>
    private const int MinimumTokens = 16;

    /// <summary>Which weights read each traced intermediate (llama.cpp's names for both).</summary>
    private static readonly Dictionary<string, string[]> InputsOf = new(StringComparer.Ordinal)
    {
        ["attn_norm"] = ["attn_q", "attn_k", "attn_v"],
        ["kqv_out"] = ["attn_output"],
        ["ffn_norm"] = ["ffn_gate", "ffn_up"],
        ["ffn_swiglu"] = ["ffn_down"],
    };

    private static readonly string[] Architectures = ["llama", "qwen2", "qwen3"];

    private readonly Dictionary<(string Trace, int Layer), Accumulator[]> _targets = [];
    private readonly SortedDictionary<string, Accumulator> _byWeight = new(StringComparer.Ordinal);

    private sealed class Accumulator(int columns)
    {
        public readonly float[] SumSquares = new float[columns];
        public readonly float[] Sums = new float[columns];
        public long Count;
    }

    /// <summary>Prepares to collect for the weights of <paramref name="model"/>.</summary>
    /// <exception cref="NotSupportedException">The architecture (or its experts) cannot be collected yet.</exception>
    public ImportanceCollector(Model model)
    {
        var file = model.File;
        string arch = file.GetString("general.architecture");
        if (!Architectures.Contains(arch) || file.GetUInt32OrDefault($"{arch}.expert_count", 0) > 0)
            throw new NotSupportedException(
                $"seek imatrix collects dense {string.Join(", ", Architectures)} models; '{arch}'{(Architectures.Contains(arch) ? " with experts" : "")} is not supported yet");
        foreach (var t in file.Tensors)
        {
            if (!t.Name.StartsWith("blk.", StringComparison.Ordinal) || !t.Name.EndsWith(".weight", StringComparison.Ordinal) || t.Shape.Length < 2) continue;
            string[] parts = t.Name.Split('.');
            if (parts.Length != 4 || !int.TryParse(parts[1], out int layer)) continue;
            foreach (var (trace, weights) in InputsOf)
            {
                if (!weights.Contains(parts[2])) continue;
                var acc = new Accumulator((int)t.Shape[0]);
                _byWeight[t.Name] = acc;
                var key = (trace, layer);
                _targets[key] = _targets.TryGetValue(key, out var list) ? [.. list, acc] : [acc];
            }
        }
    }

    /// <summary>The weights statistics are collected for.</summary>
    public IReadOnlyCollection<string> Weights => _byWeight.Keys;

    /// <inheritdoc/>
    public void Trace(string name, int layer, ReadOnlySpan<float> values)
    {
        if (!_targets.TryGetValue((name, layer), out var accumulators)) return;
        foreach (var acc in accumulators)
        {
            int cols = acc.SumSquares.Length;
            int tokens = values.Length / cols;
            if (tokens < MinimumTokens) continue;
            for (int t = 0; t < tokens; t++)
            {
                var x = values.Slice(t * cols, cols);
                for (int j = 0; j < cols; j++)
                {
                    acc.Sums[j] += x[j];
                    acc.SumSquares[j] += x[j] * x[j];
                }
            }
            acc.Count += tokens;
        }
    }

    /// <summary>What has been collected, as a matrix with the given provenance. Weights no batch reached are left out.</summary>
    public ImportanceMatrix ToMatrix(IEnumerable<string> datasets, int chunkCount, int chunkSize)
    {
        var matrix = new ImportanceMatrix { ChunkCount = chunkCount, ChunkSize = chunkSize };
        matrix.Datasets.AddRange(datasets);
        foreach (var (name, acc) in _byWeight)
        {
            if (acc.Count == 0) continue;
            matrix.Entries[name] = new ImportanceEntry((float[])acc.SumSquares.Clone(), [acc.Count], (float[])acc.Sums.Clone());
        }
        return matrix;
    }

    /// <summary>
    /// Runs <paramref name="model"/> over <paramref name="tokens"/> (tokenized with BOS if the model adds it) in chunks
    /// of <paramref name="chunkLength"/> tokens, as llama-imatrix does (each chunk from an empty cache, its first token
    /// replaced by BOS), and returns the importance matrix and the perplexity of the chunks' second halves.
    /// </summary>
    /// <exception cref="ArgumentException">The text is shorter than two chunks (llama-imatrix's minimum).</exception>
    public static (ImportanceMatrix Matrix, PerplexityResult Perplexity) Collect(Model model, ReadOnlySpan<int> tokens, int chunkLength, string dataset,
                                                                                   int maxChunks = int.MaxValue, int batchSize = 512, IProgress<int>? progress = null)
    {
        var collector = new ImportanceCollector(model);
        using var context = model.CreateContext(new ContextOptions { ContextLength = chunkLength, BatchSize = Math.Min(batchSize, chunkLength) });
        context.Trace = collector;
        var ppl = Perplexity.Compute(context, tokens, chunkLength, model.Tokenizer.AddBos ? model.Tokenizer.BosId : null, maxChunks, progress);
        return (collector.ToMatrix([dataset], ppl.Chunks, chunkLength), ppl);
    }
}
