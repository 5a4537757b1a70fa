namespace SeekSharp.Models;

/// <summary>One architecture's forward pass over memory-mapped weights.</summary>
internal interface ITransformer
{
    ModelConfig Config { get; }

    /// <summary>
    /// Evaluates <paramref name="batch"/>: writes its keys and values to <paramref name="cache"/> and, for each token that
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
