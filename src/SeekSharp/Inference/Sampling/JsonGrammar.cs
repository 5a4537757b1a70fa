using System.Text;
using System.Text.Json;

namespace SeekSharp.Inference.Sampling;

/// <summary>
/// The JSON texts an answer may take: any JSON object (OpenAI's <c>json_object</c> mode, Ollama's <c>"format":"json"</c>),
/// or those a JSON Schema describes (<c>json_schema</c>, Ollama's schema <c>format</c>). A <see cref="JsonMatcher"/>
/// follows a text byte by byte, so the sampler can keep to the tokens that continue it (structured output, as
/// llama.cpp's grammars and vLLM's xgrammar do).
/// </summary>
/// <remarks>
/// <para>The schema keywords followed: <c>type</c> (a name or a list), <c>properties</c> with <c>required</c>,
/// <c>additionalProperties</c> (for objects without <c>properties</c>), <c>items</c>, <c>minItems</c>, <c>maxItems</c>,
/// <c>enum</c>, <c>const</c>, <c>anyOf</c>, <c>oneOf</c>, a one-schema <c>allOf</c>, and <c>$ref</c> to any place in the
/// schema itself (<c>#</c>, <c>#/$defs/NAME</c>, <c>#/properties/…</c>; recursion included). Properties are written in the schema's order, each
/// required one always and the others optionally, and no others (as llama.cpp's and xgrammar's converters do).
/// Keywords that only narrow a value (<c>minLength</c>, <c>pattern</c>, <c>format</c>, <c>minimum</c>, ...) are not
/// enforced. A schema that needs more (several <c>allOf</c> schemas, <c>not</c>, <c>if</c>, a <c>$ref</c> to another document) is
/// refused with <see cref="ArgumentException"/> naming the keyword and where it is.</para>
/// <para>Between two tokens of the JSON text (and around it) there may be nothing, one space, or a newline and up to
/// <see cref="MaxIndent"/> spaces or tabs, as in llama.cpp's JSON grammars: pretty-printing fits, blank lines and
/// runs of spaces (which small models fall into) do not. Numbers have at most <see cref="MaxNumberLength"/> characters.</para>
/// </remarks>
public sealed class JsonGrammar
{
    /// <summary>Most spaces or tabs after a newline between two tokens of the JSON text (see the remarks).</summary>
    public const int MaxIndent = 20;

    /// <summary>Most characters of one number.</summary>
    public const int MaxNumberLength = 24;

    internal Node Root { get; }

    private JsonGrammar(Node root) => Root = root;

    /// <summary>Any JSON object, with whitespace around it.</summary>
    public static JsonGrammar AnyObject()
    {
        var b = new Builder(default);
        return new JsonGrammar(Surround(b.AnyObject()));
    }

    /// <summary>The JSON texts <paramref name="schema"/> describes (a JSON Schema given as JSON text).</summary>
    /// <exception cref="ArgumentException">The text is not JSON, or the schema uses what this grammar does not follow.</exception>
    public static JsonGrammar FromSchema(string schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(schema); }
        catch (JsonException e) { throw new ArgumentException($"the schema is not JSON: {e.Message}", nameof(schema)); }
        using (doc) return FromSchema(doc.RootElement);
    }

    /// <summary>The JSON texts <paramref name="schema"/> describes.</summary>
    /// <exception cref="ArgumentException">The schema uses what this grammar does not follow (the message names the keyword and its place).</exception>
    public static JsonGrammar FromSchema(JsonElement schema)
    {
        var b = new Builder(schema);
        return new JsonGrammar(Surround(b.Compile(schema, "#")));
    }

    /// <summary>A matcher at the start of the text.</summary>
    public JsonMatcher CreateMatcher() => new(this);

    private static Node Surround(Node value) => new SeqNode([WsNode.Instance, value, WsNode.Instance]);

    // Keys and enum values as a model writes them: "café", not "caf\u00e9" (only quotes, backslashes and control
    // characters escaped), so their literals are the text a model would choose.
    private static readonly JsonSerializerOptions Written = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // Compiles schemas to nodes; one per grammar, so that $ref targets are compiled once and may refer to themselves.
    private sealed class Builder(JsonElement root)
    {
        private readonly Dictionary<string, RefNode> _refs = [];
        private Node? _any;

        public Node AnyValue()
        {
            if (_any is not null) return _any;
            var any = new AltNode();
            _any = any;   // before its parts, which refer to it
            any.Options =
            [
                AnyObject(), new ArrayNode(any, 0, int.MaxValue), StringNode.Instance, new NumberNode(integer: false),
                Literal("true"), Literal("false"), Literal("null"),
            ];
            return any;
        }

        public Node AnyObject() => new ObjectNode([], AnyValue());

        public Node Compile(JsonElement s, string at)
        {
            if (s.ValueKind == JsonValueKind.True) return AnyValue();
            if (s.ValueKind == JsonValueKind.False) throw new ArgumentException($"{at}: the schema false admits no value");
            if (s.ValueKind != JsonValueKind.Object) throw new ArgumentException($"{at}: a schema must be an object or a boolean, found {s.ValueKind}");
            foreach (string keyword in (string[])["not", "if", "then", "else", "patternProperties", "dependentSchemas", "prefixItems"])
            {
                if (s.TryGetProperty(keyword, out _)) throw new ArgumentException($"{at}: '{keyword}' is not supported in a response schema");
            }
            if (s.TryGetProperty("$ref", out var reference)) return Ref(reference, at);
            if (s.TryGetProperty("const", out var constant)) return Literal(constant.GetRawText(), normalize: true);
            if (s.TryGetProperty("enum", out var values))
            {
                if (values.ValueKind != JsonValueKind.Array || values.GetArrayLength() == 0)
                    throw new ArgumentException($"{at}/enum: expected a non-empty array");
                return Alt(values.EnumerateArray().Select(v => Literal(v.GetRawText(), normalize: true)));
            }
            foreach (string keyword in (string[])["anyOf", "oneOf"])
            {
                if (!s.TryGetProperty(keyword, out var options)) continue;
                if (options.ValueKind != JsonValueKind.Array || options.GetArrayLength() == 0)
                    throw new ArgumentException($"{at}/{keyword}: expected a non-empty array of schemas");
                return Alt(options.EnumerateArray().Select((o, i) => Compile(o, $"{at}/{keyword}/{i}")));
            }
            if (s.TryGetProperty("allOf", out var all))
            {
                if (all.ValueKind != JsonValueKind.Array || all.GetArrayLength() != 1)
                    throw new ArgumentException($"{at}/allOf: only a single schema is supported");
                return Compile(all[0], $"{at}/allOf/0");
            }
            if (!s.TryGetProperty("type", out var type))
            {
                // Without a type, the keywords present say what it is; with none of them, any value.
                if (s.TryGetProperty("properties", out _) || s.TryGetProperty("additionalProperties", out _)) return Typed("object", s, at);
                if (s.TryGetProperty("items", out _)) return Typed("array", s, at);
                return AnyValue();
            }
            if (type.ValueKind == JsonValueKind.String) return Typed(type.GetString()!, s, at);
            if (type.ValueKind == JsonValueKind.Array && type.GetArrayLength() > 0)
                return Alt(type.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.String
                    ? Typed(t.GetString()!, s, at) : throw new ArgumentException($"{at}/type: expected type names, found {t.GetRawText()}")));
            throw new ArgumentException($"{at}/type: expected a type name or a non-empty list of them, found {type.GetRawText()}");
        }

        private Node Typed(string type, JsonElement s, string at) => type switch
        {
            "object" => Object(s, at),
            "array" => Array(s, at),
            "string" => StringNode.Instance,
            "number" => new NumberNode(integer: false),
            "integer" => new NumberNode(integer: true),
            "boolean" => Alt([Literal("true"), Literal("false")]),
            "null" => Literal("null"),
            _ => throw new ArgumentException($"{at}/type: unknown type '{type}' (object, array, string, number, integer, boolean or null)"),
        };

        private Node Object(JsonElement s, string at)
        {
            var required = new HashSet<string>();
            if (s.TryGetProperty("required", out var req))
            {
                if (req.ValueKind != JsonValueKind.Array) throw new ArgumentException($"{at}/required: expected an array of names");
                foreach (var r in req.EnumerateArray())
                    required.Add(r.ValueKind == JsonValueKind.String ? r.GetString()! : throw new ArgumentException($"{at}/required: expected names, found {r.GetRawText()}"));
            }
            var props = new List<ObjectNode.Property>();
            var named = new HashSet<string>();
            if (s.TryGetProperty("properties", out var properties))
            {
                if (properties.ValueKind != JsonValueKind.Object) throw new ArgumentException($"{at}/properties: expected an object");
                foreach (var p in properties.EnumerateObject())
                {
                    named.Add(p.Name);
                    props.Add(new ObjectNode.Property(Literal(JsonSerializer.Serialize(p.Name, Written)), Compile(p.Value, $"{at}/properties/{p.Name}"), required.Contains(p.Name)));
                }
            }
            foreach (string name in required)
            {
                if (!named.Contains(name)) throw new ArgumentException($"{at}/required: '{name}' is not among the properties");
            }
            // Free keys only where no property is listed (named properties are all the object may hold, as in strict mode).
            Node? additional = null;
            if (props.Count == 0)
            {
                additional = s.TryGetProperty("additionalProperties", out var extra)
                    ? (extra.ValueKind == JsonValueKind.False ? null : Compile(extra, $"{at}/additionalProperties"))
                    : AnyValue();
            }
            return new ObjectNode([.. props], additional);
        }

        private Node Array(JsonElement s, string at)
        {
            var item = s.TryGetProperty("items", out var items) ? Compile(items, $"{at}/items") : AnyValue();
            int min = Count(s, "minItems", at) ?? 0, max = Count(s, "maxItems", at) ?? int.MaxValue;
            if (min > max) throw new ArgumentException($"{at}: minItems {min} is more than maxItems {max}");
            return new ArrayNode(item, min, max);
        }

        private static int? Count(JsonElement s, string keyword, string at)
        {
            if (!s.TryGetProperty(keyword, out var v)) return null;
            return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n) && n >= 0
                ? n : throw new ArgumentException($"{at}/{keyword}: expected a count, found {v.GetRawText()}");
        }

        // A $ref is a JSON pointer into this schema document: "#", "#/$defs/NAME", or any path such as
        // "#/properties/children/items" (System.Text.Json's schema exporter refers to a recursive type that way).
        private Node Ref(JsonElement reference, string at)
        {
            string path = reference.ValueKind == JsonValueKind.String ? reference.GetString()! : "";
            if (_refs.TryGetValue(path, out var known)) return known;
            if (path != "#" && !path.StartsWith("#/", StringComparison.Ordinal))
                throw new ArgumentException($"{at}/$ref: only references within this schema ('#' or '#/…') are supported, found {reference.GetRawText()}");
            var target = root;
            foreach (string part in path.Length == 1 ? [] : path[2..].Split('/'))
            {
                string name = Uri.UnescapeDataString(part).Replace("~1", "/").Replace("~0", "~");
                bool found = target.ValueKind switch
                {
                    JsonValueKind.Object => target.TryGetProperty(name, out target),
                    JsonValueKind.Array => int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int i)
                        && i < target.GetArrayLength() && (target = target[i]).ValueKind != JsonValueKind.Undefined,
                    _ => false,
                };
                if (!found) throw new ArgumentException($"{at}/$ref: '{path}' names nothing in the schema");
            }
            var node = new RefNode();
            _refs[path] = node;   // before compiling the target, which may refer to itself
            node.Target = Compile(target, path);
            return node;
        }

        private static Node Alt(IEnumerable<Node> options)
        {
            var list = options.ToArray();
            return list.Length == 1 ? list[0] : new AltNode { Options = list };
        }

        // normalize: an enum or const value is written as compact JSON, whatever spacing the schema used.
        private static LiteralNode Literal(string json, bool normalize = false)
        {
            if (normalize)
            {
                using var doc = JsonDocument.Parse(json);
                json = JsonSerializer.Serialize(doc.RootElement, Written);
            }
            return new LiteralNode(Encoding.UTF8.GetBytes(json));
        }
    }
}

// ---- The grammar's nodes. A matcher's state is a stack of frames (node, k): what is being matched and how far. ----

internal abstract class Node;

/// <summary>Exactly these bytes (a key, a punctuation mark, an enum value). k: bytes matched.</summary>
internal sealed class LiteralNode(byte[] bytes) : Node
{
    public readonly byte[] Bytes = bytes;
}

/// <summary>Whitespace between tokens: nothing, a space, or a newline and an indentation (see JsonMatcher). k: its state.</summary>
internal sealed class WsNode : Node
{
    public static readonly WsNode Instance = new();
}

/// <summary>A JSON string, quotes included, with its escapes and well-formed UTF-8. k: lexer state (JsonMatcher).</summary>
internal sealed class StringNode : Node
{
    public static readonly StringNode Instance = new();
}

/// <summary>A JSON number; with <see cref="Integer"/>, without fraction or exponent. k: lexer state and length.</summary>
internal sealed class NumberNode(bool integer) : Node
{
    public readonly bool Integer = integer;
}

/// <summary>Its parts one after another. k: the next part.</summary>
internal sealed class SeqNode(Node[] parts) : Node
{
    public readonly Node[] Parts = parts;
}

/// <summary>One of its options (set after construction, so that an option may contain the node itself).</summary>
internal sealed class AltNode : Node
{
    public Node[] Options = [];
}

/// <summary>A $ref: its target, compiled once.</summary>
internal sealed class RefNode : Node
{
    public Node Target = null!;
}

/// <summary><c>[</c> items <c>]</c>, between <see cref="Min"/> and <see cref="Max"/> of them. k: -1 before the bracket,
/// else the items written so far.</summary>
internal sealed class ArrayNode(Node item, int min, int max) : Node
{
    public readonly int Min = min, Max = max;
    public readonly Node Open = new SeqNode([new LiteralNode("["u8.ToArray()), WsNode.Instance]);
    public readonly Node First = new SeqNode([item, WsNode.Instance]);
    public readonly Node Next = new SeqNode([new LiteralNode(","u8.ToArray()), WsNode.Instance, item, WsNode.Instance]);
    public static readonly Node Close = new LiteralNode("]"u8.ToArray());
}

/// <summary>
/// <c>{</c> members <c>}</c>: the listed properties in order (required ones always), or, without any, free keys whose
/// values match <see cref="Additional"/>. k: -1 before the brace; else, with properties, 2 × (the next property to
/// consider) + (1 when one was written); without, the members written so far.
/// </summary>
internal sealed class ObjectNode : Node
{
    public sealed record Property(Node Key, Node Value, bool Required);

    public readonly Property[] Properties;
    public readonly Node? Additional;
    public readonly Node[] WithoutComma, WithComma;   // per property: [","] key ":" value
    public readonly Node? FreeFirst, FreeNext;
    public static readonly Node Open = new SeqNode([new LiteralNode("{"u8.ToArray()), WsNode.Instance]);
    public static readonly Node Close = new LiteralNode("}"u8.ToArray());

    public ObjectNode(Property[] properties, Node? additional)
    {
        Properties = properties;
        Additional = additional;
        var colon = new LiteralNode(":"u8.ToArray());
        var comma = new LiteralNode(","u8.ToArray());
        var ws = WsNode.Instance;
        WithoutComma = properties.Select(p => (Node)new SeqNode([p.Key, ws, colon, ws, p.Value, ws])).ToArray();
        WithComma = properties.Select(p => (Node)new SeqNode([comma, ws, p.Key, ws, colon, ws, p.Value, ws])).ToArray();
        if (additional is not null)
        {
            FreeFirst = new SeqNode([StringNode.Instance, ws, colon, ws, additional, ws]);
            FreeNext = new SeqNode([comma, ws, StringNode.Instance, ws, colon, ws, additional, ws]);
        }
    }
}
