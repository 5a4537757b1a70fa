namespace SeekSharp.Conformance.Tests.Trace;

/// <summary>
/// One named intermediate as an implementation produced it.
/// </summary>
/// <param name="Name">llama.cpp's graph name without the layer suffix (<c>Qcur</c>, <c>ffn_inp</c>, ...).</param>
/// <param name="Layer">Block index, -1 for tensors outside the layer loop.</param>
/// <param name="Values">Elements flattened to [T, width] (ggml order: ne0 fastest), or null when they could not be read.</param>
/// <param name="Shape">How the producer shaped it: ggml ne[0..] for llama.cpp, [T, width] for SeekSharp.</param>
/// <param name="Note">Why <paramref name="Values"/> is null (e.g. a non-F32 type), else null.</param>
/// <param name="Op">llama.cpp's <c>ggml_op</c> id (version dependent, for diagnostics only); -1 for SeekSharp.</param>
internal sealed record TracedTensor(string Name, int Layer, float[]? Values, long[] Shape, string? Note = null, int Op = -1)
{
    /// <summary>Key used to pair the two sides.</summary>
    public (string Name, int Layer) Key => (Name, Layer);

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// The intermediates one implementation produced for one batch, in the order it produced them.
/// A name may occur more than once per layer (llama.cpp names Qcur before and after RoPE alike); all occurrences are kept.
/// </summary>
internal sealed class TraceRecording
{
    private readonly List<TracedTensor> _tensors = [];
    private readonly Dictionary<(string, int), List<TracedTensor>> _byKey = [];

    /// <summary>Every tensor in production order.</summary>
    public IReadOnlyList<TracedTensor> Tensors => _tensors;

    public void Add(TracedTensor tensor)
    {
        _tensors.Add(tensor);
        if (!_byKey.TryGetValue(tensor.Key, out var list))
            _byKey[tensor.Key] = list = [];
        list.Add(tensor);
    }

    /// <summary>All occurrences of (name, layer) in production order; empty when there is none.</summary>
    public IReadOnlyList<TracedTensor> Occurrences(string name, int layer) =>
        _byKey.TryGetValue((name, layer), out var list) ? list : [];

    /// <summary>Splits a ggml tensor name into llama.cpp's base name and layer: <c>Qcur-3</c> is (Qcur, 3), <c>result_norm</c> is (result_norm, -1).</summary>
    public static (string Name, int Layer) ParseGgmlName(string ggmlName)
    {
        int dash = ggmlName.LastIndexOf('-');
        if (dash > 0 && dash < ggmlName.Length - 1 && int.TryParse(ggmlName.AsSpan(dash + 1), System.Globalization.NumberStyles.None, null, out int layer))
            return (ggmlName[..dash], layer);
        return (ggmlName, -1);
    }
}
