using System.Collections.Concurrent;
using SeekSharp.Gguf;
using SeekSharp.Kernels;

namespace SeekSharp.Conformance.Tests.TinyModels;

/// <summary>
/// Writes small random-weight llama / qwen2 GGUF files that llama.cpp loads, so conformance tests can compare
/// SeekSharp with llama.cpp without downloading a model.
/// </summary>
/// <remarks>
/// Names and keys follow llama.cpp (src/llama-arch.cpp, src/llama-model.cpp). Glossary: d = Dim, nh = Heads,
/// nkv = KvHeads, hd = HeadDim = d / nh, ff = FfnDim, V = vocab size. Shapes below are ggml order {ne0, ne1}:
/// ne0 is the contiguous input width, so a {cols, rows} weight maps a cols-vector to a rows-vector.
///
/// Rotary layout. Hugging Face Llama rotates the two halves of each head (x[i], x[i + hd/2]); convert_hf_to_gguf
/// permutes the rows of attn_q / attn_k for the llama architecture so that llama.cpp can rotate adjacent pairs
/// (x[2i], x[2i+1]) instead: llama uses LLAMA_ROPE_TYPE_NORM (adjacent pairs). qwen2 is written unpermuted and
/// llama.cpp rotates halves: LLAMA_ROPE_TYPE_NEOX. The weights here are random, so no permutation is applied, but
/// SeekSharp must rotate exactly as llama.cpp does for each architecture to match it.
///
/// Random weights, uniform with these means and standard deviations: every linear weight std 1/sqrt(fan_in) so each
/// projection keeps activations O(1); embeddings std 1, or 1/sqrt(d) when tied to the output (unit-scale rows would
/// give logits of spread sqrt(d), where a token's self-similarity dominates and greedy decoding repeats one token);
/// norm weights 1 +- 0.1 (std) so they are not all equal; biases std 0.2. The logits then have a spread of order one.
/// </remarks>
internal static class TinyModelBuilder
{
    private static readonly ConcurrentDictionary<TinyModelOptions, Lazy<string>> Cache = new();
    private static readonly Lazy<string> CacheDirectory = new(CreateCacheDirectory);

    /// <summary>Writes the model described by <paramref name="options"/> to <paramref name="path"/>.</summary>
    public static void Build(TinyModelOptions options, string path) => CreateWriter(options).Write(path);

    /// <summary>
    /// The path of a model file for <paramref name="options"/>, built on first use and shared by every test of this
    /// process (the files live in a per-process temp folder deleted at exit). Identical options give the same file.
    /// </summary>
    public static string GetOrBuild(TinyModelOptions options) =>
        Cache.GetOrAdd(options, o => new Lazy<string>(() =>
        {
            string path = Path.Combine(CacheDirectory.Value, $"tiny-{Cache.Count}-{Guid.NewGuid():N}.gguf");
            Build(o, path);
            return path;
        })).Value;

    /// <summary>A writer holding the whole model: metadata, tokenizer and tensors, ready to <c>Write</c>.</summary>
    public static GgufWriter CreateWriter(TinyModelOptions o)
    {
        Validate(o);
        string arch = o.ArchitectureName;
        int d = o.Dim, hd = o.HeadDim, qDim = o.Heads * hd, kvDim = o.KvHeads * hd, ff = o.FfnDim, vocab = o.Tokenizer.VocabSize;
        var rng = new Random(o.Seed);
        var w = new GgufWriter();

        w.Set("general.architecture", arch);
        w.Set("general.name", $"seeksharp-tiny-{arch}");
        w.Set($"{arch}.context_length", (uint)o.ContextLength);
        w.Set($"{arch}.embedding_length", (uint)d);
        w.Set($"{arch}.block_count", (uint)o.Layers);
        w.Set($"{arch}.feed_forward_length", (uint)ff);
        w.Set($"{arch}.attention.head_count", (uint)o.Heads);
        w.Set($"{arch}.attention.head_count_kv", (uint)o.KvHeads);
        if (o.ExplicitHeadDim > 0)
        {
            w.Set($"{arch}.attention.key_length", (uint)hd);
            w.Set($"{arch}.attention.value_length", (uint)hd);
        }
        w.Set($"{arch}.attention.layer_norm_rms_epsilon", o.RmsNormEps);
        w.Set($"{arch}.rope.freq_base", o.RopeTheta);
        w.Set($"{arch}.rope.dimension_count", (uint)hd);
        w.Set($"{arch}.vocab_size", (uint)vocab);
        o.Tokenizer.Write(w);

        // Tied: the embedding is also the output projection, so it takes the projection scale 1/sqrt(d).
        Matrix(w, rng, "token_embd.weight", o.WeightType, cols: d, rows: vocab, std: o.TiedOutput ? null : 1.0); // {d, V}
        if (o.Llama3Scaling is { } scaling)
            w.AddTensor("rope_freqs.weight", GgmlType.F32, [hd / 2], Llama3RopeFactors(scaling, o.RopeTheta, hd)); // {hd/2}

        for (int layer = 0; layer < o.Layers; layer++)
        {
            string p = $"blk.{layer}.";
            Norm(w, rng, p + "attn_norm.weight", d);                                            // {d}
            Matrix(w, rng, p + "attn_q.weight", o.WeightType, cols: d, rows: qDim);            // {d, nh*hd}
            Matrix(w, rng, p + "attn_k.weight", o.WeightType, cols: d, rows: kvDim);           // {d, nkv*hd}
            Matrix(w, rng, p + "attn_v.weight", o.WeightType, cols: d, rows: kvDim);           // {d, nkv*hd}
            if (o.Architecture == TinyArchitecture.Qwen2 && o.QkvBias)
            {
                Vector(w, rng, p + "attn_q.bias", qDim, mean: 0, std: 0.2);                    // {nh*hd}
                Vector(w, rng, p + "attn_k.bias", kvDim, mean: 0, std: 0.2);                   // {nkv*hd}
                Vector(w, rng, p + "attn_v.bias", kvDim, mean: 0, std: 0.2);                   // {nkv*hd}
            }
            if (o.Architecture == TinyArchitecture.Qwen3)
            {
                Norm(w, rng, p + "attn_q_norm.weight", hd);                                     // {hd}
                Norm(w, rng, p + "attn_k_norm.weight", hd);                                     // {hd}
            }
            Matrix(w, rng, p + "attn_output.weight", o.WeightType, cols: qDim, rows: d);       // {nh*hd, d}
            Norm(w, rng, p + "ffn_norm.weight", d);                                             // {d}
            Matrix(w, rng, p + "ffn_gate.weight", o.WeightType, cols: d, rows: ff);            // {d, ff}
            Matrix(w, rng, p + "ffn_up.weight", o.WeightType, cols: d, rows: ff);              // {d, ff}
            Matrix(w, rng, p + "ffn_down.weight", o.WeightType, cols: ff, rows: d);            // {ff, d}
        }

        Norm(w, rng, "output_norm.weight", d);                                                  // {d}
        if (!o.TiedOutput)
            Matrix(w, rng, "output.weight", o.WeightType, cols: d, rows: vocab);               // {d, V}
        return w;
    }

    /// <summary>
    /// The divisors convert_hf_to_gguf derives for Llama 3 scaling, one per rotary frequency
    /// theta_i = base^(-2i/hd): 1 for short wavelengths, <c>Factor</c> for long ones, a smooth blend between.
    /// llama.cpp divides each frequency by its entry.
    /// </summary>
    public static float[] Llama3RopeFactors(Llama3RopeScaling s, float ropeTheta, int headDim)
    {
        var factors = new float[headDim / 2];
        double lowFreqWavelen = s.OriginalContextLength / s.LowFreqFactor;
        double highFreqWavelen = s.OriginalContextLength / s.HighFreqFactor;
        for (int i = 0; i < factors.Length; i++)
        {
            double freq = 1.0 / Math.Pow(ropeTheta, 2.0 * i / headDim);
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highFreqWavelen)
                factors[i] = 1f;
            else if (wavelen > lowFreqWavelen)
                factors[i] = s.Factor;
            else
            {
                double smooth = (s.OriginalContextLength / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                factors[i] = (float)(1 / ((1 - smooth) / s.Factor + smooth));
            }
        }
        return factors;
    }

    private static void Validate(TinyModelOptions o)
    {
        if (o.Dim <= 0 || o.Heads <= 0 || o.KvHeads <= 0 || o.Layers <= 0 || o.FfnDim <= 0)
            throw new ArgumentException($"Sizes must be positive: {o}.");
        if ((o.ExplicitHeadDim == 0 && o.Dim % o.Heads != 0) || o.HeadDim % 2 != 0)
            throw new ArgumentException($"Dim {o.Dim} must split into {o.Heads} heads of even width.");
        if (o.Heads % o.KvHeads != 0)
            throw new ArgumentException($"Heads {o.Heads} must be a multiple of KvHeads {o.KvHeads} (grouped-query attention).");
        int block = TensorTypes.BlockSize(o.WeightType);
        foreach (int width in new[] { o.Dim, o.Heads * o.HeadDim, o.FfnDim })
            if (width % block != 0)
                throw new ArgumentException($"{o.WeightType} needs every weight input width to be a multiple of {block}; {width} is not.");
        if (o.Llama3Scaling is not null && o.Architecture != TinyArchitecture.Llama)
            throw new ArgumentException("Llama 3 rope scaling (rope_freqs.weight) is only written for the llama architecture.");
    }

    // A [rows, cols] weight, row-major, entries with mean 0 and std 1/sqrt(cols) unless given.
    private static void Matrix(GgufWriter w, Random rng, string name, GgmlType type, int cols, int rows, double? std = null)
    {
        var values = new float[(long)rows * cols];
        Fill(rng, values, 0, std ?? 1.0 / Math.Sqrt(cols));
        w.AddTensor(name, type, [cols, rows], values);
    }

    private static void Norm(GgufWriter w, Random rng, string name, int n) => Vector(w, rng, name, n, mean: 1, std: 0.1);

    private static void Vector(GgufWriter w, Random rng, string name, int n, double mean, double std)
    {
        var values = new float[n];
        Fill(rng, values, mean, std);
        w.AddTensor(name, GgmlType.F32, [n], values);
    }

    // Uniform on [mean - sqrt(3)*std, mean + sqrt(3)*std], which has the requested mean and std. Random weights need
    // no Gaussian shape, and one NextDouble per value keeps a 150k-token vocab quick to build in Debug test runs.
    // System.Random's seeded sequence is stable across .NET versions and platforms.
    private static void Fill(Random rng, Span<float> values, double mean, double std)
    {
        double halfWidth = Math.Sqrt(3.0) * std;
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(mean + halfWidth * (2.0 * rng.NextDouble() - 1.0));
    }

    private static string CreateCacheDirectory()
    {
        DeleteDirectoriesOfDeadProcesses();
        string dir = Path.Combine(Path.GetTempPath(), $"{CacheDirectoryPrefix}{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { } // a file still mapped by llama.cpp; the OS temp cleaner gets it
            catch (UnauthorizedAccessException) { }
        };
        return dir;
    }

    private const string CacheDirectoryPrefix = "seeksharp-tiny-";

    // The test host may be killed without running ProcessExit handlers; its folder is removed by the next run.
    private static void DeleteDirectoriesOfDeadProcesses()
    {
        foreach (string dir in Directory.EnumerateDirectories(Path.GetTempPath(), CacheDirectoryPrefix + "*"))
        {
            if (!int.TryParse(Path.GetFileName(dir)[CacheDirectoryPrefix.Length..], out int pid) || IsAlive(pid))
                continue;
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
