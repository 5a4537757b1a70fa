using System.Collections.Concurrent;
using System.Text;
using LLama.Native;

namespace SeekSharp.Conformance.Tests.Oracle;

/// <summary>
/// llama.cpp (through LLamaSharp's native bindings) configured as a reference implementation:
/// CPU only, no flash attention, F32 KV cache, no weight repacking, one sequence, the whole context in one
/// batch and a fixed thread count, so that its numbers are reproducible and as close as llama.cpp gets to the
/// plain ggml reference kernels that SeekSharp mirrors.
/// </summary>
/// <remarks>
/// Every evaluation starts from an empty KV cache, so calls are independent of each other.
/// Not thread-safe: one instance serves one test at a time.
/// </remarks>
internal sealed class LlamaCpp : IDisposable
{
    /// <summary>
    /// Thread count used unless the caller asks otherwise. One, because ggml's worker threads spin at barriers:
    /// on a busy machine (parallel test runs, other jobs) two threads made a 64-token prompt up to 100x slower,
    /// while each output element is computed by a single thread either way, so the numbers do not change.
    /// </summary>
    public const int DefaultThreads = 1;

    private readonly SafeLlamaModelHandle _model;
    private readonly SafeLLamaContextHandle? _context; // null for a vocab-only load
    private readonly int _threads;

    private LlamaCpp(SafeLlamaModelHandle model, SafeLLamaContextHandle? context, int threads, string path)
    {
        _model = model;
        _context = context;
        _threads = threads;
        Path = path;
    }

    /// <summary>The GGUF file this instance was loaded from.</summary>
    public string Path { get; }

    /// <summary>Number of tokens in the vocabulary (the length of every logits row).</summary>
    public int VocabSize => _model.Vocab.Count;

    /// <summary>Context size of the evaluation context (0 for a vocab-only load).</summary>
    public int ContextSize => _context is null ? 0 : (int)_context.ContextSize;

    /// <summary>BOS id as llama.cpp resolved it from the GGUF metadata, null when the vocab has none.</summary>
    public int? BosId => _model.Vocab.BOS is { } t ? (int)t : null;

    /// <summary>EOS id as llama.cpp resolved it from the GGUF metadata, null when the vocab has none.</summary>
    public int? EosId => _model.Vocab.EOS is { } t ? (int)t : null;

    /// <summary>Whether llama.cpp prepends BOS when tokenizing with <c>addSpecial</c>.</summary>
    public bool AddBos => _model.Vocab.ShouldAddBOS;

    /// <summary>Transformer layer count (<c>{arch}.block_count</c>).</summary>
    public int LayerCount => _model.LayerCount;

    /// <summary>Residual width (<c>{arch}.embedding_length</c>).</summary>
    public int EmbeddingSize => _model.EmbeddingSize;

    /// <summary>Query head count.</summary>
    public int HeadCount => _model.HeadCount;

    /// <summary>Key/value head count.</summary>
    public int KvHeadCount => _model.KVHeadCount;

    /// <summary>Training context length (<c>{arch}.context_length</c>).</summary>
    public int TrainContextLength => _model.ContextSize;

    /// <summary>llama.cpp's <c>llama_rope_type</c> for the architecture: -1 none, 0 NORM (adjacent pairs),
    /// 2 NEOX (halves). Raw because LLamaSharp 0.30's enum names only None and Norm.</summary>
    public int RopeTypeId => (int)_model.RopeType;

    /// <summary>Loads a model with weights and creates an evaluation context of <paramref name="contextSize"/> tokens.</summary>
    public static LlamaCpp Load(string path, int contextSize = 256, int threads = DefaultThreads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(contextSize, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        var model = LoadModel(path, vocabOnly: false);
        try
        {
            var context = CreateContext(model, contextSize, threads, path);
            return new LlamaCpp(model, context, threads, path);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// As <see cref="Load"/>, with ggml's scheduler eval callback installed (<c>llama_context_params.cb_eval</c>):
    /// during every decode it is asked, per graph node, whether the caller wants that tensor (ask = true), and is then
    /// handed each wanted tensor right after it is computed (ask = false; returning false there aborts the graph).
    /// The callback must stay valid for the lifetime of the instance.
    /// </summary>
    internal static unsafe LlamaCpp LoadWithEvalCallback(string path, int contextSize,
        delegate* unmanaged[Cdecl]<nint, byte, nint, byte> callback, nint userData, int threads = DefaultThreads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(contextSize, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        var model = LoadModel(path, vocabOnly: false);
        try
        {
            var context = CreateContext(model, contextSize, threads, path, (nint)callback, userData);
            return new LlamaCpp(model, context, threads, path);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Loads only the tokenizer part of a GGUF file: enough for <see cref="Tokenize"/> and <see cref="TokenToPiece"/>.</summary>
    public static LlamaCpp LoadVocabOnly(string path) =>
        new(LoadModel(path, vocabOnly: true), null, DefaultThreads, path);

    /// <summary>Tokenizes like <c>llama_tokenize</c>: <paramref name="addSpecial"/> adds BOS/EOS as the vocab asks,
    /// <paramref name="parseSpecial"/> turns special-token text into its id instead of tokenizing it as plain text.</summary>
    public int[] Tokenize(string text, bool addSpecial, bool parseSpecial)
    {
        var tokens = _model.Tokenize(text, addSpecial, parseSpecial, Encoding.UTF8);
        var ids = new int[tokens.Length];
        for (int i = 0; i < ids.Length; i++)
            ids[i] = (int)tokens[i];
        return ids;
    }

    /// <summary>The raw bytes llama.cpp renders for one token (<c>llama_token_to_piece</c>, no lstrip).
    /// A byte-level token may be an incomplete UTF-8 sequence, hence bytes and not a string.</summary>
    public byte[] TokenBytes(int id, bool renderSpecial = true)
    {
        Span<byte> buffer = stackalloc byte[256];
        uint n = _model.TokenToSpan(id, buffer, 0, renderSpecial);
        if (n > buffer.Length)
        {
            var big = new byte[n];
            n = _model.TokenToSpan(id, big, 0, renderSpecial);
            return big[..(int)n];
        }
        return buffer[..(int)n].ToArray();
    }

    /// <summary><see cref="TokenBytes"/> decoded as UTF-8 (invalid sequences become U+FFFD).</summary>
    public string TokenToPiece(int id, bool renderSpecial = true) => Encoding.UTF8.GetString(TokenBytes(id, renderSpecial));

    /// <summary>Evaluates <paramref name="tokens"/> (positions 0..n-1) in one batch and returns the logits of the last position.</summary>
    /// <returns>[VocabSize] logits.</returns>
    public float[] LastLogits(int[] tokens)
    {
        var context = RequireContext();
        RequireFits(tokens.Length, (int)context.ContextSize);
        context.MemoryClear(true);
        var batch = new LLamaBatch();
        for (int i = 0; i < tokens.Length; i++)
            batch.Add(tokens[i], i, LLamaSeqId.Zero, logits: i == tokens.Length - 1);
        Decode(context, batch);
        return context.GetLogitsIth(tokens.Length - 1).ToArray();
    }

    /// <summary>Evaluates <paramref name="tokens"/> in one batch and returns the logits of every position.</summary>
    /// <returns>[tokens.Length][VocabSize] logits; row i predicts token i+1.</returns>
    public float[][] AllLogits(int[] tokens)
    {
        var context = RequireContext();
        RequireFits(tokens.Length, (int)context.ContextSize);
        context.MemoryClear(true);
        var batch = new LLamaBatch();
        for (int i = 0; i < tokens.Length; i++)
            batch.Add(tokens[i], i, LLamaSeqId.Zero, logits: true);
        Decode(context, batch);
        var rows = new float[tokens.Length][];
        for (int i = 0; i < rows.Length; i++)
            rows[i] = context.GetLogitsIth(i).ToArray();
        return rows;
    }

    /// <summary>
    /// Greedy decoding: the prompt in one batch, then <paramref name="n"/> steps of argmax (lowest id on ties,
    /// as llama.cpp's greedy sampler) each evaluated as a single-token batch. Does not stop at end-of-generation
    /// tokens, so both implementations always produce <paramref name="n"/> ids.
    /// </summary>
    public int[] Greedy(int[] prompt, int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(prompt.Length, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var context = RequireContext();
        RequireFits(prompt.Length + n - 1, (int)context.ContextSize);
        context.MemoryClear(true);

        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Length; i++)
            batch.Add(prompt[i], i, LLamaSeqId.Zero, logits: i == prompt.Length - 1);
        Decode(context, batch);

        var output = new int[n];
        int logitsIndex = prompt.Length - 1;
        for (int step = 0; step < n; step++)
        {
            int next = ArgMax(context.GetLogitsIth(logitsIndex));
            output[step] = next;
            if (step == n - 1)
                break;
            batch.Clear();
            batch.Add(next, prompt.Length + step, LLamaSeqId.Zero, logits: true);
            Decode(context, batch);
            logitsIndex = 0;
        }
        return output;
    }

    /// <summary>
    /// Perplexity exactly as <c>llama-perplexity</c> computes it (tools/perplexity/perplexity.cpp, default mode,
    /// one sequence per batch): the tokens are cut into <c>tokens.Length / nCtx</c> chunks of <paramref name="nCtx"/>;
    /// each chunk is evaluated from an empty cache with its first token replaced by BOS when the vocab adds BOS;
    /// only positions from <c>nCtx/2</c> on are scored (each predicting the next token of the chunk, so
    /// <c>nCtx - 1 - nCtx/2</c> scores per chunk); NLL = max + log(sum exp(l - max)) - l[target] with the sum in
    /// double over float exponentials; PPL = exp(sum NLL / count).
    /// </summary>
    /// <param name="tokens">Already tokenized text (llama-perplexity tokenizes with add_special = true).</param>
    /// <param name="nCtx">Chunk length (llama-perplexity's <c>-c</c>). llama-perplexity packs n_batch/n_ctx chunks into one
    /// batch as separate sequences; this evaluates one chunk per batch, which computes the same per-sequence attention.</param>
    public PerplexityResult Perplexity(int[] tokens, int nCtx)
    {
        RequireContext();
        ArgumentOutOfRangeException.ThrowIfLessThan(nCtx, 4);
        if (tokens.Length < 2 * nCtx)
            throw new ArgumentException(
                $"llama-perplexity needs at least 2*n_ctx = {2 * nCtx} tokens, got {tokens.Length}.", nameof(tokens));

        // llama.cpp may round the KV cache up (to 256 cells here); like llama-perplexity, chunking uses the requested nCtx.
        using var context = CreateContext(_model, nCtx, _threads, Path);

        int chunks = tokens.Length / nCtx;
        int first = nCtx / 2;
        int? bos = AddBos ? BosId : null;
        int vocab = VocabSize;
        double nll = 0;
        int count = 0;
        var batch = new LLamaBatch();

        for (int chunk = 0; chunk < chunks; chunk++)
        {
            int start = chunk * nCtx;
            context.MemoryClear(true);
            batch.Clear();
            for (int k = 0; k < nCtx; k++)
            {
                int token = k == 0 && bos is { } b ? b : tokens[start + k];
                batch.Add(token, k, LLamaSeqId.Zero, logits: k >= first);
            }
            Decode(context, batch);

            // Batch output rows are numbered by their index in the batch, which equals the position here.
            for (int k = first; k < nCtx - 1; k++)
            {
                var logits = context.GetLogitsIth(k);
                if (logits.Length != vocab)
                    throw new InvalidOperationException($"Expected {vocab} logits, got {logits.Length}.");
                nll += NegativeLogLikelihood(logits, tokens[start + k + 1]);
                count++;
            }
        }
        return new PerplexityResult(Math.Exp(nll / count), chunks, count, nll);
    }

    /// <summary>llama-perplexity's per-token NLL: max and exponentials in float, their sum and the log in double.</summary>
    internal static double NegativeLogLikelihood(ReadOnlySpan<float> logits, int target)
    {
        float max = logits[0];
        for (int i = 1; i < logits.Length; i++)
            max = MathF.Max(max, logits[i]);
        double sumExp = 0;
        for (int i = 0; i < logits.Length; i++)
            sumExp += MathF.Exp(logits[i] - max);
        return -(logits[target] - max - Math.Log(sumExp));
    }

    /// <summary>Index of the largest value, the lowest such index on ties.</summary>
    internal static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best])
                best = i;
        return best;
    }

    public void Dispose()
    {
        _context?.Dispose();
        _model.Dispose();
    }

    private SafeLLamaContextHandle RequireContext() =>
        _context ?? throw new InvalidOperationException($"'{Path}' was loaded vocab-only; load it with LlamaCpp.Load to evaluate.");

    private static void RequireFits(int positions, int contextSize)
    {
        if (positions > contextSize)
            throw new ArgumentException($"{positions} positions do not fit the llama.cpp context of {contextSize} tokens.");
    }

    private void Decode(SafeLLamaContextHandle context, LLamaBatch batch)
    {
        var result = context.Decode(batch);
        if (result != DecodeResult.Ok)
            throw new InvalidOperationException($"llama_decode failed with {result} for '{Path}'.{NativeLog.RecentErrors()}");
    }

    private static SafeLlamaModelHandle LoadModel(string path, bool vocabOnly)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException("GGUF file not found.", path);
        NativeLog.EnsureInitialized();
        var p = LLamaModelParams.Default();
        p.n_gpu_layers = 0;
        p.vocab_only = vocabOnly;
        // Repacked CPU layouts (e.g. Q4_0 interleaved) use other kernels than ggml's vec_dot reference path.
        p.use_extra_bufts = false;
        p.check_tensors = !vocabOnly;
        try
        {
            return SafeLlamaModelHandle.LoadFromFile(path, p);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"llama.cpp could not load '{path}': {e.Message}{NativeLog.RecentErrors()}", e);
        }
    }

    private static SafeLLamaContextHandle CreateContext(SafeLlamaModelHandle model, int contextSize, int threads, string path,
        nint evalCallback = 0, nint evalCallbackUserData = 0)
    {
        var c = LLamaContextParams.Default();
        c.n_ctx = (uint)contextSize;
        // Batch and micro-batch cover the whole context so that a prompt is always one graph evaluation.
        c.n_batch = (uint)contextSize;
        c.n_ubatch = (uint)contextSize;
        c.n_seq_max = 1;
        c.n_threads = threads;
        c.n_threads_batch = threads;
        c.llama_flash_attn_type = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
        c.type_k = GGMLType.GGML_TYPE_F32;
        c.type_v = GGMLType.GGML_TYPE_F32;
        c.offload_kqv = false;
        c.op_offload = false;
        c.embeddings = false;
        c.no_perf = true;
        c.cb_eval = evalCallback;
        c.cb_eval_user_data = evalCallbackUserData;
        try
        {
            return SafeLLamaContextHandle.Create(model, c);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"llama.cpp could not create a context for '{path}': {e.Message}{NativeLog.RecentErrors()}", e);
        }
    }

    /// <summary>
    /// Routes llama.cpp's log to a small ring of recent warnings/errors instead of stderr: tests stay quiet, and
    /// load failures can still say why.
    /// </summary>
    internal static class NativeLog
    {
        private static readonly object Gate = new();
        private static readonly ConcurrentQueue<string> Recent = new();
        private static bool _initialized;

        public static void EnsureInitialized()
        {
            lock (Gate)
            {
                if (_initialized)
                    return;
                if (!NativeLibraryConfig.LLama.LibraryHasLoaded)
                    NativeLibraryConfig.All.WithLogCallback(Log);
                // Forces the native libraries to load now (LLamaSharp resolves them lazily); doing it before
                // any other native call avoids half-initialised backends, e.g. in the quantizer.
                NativeApi.llama_empty_call();
                NativeLogConfig.llama_log_set(Log);
                _initialized = true;
            }
        }

        public static string RecentErrors()
        {
            var lines = Recent.ToArray();
            return lines.Length == 0 ? "" : Environment.NewLine + "llama.cpp log:" + Environment.NewLine + string.Join("", lines);
        }

        private static void Log(LLamaLogLevel level, string message)
        {
            if (level is not (LLamaLogLevel.Error or LLamaLogLevel.Warning))
                return;
            Recent.Enqueue(message);
            while (Recent.Count > 20)
                Recent.TryDequeue(out _);
        }
    }
}

/// <summary>Result of <see cref="LlamaCpp.Perplexity"/>.</summary>
/// <param name="Value">exp(mean NLL).</param>
/// <param name="Chunks">Number of n_ctx chunks evaluated.</param>
/// <param name="TokensScored">Number of predictions scored (chunks * (n_ctx - 1 - n_ctx/2)).</param>
/// <param name="NllSum">Sum of negative log-likelihoods over the scored predictions.</param>
internal sealed record PerplexityResult(double Value, int Chunks, int TokensScored, double NllSum);
