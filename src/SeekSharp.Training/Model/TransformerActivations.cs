using SeekSharp.Models;

namespace SeekSharp.Training.Model;

/// <summary>
/// Every buffer the forward keeps for the backward, plus the backward's scratch gradients, allocated once for the
/// largest batch [maxB, maxT] so a training step allocates nothing. Calls with a smaller batch use the leading part
/// of each buffer with their own strides.
/// Glossary: N = maxB · maxT rows, L layers, D width, Q = H · Dh query width, K = Hkv · Dh key/value width, F feed-forward width, V vocabulary.
/// Q, K and V share one row of width Q + 2K, and gate and up one row of width 2F, because each pair or triple comes
/// from one fused matrix product (see <see cref="LayerSlices.Qkv"/>); ops address the blocks through row strides.
/// </summary>
internal sealed class TransformerActivations
{
    public readonly int MaxRows;      // N
    public readonly int MaxSeqLen;    // maxT

    // forward, kept for the backward
    public readonly int[] Tokens;         // [N]
    public readonly int[] Targets;        // [N]
    public readonly float[] Weights;      // [N] per-token loss weights of the last Loss call
    public readonly float[][] Residual;   // [L + 1][N, D] block inputs; Residual[L] feeds the final norm
    public readonly float[][] ResidualMid;// [L][N, D] after the attention branch
    public readonly float[][] AttnNorm;   // [L][N, D]
    public readonly float[][] AttnRstd;   // [L][N]
    public readonly float[][] Qkv;        // [L][N, Q + 2K]: q | k (both rotated) | v
    public readonly float[][] Att;        // [L][B, H, T, T] softmax probabilities
    public readonly float[][] AttnOut;    // [L][N, Q] before the output projection
    public readonly float[][] FfnNorm;    // [L][N, D]
    public readonly float[][] FfnRstd;    // [L][N]
    public readonly float[][] GateUp;     // [L][N, 2F]: gate | up
    public readonly float[][] Hidden;     // [L][N, F] silu(gate) ⊙ up
    public readonly float[] FinalNorm;    // [N, D]
    public readonly float[] FinalRstd;    // [N]
    public readonly float[] Logits;       // [N, V]
    public readonly float[] LogSumExp;    // [N]
    public readonly float[] LogProbs;     // [N] of the targets
    public readonly float[] RopeCos;      // [maxT, Dh / 2]
    public readonly float[] RopeSin;      // [maxT, Dh / 2]

    // backward scratch, reused by every layer
    public readonly float[] DLogProbs;    // [N]
    public readonly float[] DLogits;      // [N, V]
    public readonly float[] DResidual;    // [N, D] gradient of the residual stream at the current point
    public readonly float[] DNorm;        // [N, D]
    public readonly float[] DAttnOut;     // [N, Q]
    public readonly float[] DQkv;         // [N, Q + 2K] gradient after RoPE
    public readonly float[] DQkvPre;      // [N, Q + 2K] gradient before RoPE (v passes through)
    public readonly float[] DGateUp;      // [N, 2F]
    public readonly float[] DHidden;      // [N, F]

    public TransformerActivations(ModelConfig c, int maxBatch, int maxSeqLen)
    {
        MaxRows = checked(maxBatch * maxSeqLen);
        MaxSeqLen = maxSeqLen;
        int n = MaxRows, d = c.EmbeddingLength, q = c.HeadCount * c.HeadDim, kv = c.HeadCountKv * c.HeadDim, f = c.FeedForwardLength, l = c.BlockCount;
        long att = (long)maxBatch * c.HeadCount * maxSeqLen * maxSeqLen;
        if (att > Array.MaxLength || (long)n * c.VocabSize > Array.MaxLength)
            throw new ArgumentException($"Batch {maxBatch} × {maxSeqLen} needs buffers larger than one array ({att} attention probabilities, {(long)n * c.VocabSize} logits); use a smaller batch.");

        static float[][] PerLayer(int layers, long size) => Enumerable.Range(0, layers).Select(_ => new float[size]).ToArray();
        Tokens = new int[n];
        Targets = new int[n];
        Weights = new float[n];
        Residual = PerLayer(l + 1, (long)n * d);
        ResidualMid = PerLayer(l, (long)n * d);
        AttnNorm = PerLayer(l, (long)n * d);
        AttnRstd = PerLayer(l, n);
        Qkv = PerLayer(l, (long)n * (q + 2 * kv));
        Att = PerLayer(l, att);
        AttnOut = PerLayer(l, (long)n * q);
        FfnNorm = PerLayer(l, (long)n * d);
        FfnRstd = PerLayer(l, n);
        GateUp = PerLayer(l, (long)n * 2 * f);
        Hidden = PerLayer(l, (long)n * f);
        FinalNorm = new float[n * d];
        FinalRstd = new float[n];
        Logits = new float[(long)n * c.VocabSize];
        LogSumExp = new float[n];
        LogProbs = new float[n];
        RopeCos = new float[maxSeqLen * c.HeadDim / 2];
        RopeSin = new float[maxSeqLen * c.HeadDim / 2];

        DLogProbs = new float[n];
        DLogits = new float[(long)n * c.VocabSize];
        DResidual = new float[n * d];
        DNorm = new float[n * d];
        DAttnOut = new float[n * q];
        DQkv = new float[n * (q + 2 * kv)];
        DQkvPre = new float[n * (q + 2 * kv)];
        DGateUp = new float[n * 2 * f];
        DHidden = new float[n * f];
    }
}
