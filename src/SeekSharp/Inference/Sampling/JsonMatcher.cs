namespace SeekSharp.Inference.Sampling;

/// <summary>
/// Follows a text through a <see cref="JsonGrammar"/> byte by byte: which bytes may come next, and whether the text so
/// far is a whole JSON text of the grammar. Its state is the set of ways the bytes so far can be read (a schema with
/// <c>anyOf</c>, or a number that may go on or end, has several), each a stack of what is being matched inside what.
/// </summary>
public sealed class JsonMatcher
{
    // Ways of reading, beyond which further ones are dropped rather than letting an ambiguous schema grow without bound.
    internal const int MaxStates = 256;
    // Nested expansions without a byte matched: deeper means a schema that refers to itself before writing anything.
    private const int MaxExpansionDepth = 512;
    // Frames of one way of reading: about two per level of nesting, so JSON may nest some 250 levels (System.Text.Json
    // reads 64 by default), and a model that keeps opening brackets meets a closing one instead of an unbounded stack.
    internal const int MaxStackDepth = 512;
    // Expansions for one byte: a schema whose references branch into themselves before writing anything would
    // otherwise take exponential time (anyOf of two such references), and a request must not be able to stall the worker.
    private const int MaxExpansions = 200_000;

    private States _states;

    internal JsonMatcher(JsonGrammar grammar)
    {
        var start = new States();
        Expand(Push(grammar.Root, null), start, 0);
        _states = start;
    }

    /// <summary>True when the bytes so far are a whole JSON text of the grammar (the answer may end here).</summary>
    public bool IsComplete => _states.Complete;

    /// <summary>True when some byte may still follow.</summary>
    public bool CanContinue => _states.Stacks.Count > 0;

    /// <summary>Whether <paramref name="bytes"/> may come next (all of them, in order); the matcher is left as it was.</summary>
    public bool Accepts(ReadOnlySpan<byte> bytes) => Advance(_states, bytes) is not null;

    /// <summary>Moves past <paramref name="bytes"/> if they may come next; false (and unchanged) if not.</summary>
    public bool TryAccept(ReadOnlySpan<byte> bytes)
    {
        var next = Advance(_states, bytes);
        if (next is null) return false;
        _states = next;
        return true;
    }

    internal States Current => _states;

    internal static States? Advance(States states, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            var next = Step(states, b);
            if (next is null) return null;
            states = next;
        }
        return states;
    }

    /// <summary>The states after one more byte, or null when no way of reading takes it.</summary>
    internal static States? Step(States states, byte b)
    {
        if (!states.Complete && InsideStringsUnchanged(states, b))
        {
            // Every way of reading is inside a string that this byte only lengthens: the same states serve (no
            // allocation; a trie walk through a string's tokens is mostly this, with one way of reading or several).
            return states;
        }
        States? next = null;
        foreach (var stack in states.Stacks)
        {
            var (node, k) = stack.Top;
            int k2 = StepTerminal(node, k, b, out bool done);
            if (k2 < 0) continue;
            next ??= new States();
            Expand(done ? stack.Rest : new Stack(new Frame(node, k2), stack.Rest), next, 0);
        }
        // A byte after which nothing may follow and the text is not whole leads nowhere (a bound cut every way off).
        return next is not null && (next.Complete || next.Stacks.Count > 0) ? next : null;
    }

    private static bool InsideStringsUnchanged(States states, byte b)
    {
        foreach (var stack in states.Stacks)
        {
            if (stack.Top.Node is not StringNode || StringStep(stack.Top.K, b) != stack.Top.K) return false;
        }
        return states.Stacks.Count > 0;
    }

    // ---- Terminals: the lexers. Each returns its next k, or -1 when b cannot come; done when the terminal is whole
    // and nothing of it may follow. ----

    private static int StepTerminal(Node node, int k, byte b, out bool done)
    {
        done = false;
        switch (node)
        {
            case LiteralNode lit:
                if (lit.Bytes[k] != b) return -1;
                done = k + 1 == lit.Bytes.Length;
                return k + 1;
            case WsNode:
                return WhitespaceStep(k, b);
            case StringNode:
                int s = StringStep(k, b);
                done = s == StringClosed;
                return s;
            case NumberNode number:
                return NumberStep(k, b, number.Integer);
            default:
                throw new InvalidOperationException($"{node.GetType().Name} is not a terminal");
        }
    }

    // Whitespace, as llama.cpp's JSON grammars allow it: nothing, one space, or a newline and an indentation of up to
    // MaxIndent spaces or tabs (so JSON may be pretty-printed, but not padded with blank lines and runs of spaces, which
    // small models otherwise fall into). States: 0 nothing yet, 1 + n a newline and n indentation characters, 99 a space.
    private const int WhitespaceSpace = 99;

    private static int WhitespaceStep(int k, byte b) => k switch
    {
        0 => b == ' ' ? WhitespaceSpace : b == '\n' ? 1 : -1,
        >= 1 and <= JsonGrammar.MaxIndent => b is (byte)' ' or (byte)'\t' ? k + 1 : -1,
        _ => -1,
    };

    private static bool WhitespaceMayGrow(int k) => k <= JsonGrammar.MaxIndent;

    // String states: 0 before the opening quote, 1 inside, 2 after a backslash, 10 + n: n hex digits of \u still to come,
    // 20 + n: n UTF-8 continuation bytes still to come.
    private const int StringClosed = 100;

    private static int StringStep(int k, byte b)
    {
        switch (k)
        {
            case 0: return b == '"' ? 1 : -1;
            case 1:
                if (b == '"') return StringClosed;
                if (b == '\\') return 2;
                if (b < 0x20) return -1;                // control characters must be escaped
                if (b < 0x80) return 1;
                if (b is >= 0xC2 and <= 0xDF) return 21;
                if (b is >= 0xE0 and <= 0xEF) return 22;
                if (b is >= 0xF0 and <= 0xF4) return 23;
                return -1;                              // a continuation byte without a lead, or never valid UTF-8
            case 2:
                if (b == 'u') return 14;
                return b is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t' ? 1 : -1;
            case >= 11 and <= 14:
                return char.IsAsciiHexDigit((char)b) ? (k == 11 ? 1 : k - 1) : -1;
            case >= 21 and <= 23:
                return b is >= 0x80 and <= 0xBF ? (k == 21 ? 1 : k - 1) : -1;
            default: return -1;
        }
    }

    // Number states (k % 16): 0 start, 1 after '-', 2 a leading 0, 3 integer digits, 4 after '.', 5 fraction digits,
    // 6 after 'e', 7 after the exponent's sign, 8 exponent digits; k / 16 counts the characters.
    private static int NumberStep(int k, byte b, bool integer)
    {
        int state = k & 15, length = k >> 4;
        if (length >= JsonGrammar.MaxNumberLength) return -1;
        bool digit = b is >= (byte)'0' and <= (byte)'9';
        int next = state switch
        {
            0 => b == '-' ? 1 : b == '0' ? 2 : digit ? 3 : -1,
            1 => b == '0' ? 2 : digit ? 3 : -1,
            2 => integer ? -1 : b == '.' ? 4 : b is (byte)'e' or (byte)'E' ? 6 : -1,
            3 => digit ? 3 : integer ? -1 : b == '.' ? 4 : b is (byte)'e' or (byte)'E' ? 6 : -1,
            4 => digit ? 5 : -1,
            5 => digit ? 5 : b is (byte)'e' or (byte)'E' ? 6 : -1,
            6 => b is (byte)'+' or (byte)'-' ? 7 : digit ? 8 : -1,
            7 or 8 => digit ? 8 : -1,
            _ => -1,
        };
        return next < 0 ? -1 : next | ((length + 1) << 4);
    }

    private static bool NumberMayEnd(int k) => (k & 15) is 2 or 3 or 5 or 8;

    // ---- Expansion: from a stack whose top may be a composite node, every stack whose top is a terminal waiting for
    // a byte (or the empty stack: the text is whole). ----

    private static Stack Push(Node node, Stack? rest) =>
        new(new Frame(node, node is ArrayNode or ObjectNode ? -1 : 0), rest);

    private static void Expand(Stack? stack, States into, int depth)
    {
        if (stack is null)
        {
            into.Complete = true;
            return;
        }
        if (depth > MaxExpansionDepth || stack.Depth > MaxStackDepth || ++into.Expansions > MaxExpansions) return;
        var (node, k) = stack.Top;
        var rest = stack.Rest;
        switch (node)
        {
            case LiteralNode or StringNode:
                into.Add(stack);
                break;
            case WsNode:
                if (WhitespaceMayGrow(k)) into.Add(stack);
                Expand(rest, into, depth + 1);
                break;
            case NumberNode:
                into.Add(stack);
                if (NumberMayEnd(k)) Expand(rest, into, depth + 1);
                break;
            case SeqNode seq:
                if (k == seq.Parts.Length) Expand(rest, into, depth + 1);
                else if (k == seq.Parts.Length - 1) Expand(Push(seq.Parts[k], rest), into, depth + 1);
                else Expand(Push(seq.Parts[k], new Stack(new Frame(seq, k + 1), rest)), into, depth + 1);
                break;
            case AltNode alt:
                foreach (var option in alt.Options) Expand(Push(option, rest), into, depth + 1);
                break;
            case RefNode reference:
                Expand(Push(reference.Target, rest), into, depth + 1);
                break;
            case ArrayNode array:
                if (k < 0)
                {
                    Expand(Push(array.Open, new Stack(new Frame(array, 0), rest)), into, depth + 1);
                    break;
                }
                if (k >= array.Min) Expand(Push(ArrayNode.Close, rest), into, depth + 1);
                if (k < array.Max) Expand(Push(k == 0 ? array.First : array.Next, new Stack(new Frame(array, k + 1), rest)), into, depth + 1);
                break;
            case ObjectNode obj:
                ExpandObject(obj, k, rest, into, depth);
                break;
            default:
                throw new InvalidOperationException($"unknown grammar node {node.GetType().Name}");
        }
    }

    private static void ExpandObject(ObjectNode obj, int k, Stack? rest, States into, int depth)
    {
        if (k < 0)
        {
            Expand(Push(ObjectNode.Open, new Stack(new Frame(obj, 0), rest)), into, depth + 1);
            return;
        }
        if (obj.Properties.Length == 0)
        {
            // Free keys: k members so far.
            Expand(Push(ObjectNode.Close, rest), into, depth + 1);
            if (obj.FreeFirst is not null)
                Expand(Push(k == 0 ? obj.FreeFirst : obj.FreeNext!, new Stack(new Frame(obj, k + 1), rest)), into, depth + 1);
            return;
        }
        // Listed properties: the next one to consider is i; any of i, i+1, ... may be written next as long as those
        // skipped are optional, and the object may close once the rest are all optional.
        int i = k >> 1;
        bool written = (k & 1) != 0;
        for (int j = i; j < obj.Properties.Length; j++)
        {
            var member = written ? obj.WithComma[j] : obj.WithoutComma[j];
            Expand(Push(member, new Stack(new Frame(obj, ((j + 1) << 1) | 1), rest)), into, depth + 1);
            if (obj.Properties[j].Required) return;
        }
        Expand(Push(ObjectNode.Close, rest), into, depth + 1);
    }
}

/// <summary>One step of matching: a node and how far into it (see each node for k's meaning).</summary>
internal readonly record struct Frame(Node Node, int K);

/// <summary>An immutable stack of frames, the innermost on top; shared tails make copies cheap.</summary>
internal sealed record Stack(Frame Top, Stack? Rest)
{
    /// <summary>Frames in the stack (bounded by <see cref="JsonMatcher.MaxStackDepth"/>, which also bounds the recursion of
    /// the record's equality and hash).</summary>
    public readonly int Depth = (Rest?.Depth ?? 0) + 1;
}

/// <summary>The ways of reading the bytes so far: stacks whose tops are terminals, and whether the text may end here.</summary>
internal sealed class States
{
    // A few stacks are compared one by one (equal stacks mostly share their tails, which compare by reference);
    // a hash set is made only for many, as hashing walks each stack whole.
    private const int ScanLimit = 8;
    private HashSet<Stack>? _seen;
    public readonly List<Stack> Stacks = new(1);
    public bool Complete;
    public int Expansions;   // work spent reaching these states (bounded, see JsonMatcher.MaxExpansions)

    public void Add(Stack stack)
    {
        if (Stacks.Count >= JsonMatcher.MaxStates) return;
        if (_seen is null)
        {
            foreach (var s in Stacks)
                if (s.Equals(stack)) return;
            Stacks.Add(stack);
            if (Stacks.Count == ScanLimit) _seen = [.. Stacks];
            return;
        }
        if (_seen.Add(stack)) Stacks.Add(stack);
    }
}
