namespace SeekSharp.Models;

/// <summary>
/// Tokens to evaluate in one forward pass, possibly from several sequences (as llama.cpp's <c>llama_batch</c>).
/// Each token carries its sequence, its position in that sequence, and whether its logits are wanted.
/// Within a sequence, a token sees every cached position up to and including its own.
/// </summary>
public sealed class Batch
{
    private readonly int[] _tokens, _positions, _sequences;
    private readonly bool[] _wantLogits;

    /// <summary>Creates an empty batch that holds up to <paramref name="capacity"/> tokens.</summary>
    public Batch(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _tokens = new int[capacity];
        _positions = new int[capacity];
        _sequences = new int[capacity];
        _wantLogits = new bool[capacity];
    }

    /// <summary>Tokens in the batch.</summary>
    public int Count { get; private set; }
    /// <summary>Maximum tokens the batch holds.</summary>
    public int Capacity => _tokens.Length;
    /// <summary>Tokens whose logits are wanted, in batch order.</summary>
    public int OutputCount { get; private set; }

    /// <summary>Appends a token.</summary>
    public void Add(int token, int position, int sequence, bool wantLogits)
    {
        if (Count == Capacity) throw new InvalidOperationException($"batch is full ({Capacity} tokens)");
        _tokens[Count] = token;
        _positions[Count] = position;
        _sequences[Count] = sequence;
        _wantLogits[Count] = wantLogits;
        if (wantLogits) OutputCount++;
        Count++;
    }

    /// <summary>Empties the batch for reuse; allocates nothing.</summary>
    public void Clear() { Count = 0; OutputCount = 0; }

    internal ReadOnlySpan<int> Tokens => _tokens.AsSpan(0, Count);
    internal ReadOnlySpan<int> Positions => _positions.AsSpan(0, Count);
    internal ReadOnlySpan<int> Sequences => _sequences.AsSpan(0, Count);
    internal ReadOnlySpan<bool> WantLogits => _wantLogits.AsSpan(0, Count);
}
