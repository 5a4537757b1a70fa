using SeekSharp.Kernels.Threading;

namespace SeekSharp.Models;

/// <summary>
/// Scratch buffers for one forward pass of up to <see cref="MaxTokens"/> tokens, allocated once per context, and the
/// threads that evaluate it: a forward pass allocates nothing.
/// </summary>
internal sealed class Activations
{
    public Activations(ModelConfig c, int maxTokens, WorkerPool pool)
    {
        MaxTokens = maxTokens;
        Pool = pool;
        X = new float[maxTokens * c.EmbeddingLength];
        Normed = new float[maxTokens * c.EmbeddingLength];
        Q = new float[maxTokens * c.HeadCount * c.HeadDim];
        K = new float[maxTokens * c.HeadCountKv * c.HeadDim];
        V = new float[maxTokens * c.HeadCountKv * c.HeadDim];
        AttnOut = new float[maxTokens * c.HeadCount * c.HeadDim];
        Gate = new float[maxTokens * c.FeedForwardLength];
        Up = new float[maxTokens * c.FeedForwardLength];
        Residual = new float[maxTokens * c.EmbeddingLength];
        Cos = new float[c.RopeDimensionCount / 2];
        Sin = new float[c.RopeDimensionCount / 2];
    }

    public int MaxTokens { get; }
    public WorkerPool Pool { get; }  // runs the matmuls and attention
    public float[] X { get; }        // [T, D] residual stream
    public float[] Normed { get; }   // [T, D] RMSNorm output; also the rows whose logits are wanted, packed
    public float[] Q { get; }        // [T, H · Dh]
    public float[] K { get; }        // [T, Hkv · Dh]
    public float[] V { get; }        // [T, Hkv · Dh]
    public float[] AttnOut { get; }  // [T, H · Dh]
    public float[] Gate { get; }     // [T, F]
    public float[] Up { get; }       // [T, F]
    public float[] Residual { get; } // [T, D] a block's output before it is added to X
    public float[] Cos { get; }      // [ropeDim / 2]
    public float[] Sin { get; }      // [ropeDim / 2]
}
