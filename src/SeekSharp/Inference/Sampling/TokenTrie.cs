using System.Runtime.CompilerServices;
using SeekSharp.Tokenization;

namespace SeekSharp.Inference.Sampling;

/// <summary>
/// The vocabulary's token texts (the bytes each adds to the output) in a byte trie, so that finding every token a
/// <see cref="JsonMatcher"/> accepts walks each shared prefix once and leaves a branch at its first refused byte, instead
/// of trying all tokens whole. Built once per tokenizer.
/// </summary>
internal sealed class TokenTrie
{
    private static readonly ConditionalWeakTable<Tokenizer, TokenTrie> Built = new();

    // Node 0 is the root. Children of a node are a linked list: FirstChild, then NextSibling.
    private readonly List<byte> _byte = [0];
    private readonly List<int> _firstChild = [-1], _nextSibling = [-1], _firstToken = [-1];
    private readonly int[] _nextToken;   // tokens ending at the same node, linked

    private TokenTrie(Tokenizer tokenizer)
    {
        _nextToken = new int[tokenizer.VocabSize];
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            _nextToken[id] = -1;
            var bytes = tokenizer.Piece(id, renderSpecial: false);
            if (bytes.IsEmpty) continue;   // control tokens and the like add no text: never part of a JSON answer
            int node = 0;
            foreach (byte b in bytes) node = Child(node, b);
            _nextToken[id] = _firstToken[node];
            _firstToken[node] = id;
        }
    }

    public static TokenTrie For(Tokenizer tokenizer) => Built.GetValue(tokenizer, t => new TokenTrie(t));

    /// <summary>Sets <paramref name="allowed"/>[id] for every token whose text may come next in <paramref name="states"/>.</summary>
    public void MarkAccepted(States states, Span<bool> allowed) => Visit(0, states, allowed);

    private void Visit(int node, States states, Span<bool> allowed)
    {
        for (int c = _firstChild[node]; c >= 0; c = _nextSibling[c])
        {
            var next = JsonMatcher.Step(states, _byte[c]);
            if (next is null) continue;
            for (int id = _firstToken[c]; id >= 0; id = _nextToken[id]) allowed[id] = true;
            Visit(c, next, allowed);
        }
    }

    private int Child(int node, byte b)
    {
        for (int c = _firstChild[node]; c >= 0; c = _nextSibling[c])
            if (_byte[c] == b) return c;
        int n = _byte.Count;
        _byte.Add(b);
        _firstChild.Add(-1);
        _nextSibling.Add(_firstChild[node]);
        _firstToken.Add(-1);
        _firstChild[node] = n;
        return n;
    }
}
