namespace SeekSharp.Models;

/// <summary>One architecture's forward pass over memory-mapped weights.</summary>
internal interface ITransformer
{
    ModelConfig Config { get; }

    /// <summary>The scratch this architecture's <see cref="Forward"/> needs for batches of up to <paramref name="maxTokens"/>
    /// tokens over contexts of <paramref name="contextLength"/> positions.</summary>
    Activations CreateActivations(int maxTokens, int contextLength, Inference.ContextOptions options, Kernels.Threading.WorkerPool pool);

    /// <summary>
    /// Evaluates <paramref name="batch"/> with the scratch <see cref="CreateActivations"/> made: writes what it caches to <paramref name="cache"/> and, for each token that
    /// wants logits, in batch order, one row of <paramref name="logits"/> [outputs, V].
    /// </summary>
    void Forward(Batch batch, KvCache cache, Activations act, Span<float> logits, ITraceSink? trace);
}

/// <summary>Receives named intermediates (per layer) so two implementations can be diffed to the first divergence.</summary>
public interface ITraceSink
{
    /// <summary>Called with a tensor's name (llama.cpp's names where they exist), the layer (-1 if none) and its values [T, width].</summary>
    void Trace(string name, int layer, ReadOnlySpan<float> values);
}
