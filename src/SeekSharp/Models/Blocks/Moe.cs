using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Models.Blocks;

/// <summary>
/// DeepSeekMoE feed-forward of one block (DeepSeek-V3 §2.1.2, DeepSeek-V2 §2.2): a router scores every routed expert,
/// each token goes to the k best, and its output is the weighted sum of their SwiGLU outputs plus the shared experts'
/// SwiGLU, unweighted. Glossary: T tokens, D width, E routed experts, k chosen per token, Fe expert width.
/// </summary>
/// <remarks>
/// Routing, in DeepSeek's order: scores s = softmax or sigmoid of the router logits; selection scores s + b (the
/// correction bias, V3 only: it steers which experts are chosen, never how much they weigh); with groups, only the
/// best groups' experts may be chosen, a group ranked by the sum of its two best selection scores when there is a bias
/// (V3) and by its best one otherwise (V2), as DeepSeek's reference code does; the k best selection scores choose
/// the experts; their weights are the unbiased scores, divided by their sum when normalised, times the scale.
/// The batch is evaluated expert by expert: the tokens routed to an expert are gathered into consecutive rows, so
/// each expert's weights are read once per batch (and never when no token chose it), with buffers sized at creation.
/// </remarks>
internal sealed class Moe
{
    private readonly MoeConfig _m;
    private readonly Linear _router;          // [E, D]
    private readonly float[]? _bias;          // [E]
    private readonly LinearStack _gate, _up;  // [E][Fe, D]
    private readonly LinearStack _down;       // [E][D, Fe]
    private readonly SwiGlu? _shared;         // [shared · Fe] wide

    public Moe(WeightReader w, ModelConfig c, int layer)
    {
        _m = c.Moe!;
        _router = w.Matrix(TensorKind.FfnGateInp, layer);
        _bias = _m.HasCorrectionBias ? w.Vector(TensorKind.ExpertProbsBias, layer) : null;
        _gate = w.Stack(TensorKind.FfnGateExperts, layer);
        _up = w.Stack(TensorKind.FfnUpExperts, layer);
        _down = w.Stack(TensorKind.FfnDownExperts, layer);
        if (_m.SharedExpertCount > 0)
            _shared = new SwiGlu(w.Matrix(TensorKind.FfnGateShared, layer), w.Matrix(TensorKind.FfnUpShared, layer), w.Matrix(TensorKind.FfnDownShared, layer));
    }

    /// <summary>Scratch of one context for every MoE block.</summary>
    public sealed class Scratch
    {
        public Scratch(ModelConfig c, int maxTokens)
        {
            var m = c.Moe!;
            int d = c.EmbeddingLength, e = m.ExpertCount, choices = maxTokens * m.ExpertUsedCount, shared = m.SharedExpertCount * m.ExpertFeedForwardLength;
            Logits = new float[maxTokens * e];
            Scores = new float[e];
            Selection = new float[e];
            GroupScores = new float[m.GroupCount];
            Chosen = new int[choices];
            Weights = new float[choices];
            Start = new int[e + 1];
            Slot = new int[choices];
            Packed = new float[choices * d];
            Gate = new float[choices * m.ExpertFeedForwardLength];
            Up = new float[choices * m.ExpertFeedForwardLength];
            Out = new float[Math.Max(choices, maxTokens) * d];
            SharedGate = new float[maxTokens * shared];
            SharedUp = new float[maxTokens * shared];
        }

        public readonly float[] Logits;       // [T, E] router logits
        public readonly float[] Scores;       // [E] one token's scores
        public readonly float[] Selection;    // [E] one token's selection scores
        public readonly float[] GroupScores;  // [groups]
        public readonly int[] Chosen;         // [T, k] expert ids, best first
        public readonly float[] Weights;      // [T, k]
        public readonly int[] Start;          // [E + 1] first packed row of each expert
        public readonly int[] Slot;           // [T, k] packed row of each choice
        public readonly float[] Packed;       // [T·k, D] inputs, grouped by expert
        public readonly float[] Gate, Up;     // [T·k, Fe]
        public readonly float[] Out;          // [T·k, D] expert outputs, grouped by expert
        public readonly float[] SharedGate, SharedUp; // [T, shared · Fe]
    }

    /// <summary>output[T, D] = Σ_j w_j · expert_j(x) + shared(x) for x [T, D].</summary>
    public void Apply(ReadOnlySpan<float> x, Span<float> output, int tokens, Scratch s, WorkerPool pool, ITraceSink? trace, int layer)
    {
        int d = _router.Cols, e = _m.ExpertCount, k = _m.ExpertUsedCount;
        _router.Apply(x, s.Logits, tokens, pool);
        for (int t = 0; t < tokens; t++)
            Route(_m, _bias, s.Logits.AsSpan(t * e, e), s.Scores, s.Selection, s.GroupScores, s.Chosen.AsSpan(t * k, k), s.Weights.AsSpan(t * k, k));

        // Counting sort of the (token, choice) pairs by expert: Start[x] is expert x's first packed row.
        Array.Clear(s.Start);
        for (int i = 0; i < tokens * k; i++) s.Start[s.Chosen[i] + 1]++;
        for (int x2 = 0; x2 < e; x2++) s.Start[x2 + 1] += s.Start[x2];
        for (int i = 0; i < tokens * k; i++)
        {
            int slot = s.Start[s.Chosen[i]]++;
            s.Slot[i] = slot;
            x.Slice(i / k * d, d).CopyTo(s.Packed.AsSpan(slot * d, d));
        }
        for (int x2 = e; x2 > 0; x2--) s.Start[x2] = s.Start[x2 - 1]; // undo the advance: Start[x] first row again
        s.Start[0] = 0;

        int f = _gate.Rows;
        for (int x2 = 0; x2 < e; x2++)
        {
            int first = s.Start[x2], rows = s.Start[x2 + 1] - first;
            if (rows == 0) continue;
            var input = s.Packed.AsSpan(first * d, rows * d);
            var gate = s.Gate.AsSpan(first * f, rows * f);
            var up = s.Up.AsSpan(first * f, rows * f);
            _gate[x2].Apply(input, gate, rows, pool);
            _up[x2].Apply(input, up, rows, pool);
            VectorOps.SiluMulInPlace(gate, up);
            _down[x2].Apply(gate, s.Out.AsSpan(first * d, rows * d), rows, pool);
        }

        // Each token's experts in the order the router ranked them: each output scaled by its weight (rounded), then
        // added in turn, as llama.cpp's graph does, so Q8_0 activations downstream round as there.
        for (int i = 0; i < tokens * k; i++)
        {
            var weighted = s.Out.AsSpan(s.Slot[i] * d, d);
            VectorOps.ScaleInPlace(weighted, s.Weights[i]);
            var target = output.Slice(i / k * d, d);
            if (i % k == 0) weighted.CopyTo(target);
            else VectorOps.AddInPlace(target, weighted);
        }
        trace?.Trace("ffn_moe_out", layer, output[..(tokens * d)]);

        if (_shared is { } shared)
        {
            // The shared experts' output is added unweighted; it goes through Out's first rows, free again by now.
            var sharedOut = s.Out.AsSpan(0, tokens * d);
            shared.Apply(x, s.SharedGate, s.SharedUp, sharedOut, tokens, pool);
            trace?.Trace("ffn_shexp", layer, sharedOut);
            VectorOps.AddInPlace(output[..(tokens * d)], sharedOut);
        }
    }

    /// <summary>Chooses one token's k experts (ranked, best first) and their weights from its router logits [E];
    /// <paramref name="scores"/> [E], <paramref name="selection"/> [E] and <paramref name="groupScores"/> [groups] are scratch.</summary>
    internal static void Route(MoeConfig m, float[]? bias, ReadOnlySpan<float> logits, Span<float> scores, Span<float> selection,
        Span<float> groupScores, Span<int> chosen, Span<float> weights)
    {
        int e = m.ExpertCount, k = m.ExpertUsedCount;
        scores = scores[..e];
        if (m.Gating == ExpertGating.Sigmoid)
        {
            for (int i = 0; i < e; i++) scores[i] = 1f / (1f + MathF.Exp(-logits[i]));
        }
        else
        {
            logits.CopyTo(scores);
            VectorOps.SoftmaxInPlace(scores);
        }
        selection = selection[..e];
        scores.CopyTo(selection);
        if (bias is not null)
            VectorOps.AddInPlace(selection, bias);
        // NaN marks an expert taken below; a NaN score (a corrupt file's weights) must stay choosable, as the lowest.
        for (int i = 0; i < e; i++)
            if (float.IsNaN(selection[i])) selection[i] = float.NegativeInfinity;

        if (m.GroupCount > 1)
        {
            int size = e / m.GroupCount;
            groupScores = groupScores[..m.GroupCount];
            for (int g = 0; g < m.GroupCount; g++)
            {
                var group = selection.Slice(g * size, size);
                float best = float.NegativeInfinity, second = float.NegativeInfinity;
                foreach (float v in group)
                {
                    if (v > best) { second = best; best = v; }
                    else if (v > second) second = v;
                }
                groupScores[g] = bias is not null && size > 1 ? best + second : best;
            }
            // Keep the GroupUsedCount best groups (ties to the lower index); mask the others' experts out.
            for (int kept = 0; kept < m.GroupUsedCount; kept++)
            {
                int bestGroup = ArgMax(groupScores);
                groupScores[bestGroup] = float.NaN; // taken
            }
            for (int g = 0; g < m.GroupCount; g++)
            {
                if (float.IsNaN(groupScores[g])) continue;
                selection.Slice(g * size, size).Fill(float.NegativeInfinity);
            }
        }

        float sum = 0;
        for (int j = 0; j < k; j++)
        {
            int best = ArgMax(selection);
            chosen[j] = best;
            weights[j] = scores[best];
            sum += scores[best];
            selection[best] = float.NaN; // taken
        }
        // llama.cpp floors the sum at 2^-14 so that k vanishing sigmoid scores cannot divide by zero.
        sum = MathF.Max(sum, 6.103515625e-5f);
        for (int j = 0; j < k; j++)
            weights[j] = m.NormalizeWeights ? weights[j] / sum * m.WeightsScale : weights[j] * m.WeightsScale;
    }

    // Index of the largest value that is not NaN (NaN marks taken entries), the lowest on ties.
    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = -1;
        for (int i = 0; i < values.Length; i++)
            if (!float.IsNaN(values[i]) && (best < 0 || values[i] > values[best])) best = i;
        return best;
    }
}
