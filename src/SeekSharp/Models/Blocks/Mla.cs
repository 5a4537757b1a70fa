using System.Numerics.Tensors;
using SeekSharp.Inference;
using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Models.Blocks;

/// <summary>
/// Multi-head latent attention (DeepSeek-V2 §2.1) of one layer. Per token, kv_a projects x to a latent c [C] (RMS-
/// normalised) and one key k_pe [R] shared by all heads (roped); only [c | k_pe] is cached. Per head, the query is
/// [q_nope (N) | q_pe (R)], and the key and value decompress from the latent: k_nope = W_UK c [N], v = W_UV c [Dv].
/// Glossary: T tokens, D width, H heads, N = nope, R = rope, C = kv_lora_rank, Dv value head, P cached positions.
/// </summary>
/// <remarks>
/// Two paths read the same cache and agree to rounding (<see cref="MlaAttention"/>):
/// - naive: decompress every cached position of the sequence into per-head keys [k_nope | k_pe] and values, then attend
///   as multi-head attention with heads of N + R and Dv (costs P · C · H · (N + Dv) per chunk, whatever its length);
/// - absorbed (DeepSeek-V2 appendix C): q_nope · (W_UK c) = (W_UKᵀ q_nope) · c, so each query head becomes
///   [W_UKᵀ q_nope (C) | q_pe (R)] and attends to the cached rows [c | k_pe] as one shared KV head, with the latent as
///   the value; W_UV then turns each head's attended latent into its value (costs H · C · (N + Dv) per token, and
///   attention over C + R wide keys).
/// The softmax scale is the model's (<see cref="ModelConfig.AttentionScale"/>: mscale² / √(N + R)) on both paths.
/// </remarks>
internal sealed unsafe class Mla
{
    private readonly ModelConfig _c;
    private readonly MlaConfig _m;
    private readonly Linear? _wqA;         // [qLora, D] (V3) or null
    private readonly float[]? _qANorm;     // [qLora]
    private readonly Linear _wq;           // [H · (N + R), qLora] (q_b) or [H · (N + R), D]
    private readonly Linear _wkvA;         // [C + R, D]
    private readonly float[] _kvANorm;     // [C]
    private readonly Linear _wo;           // [D, H · Dv]
    // The up-projections in the forms each path uses; the file holds one of the two forms and the other is built in
    // F32 when a path first needs it.
    private readonly Linear? _wkvB;        // [H · (N + Dv), C], per head the key rows then the value rows
    private readonly LinearStack? _wkB;    // [H][C, N]: W_UKᵀ per head
    private readonly LinearStack? _wvB;    // [H][Dv, C]: W_UV per head
    private Linear? _wkvBFloat;
    private LinearStack? _wkBFloat;
    private float[]? _wkvBFloats, _wkBFloats; // the pinned arrays under those two, kept alive with them
    private readonly Lock _lock = new();

    public Mla(WeightReader w, ModelConfig c, int layer)
    {
        _c = c;
        _m = c.Mla!;
        if (_m.QLoraRank > 0)
        {
            _wqA = w.Matrix(TensorKind.AttnQA, layer);
            _qANorm = w.Vector(TensorKind.AttnQANorm, layer);
            _wq = w.Matrix(TensorKind.AttnQB, layer);
        }
        else
        {
            _wq = w.Matrix(TensorKind.AttnQ, layer);
        }
        _wkvA = w.Matrix(TensorKind.AttnKvAMqa, layer);
        _kvANorm = w.Vector(TensorKind.AttnKvANorm, layer);
        _wo = w.Matrix(TensorKind.AttnOutput, layer);
        if (_m.SplitKvB)
        {
            _wkB = w.Stack(TensorKind.AttnKB, layer);
            _wvB = w.Stack(TensorKind.AttnVB, layer);
        }
        else
        {
            var kvB = w.Matrix(TensorKind.AttnKvB, layer);
            _wkvB = kvB;
            // W_UV of head h is a run of whole rows of kv_b: a view, no copy.
            long rowBytes = TensorTypes.RowBytes(kvB.Type, kvB.Cols);
            _wvB = new LinearStack(kvB.Data + _m.NopeDim * rowBytes, kvB.Type, c.HeadCount, _m.ValueDim, kvB.Cols,
                matrixStrideBytes: (_m.NopeDim + _m.ValueDim) * rowBytes);
        }
    }

    /// <summary>Scratch of one context for every MLA layer.</summary>
    public sealed class Scratch
    {
        public Scratch(ModelConfig c, int maxTokens, int contextLength, int sequences)
        {
            var m = c.Mla!;
            int h = c.HeadCount;
            QA = new float[maxTokens * Math.Max(m.QLoraRank, 1)];
            Q = new float[maxTokens * h * c.HeadDim];
            Kv = new float[maxTokens * (m.KvLoraRank + m.RopeDim)];
            QAbsorbed = new float[maxTokens * h * (m.KvLoraRank + m.RopeDim)];
            OLatent = new float[maxTokens * h * m.KvLoraRank];
            Cos = new float[m.RopeDim / 2];
            Sin = new float[m.RopeDim / 2];
            HeadIn = new float[h * maxTokens * Math.Max(m.NopeDim, m.KvLoraRank)];
            HeadOut = new float[h * maxTokens * Math.Max(m.KvLoraRank, m.ValueDim)];
            SequenceTokens = new int[sequences];
            SequenceLength = new int[sequences];
            SequenceBatchTokens = new int[maxTokens];
            DecodingTokens = new int[maxTokens];
            ContextLength = contextLength;
            MaxTokens = maxTokens;
        }

        public readonly float[] QA;          // [T, qLora]
        public readonly float[] Q;           // [T, H · (N + R)]
        public readonly float[] Kv;          // [T, C + R]: the cached row [c | k_pe]
        public readonly float[] QAbsorbed;   // [T, H · (C + R)]
        public readonly float[] OLatent;     // [T, H · C]
        public readonly float[] Cos, Sin;    // [R / 2]
        public readonly float[] HeadIn;      // [H][T, max(N, C)] one head's rows, gathered
        public readonly float[] HeadOut;     // [H][T, max(C, Dv)]
        public readonly int[] SequenceTokens, SequenceLength; // [nSeq] tokens in the batch, positions attended
        public readonly int[] SequenceBatchTokens;            // batch indices of one sequence's tokens
        public readonly int[] DecodingTokens;                 // batch indices of tokens that are their sequence's only one
        public readonly int ContextLength, MaxTokens;
        // The naive path's decompressed keys and values of one sequence, allocated the first time it runs.
        public float[]? Latent;   // [P, C]
        public float[]? KvB;      // [P, H · (N + Dv)]
        public float[]? Keys;     // [P, H · (N + R)]
        public float[]? Values;   // [P, H · Dv]
    }

    /// <summary>output[T, D] = W_o · attention of <paramref name="x"/> [T, D] (normed), writing the batch's latents to the cache.</summary>
    public void Forward(ReadOnlySpan<float> x, Span<float> output, Batch batch, KvCache cache, int layer, Rope rope,
        MlaAttention mode, Scratch s, Span<float> attnOut, WorkerPool pool, ITraceSink? trace)
    {
        int tokens = batch.Count, h = _c.HeadCount, n = _m.NopeDim, r = _m.RopeDim, kvl = _m.KvLoraRank, qk = n + r;
        int row = kvl + r;

        // Queries [T, H · (N + R)], through the low-rank bottleneck when there is one.
        if (_wqA is { } wqA)
        {
            wqA.Apply(x, s.QA, tokens, pool);
            RmsNorm.Rows(s.QA, _qANorm, _c.NormEpsilon, s.QA, tokens);
            _wq.Apply(s.QA, s.Q, tokens, pool);
        }
        else
        {
            _wq.Apply(x, s.Q, tokens, pool);
        }
        trace?.Trace("q", layer, s.Q.AsSpan(0, tokens * h * qk));

        // The cached row [c | k_pe]: the latent normalised, the shared key roped; and q_pe roped.
        _wkvA.Apply(x, s.Kv, tokens, pool);
        for (int t = 0; t < tokens; t++)
        {
            var kvRow = s.Kv.AsSpan(t * row, row);
            VectorOps.RmsNorm(kvRow[..kvl], _kvANorm, _c.NormEpsilon, kvRow[..kvl]);
            rope.Angles(batch.Positions[t], s.Cos, s.Sin);
            rope.Apply(kvRow, 1, row, kvl, s.Cos, s.Sin);
            rope.Apply(s.Q.AsSpan(t * h * qk, h * qk), h, qk, n, s.Cos, s.Sin);
        }
        Attention.Store(cache, layer, batch, s.Kv, default);

        if (mode == MlaAttention.Absorbed || (mode == MlaAttention.Auto && _m.SplitKvB))
        {
            Absorbed(batch, cache, layer, s, default, attnOut, pool);
        }
        else
        {
            // Decompressed keys and values are per sequence: one sequence at a time, its own tokens. Under Auto (older
            // files), a sequence's single decoding token goes the absorbed way instead, or each step would decompress
            // everything cached.
            Array.Clear(s.SequenceTokens);
            for (int t = 0; t < tokens; t++)
            {
                // Positions continue each sequence in order (InferenceContext checks), so its last token attends to the most.
                s.SequenceTokens[batch.Sequences[t]]++;
                s.SequenceLength[batch.Sequences[t]] = batch.Positions[t] + 1;
            }
            int decoding = 0;
            for (int t = 0; t < tokens; t++)
                if (mode == MlaAttention.Auto && s.SequenceTokens[batch.Sequences[t]] == 1) s.DecodingTokens[decoding++] = t;
            if (decoding > 0)
                Absorbed(batch, cache, layer, s, s.DecodingTokens.AsSpan(0, decoding), attnOut, pool);
            for (int seq = 0; seq < s.SequenceTokens.Length; seq++)
            {
                if (s.SequenceTokens[seq] == 0 || (mode == MlaAttention.Auto && s.SequenceTokens[seq] == 1)) continue;
                int count = 0;
                for (int t = 0; t < tokens; t++)
                    if (batch.Sequences[t] == seq) s.SequenceBatchTokens[count++] = t;
                NaiveSequence(batch, cache, layer, seq, s.SequenceLength[seq], s, s.SequenceBatchTokens.AsSpan(0, count), attnOut, pool);
            }
        }
        trace?.Trace("kqv_out", layer, attnOut[..(tokens * h * _m.ValueDim)]);
        _wo.Apply(attnOut, output, tokens, pool);
    }

    // Auto: on files with the split k_b/v_b, the absorbed path for everything. Measured on DeepSeek-V2-Lite's shape
    // (Q4_K_M, 4 layers, 2 threads, seek bench --mla), it was level with the naive one for a 512-token prompt on an
    // empty cache (287 against 284 tokens/s), 2.6 times as fast at a depth of 4096 (95 against 36) and faster for
    // decoding (75 against 51), although the naive path does fewer multiply-adds for long chunks: its attention reads
    // each decompressed key for one head, where the absorbed one reads each cached latent once for all heads. On older
    // files (one attn_kv_b), prompt chunks take the naive path, as llama.cpp does for them, so quantized files round as
    // there (the absorbed path would need W_UK rearranged into F32), and single decoding tokens the absorbed one.

    // The listed tokens (by batch index; empty: all) through the absorbed path.
    private void Absorbed(Batch batch, KvCache cache, int layer, Scratch s, ReadOnlySpan<int> list, Span<float> attnOut, WorkerPool pool)
    {
        int h = _c.HeadCount, n = _m.NopeDim, r = _m.RopeDim, kvl = _m.KvLoraRank, qk = n + r, qRow = kvl + r, dv = _m.ValueDim;
        int tokens = list.IsEmpty ? batch.Count : list.Length;
        var wkB = _wkB ?? KeyUpProjectionsTransposed();
        fixed (float* q = s.Q, qAbs = s.QAbsorbed, oLat = s.OLatent, o = attnOut, headIn = s.HeadIn, headOut = s.HeadOut)
        fixed (int* listed = list)
        {
            // Each head's q_nope through W_UKᵀ into the latent space; q_pe copied beside it: QAbsorbed[t, h] = [q_lat | q_pe].
            var absorb = new PerHead
            {
                Weights = wkB, In = q, InRow = h * qk, InWidth = n, Out = qAbs, OutRow = h * qRow, OutWidth = kvl, Count = tokens, Tokens = listed,
                HeadIn = headIn, HeadOut = headOut, HeadInStride = (long)tokens * n, HeadOutStride = (long)tokens * kvl,
                CopyIn = q, CopyOffset = n, CopyWidth = r, CopyOut = qAbs, CopyOutOffset = kvl,
            };
            pool.For(h, ref absorb);

            // One shared KV head: keys are the cached rows [c | k_pe], values their first C columns.
            Attention.Compute(Attention.KvRows.Of(cache, layer), batch, list, s.QAbsorbed, s.OLatent, h, 1, qRow, kvl, _c.AttentionScale, pool);

            // Each head's attended latent through W_UV into its value.
            var expand = new PerHead
            {
                Weights = _wvB!.Value, In = oLat, InRow = h * kvl, InWidth = kvl, Out = o, OutRow = h * dv, OutWidth = dv, Count = tokens, Tokens = listed,
                HeadIn = headIn, HeadOut = headOut, HeadInStride = (long)tokens * kvl, HeadOutStride = (long)tokens * dv,
            };
            pool.For(h, ref expand);
        }
    }

    private void NaiveSequence(Batch batch, KvCache cache, int layer, int seq, int positions, Scratch s, ReadOnlySpan<int> list,
        Span<float> attnOut, WorkerPool pool)
    {
        int h = _c.HeadCount, n = _m.NopeDim, r = _m.RopeDim, kvl = _m.KvLoraRank, qk = n + r, dv = _m.ValueDim, row = kvl + r;
        var wkvB = _wkvB ?? UpProjectionFloats();
        s.Latent ??= new float[(long)s.ContextLength * kvl];
        s.KvB ??= new float[(long)s.ContextLength * h * (n + dv)];
        s.Keys ??= new float[(long)s.ContextLength * h * qk];
        s.Values ??= new float[(long)s.ContextLength * h * dv];

        // The latents of positions 0..P-1, then kv_b over all of them: [P, H · (N + Dv)].
        bool half = cache.ElementType == GgmlType.F16;
        for (int p = 0; p < positions; p++)
        {
            byte* cached = cache.Key(layer, seq, p);
            var latent = s.Latent.AsSpan(p * kvl, kvl);
            if (half) TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(cached, kvl), latent);
            else new ReadOnlySpan<float>(cached, kvl).CopyTo(latent);
        }
        // In chunks of at most a batch: the matmul's per-thread scratch then never outgrows what a full batch needed,
        // so decoding allocates nothing as the sequence grows.
        for (int p0 = 0; p0 < positions; p0 += s.MaxTokens)
        {
            int count = Math.Min(s.MaxTokens, positions - p0);
            wkvB.Apply(s.Latent.AsSpan(p0 * kvl, count * kvl), s.KvB.AsSpan(p0 * h * (n + dv), count * h * (n + dv)), count, pool);
        }

        // Per head keys [k_nope | k_pe] and values, laid out as multi-head attention reads them.
        for (int p = 0; p < positions; p++)
        {
            byte* cached = cache.Key(layer, seq, p) + kvl * cache.ElementBytes;
            var pe = s.Keys.AsSpan(p * h * qk + n, r); // head 0's rope part, copied to the others below
            if (half) TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(cached, r), pe);
            else new ReadOnlySpan<float>(cached, r).CopyTo(pe);
            for (int head = 0; head < h; head++)
            {
                var decompressed = s.KvB.AsSpan((p * h + head) * (n + dv), n + dv);
                var key = s.Keys.AsSpan((p * h + head) * qk, qk);
                decompressed[..n].CopyTo(key[..n]);
                if (head > 0) pe.CopyTo(key[n..]);
                decompressed[n..].CopyTo(s.Values.AsSpan((p * h + head) * dv, dv));
            }
        }
        fixed (float* keys = s.Keys, values = s.Values)
        {
            // Only this sequence's rows are here, so whatever its sequence index, it reads this one block.
            var kv = Attention.KvRows.Contiguous((byte*)keys, h * qk, (byte*)values, h * dv, half: false);
            Attention.Compute(kv, batch, list, s.Q, attnOut, h, h, qk, dv, _c.AttentionScale, pool);
        }
    }

    // W_UKᵀ per head [H][C, N] from an older file's kv_b, in F32, built once.
    private LinearStack KeyUpProjectionsTransposed()
    {
        lock (_lock)
        {
            if (_wkBFloat is { } built) return built;
            int h = _c.HeadCount, n = _m.NopeDim, kvl = _m.KvLoraRank, dv = _m.ValueDim;
            var kvB = _wkvB!.Value.ToFloats(); // [H · (N + Dv), C]
            var t = GC.AllocateArray<float>(h * kvl * n, pinned: true);
            for (int head = 0; head < h; head++)
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < kvl; j++)
                        t[(head * kvl + j) * n + i] = kvB[(head * (n + dv) + i) * kvl + j];
            var stack = LinearStack.OverPinned(t, h, kvl, n);
            _wkBFloats = t;
            _wkBFloat = stack;
            return stack;
        }
    }

    // kv_b [H · (N + Dv), C] from a newer file's k_b and v_b, in F32, built once.
    private Linear UpProjectionFloats()
    {
        lock (_lock)
        {
            if (_wkvBFloat is { } built) return built;
            int h = _c.HeadCount, n = _m.NopeDim, kvl = _m.KvLoraRank, dv = _m.ValueDim;
            var kvB = GC.AllocateArray<float>(h * (n + dv) * kvl, pinned: true);
            for (int head = 0; head < h; head++)
            {
                var kT = _wkB!.Value[head].ToFloats(); // [C, N]
                var v = _wvB!.Value[head].ToFloats();  // [Dv, C]
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < kvl; j++)
                        kvB[(head * (n + dv) + i) * kvl + j] = kT[j * n + i];
                v.CopyTo(kvB.AsSpan((head * (n + dv) + n) * kvl, dv * kvl));
            }
            var linear = Linear.OverPinned(kvB, h * (n + dv), kvl);
            _wkvBFloats = kvB;
            _wkvBFloat = linear;
            return linear;
        }
    }

    /// <summary>
    /// For each head (a work item): gathers the tokens' first [InWidth] of that head from rows of In, multiplies by the
    /// head's matrix on this thread, and scatters the result into the head's slice of rows of Out; optionally copies
    /// another slice of the head (q_pe) beside it.
    /// </summary>
    private struct PerHead : IParallelWork
    {
        public LinearStack Weights;
        public float* In, Out, HeadIn, HeadOut, CopyIn, CopyOut;
        public int InRow, InWidth, OutRow, OutWidth, CopyOffset, CopyWidth, CopyOutOffset, Count;
        public long HeadInStride, HeadOutStride;
        public int* Tokens; // batch indices of the Count tokens, or null for 0..Count-1

        public void Run(int head)
        {
            float* gathered = HeadIn + head * HeadInStride, product = HeadOut + head * HeadOutStride;
            int inHead = InRow / Weights.Count, outHead = OutRow / Weights.Count;
            for (int i = 0; i < Count; i++)
            {
                int t = Tokens is null ? i : Tokens[i];
                new ReadOnlySpan<float>(In + (long)t * InRow + head * inHead, InWidth).CopyTo(new Span<float>(gathered + i * InWidth, InWidth));
            }
            Weights[head].ApplyOnThisThread(new ReadOnlySpan<float>(gathered, Count * InWidth), new Span<float>(product, Count * OutWidth), Count);
            for (int i = 0; i < Count; i++)
            {
                int t = Tokens is null ? i : Tokens[i];
                float* target = Out + (long)t * OutRow + head * outHead;
                new ReadOnlySpan<float>(product + i * OutWidth, OutWidth).CopyTo(new Span<float>(target, OutWidth));
                if (CopyWidth > 0)
                    new ReadOnlySpan<float>(CopyIn + (long)t * InRow + head * inHead + CopyOffset, CopyWidth)
                        .CopyTo(new Span<float>(target + CopyOutOffset, CopyWidth));
            }
        }
    }
}
