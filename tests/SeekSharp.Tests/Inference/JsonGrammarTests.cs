using System.Text;
using System.Text.Json;
using SeekSharp.Inference.Sampling;

namespace SeekSharp.Tests.Inference;

/// <summary>
/// The JSON grammar of structured output: it takes the JSON texts it should and no others, byte by byte; schemas
/// narrow it as documented; and any path of allowed bytes ends in JSON that System.Text.Json reads and that has the
/// schema's shape.
/// </summary>
public class JsonGrammarTests
{
    private static bool Matches(JsonGrammar grammar, string text)
    {
        var m = grammar.CreateMatcher();
        return m.TryAccept(Encoding.UTF8.GetBytes(text)) && m.IsComplete;
    }

    [Theory]
    [InlineData("{}")]
    [InlineData(" {\"a\": 1}\n")]
    [InlineData("{\n  \"answer\": 1176,\n  \"steps\": [\"7 + 9 = 16\", 1e-3, -0.5E+2, true, false, null, {}, []]\n}")]
    [InlineData("{\"esc\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"}")]
    [InlineData("{\"utf8\":\"é 中文 😀\"}")]
    [InlineData("{\"nested\":{\"deeper\":{\"list\":[[1,2],[3,[4]]]}}}")]
    [InlineData("{\"zero\":0,\"neg\":-0.0,\"big\":123456789012345678}")]
    public void AnyObjectTakesJsonObjects(string text)
    {
        Assert.True(Matches(JsonGrammar.AnyObject(), text), text);
        using var _ = JsonDocument.Parse(text);   // the cases are JSON indeed
    }

    [Theory]
    [InlineData("")]                         // nothing yet
    [InlineData("[1, 2]")]                   // an array, not an object
    [InlineData("\"text\"")]
    [InlineData("{\"a\": 1,}")]              // trailing comma
    [InlineData("{'a': 1}")]                 // single quotes
    [InlineData("{a: 1}")]                   // unquoted key
    [InlineData("{\"a\": 01}")]              // leading zero
    [InlineData("{\"a\": 1.}")]              // no fraction digits
    [InlineData("{\"a\": .5}")]
    [InlineData("{\"a\": \"tab\there\"}")]  // a raw control character in a string
    [InlineData("{\"a\": \"\\x\"}")]         // an unknown escape
    [InlineData("{\"a\": \"\\u12G4\"}")]
    [InlineData("{\"a\": tru}")]
    [InlineData("{\"a\": 1} {}")]            // two values
    [InlineData("{\"a\": 1")]                // not closed
    public void AnyObjectRefusesTheRest(string text) => Assert.False(Matches(JsonGrammar.AnyObject(), text), text);

    [Fact]
    public void InvalidUtf8InAStringIsRefused()
    {
        var m = JsonGrammar.AnyObject().CreateMatcher();
        Assert.True(m.TryAccept("{\"a\":\""u8));
        Assert.False(m.Accepts([0x80]));             // a continuation byte without a lead
        Assert.False(m.Accepts([0xC3, 0x28]));       // a lead without its continuation
        Assert.False(m.Accepts([0xC0, 0x80]));       // an overlong lead
        Assert.True(m.Accepts([0xC3, 0xA9]));        // é
        Assert.True(m.Accepts([0xE4, 0xB8]));        // the first two bytes of 中: may go on
    }

    [Fact]
    public void WhitespaceAndNumbersAreBounded()
    {
        var m = JsonGrammar.AnyObject().CreateMatcher();
        Assert.False(m.Accepts("  "u8));          // one space, not two
        Assert.False(m.Accepts("\n\n"u8));        // no blank line
        Assert.False(m.Accepts("\r\n"u8));
        Assert.True(m.TryAccept(Encoding.UTF8.GetBytes("\n" + new string(' ', JsonGrammar.MaxIndent))));
        Assert.False(m.Accepts(" "u8));
        Assert.True(m.TryAccept("{\n\t\"n\":"u8));
        Assert.True(m.TryAccept(Encoding.UTF8.GetBytes(new string('9', JsonGrammar.MaxNumberLength))));
        Assert.False(m.Accepts("9"u8));
        Assert.True(m.Accepts("}"u8));
    }

    private const string Person = """
        {"type":"object","properties":{
          "name":{"type":"string"},
          "age":{"type":"integer"},
          "email":{"type":"string"},
          "mood":{"enum":["happy","sad", 3]},
          "tags":{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":2},
          "kind":{"const":{"a" : [1, 2]}}
        },"required":["name","age","kind"]}
        """;

    [Theory]
    [InlineData("{\"name\":\"Ada\",\"age\":36,\"kind\":{\"a\":[1,2]}}", true)]
    [InlineData("{\"name\": \"Ada\", \"age\": 36, \"email\": \"a@b\", \"mood\": 3, \"tags\": [\"x\"], \"kind\": {\"a\":[1,2]}}", true)]
    [InlineData("{\"name\":\"Ada\",\"age\":36,\"mood\":\"sad\",\"kind\":{\"a\":[1,2]}}", true)]
    [InlineData("{\"age\":36,\"name\":\"Ada\",\"kind\":{\"a\":[1,2]}}", false)]                 // out of the schema's order
    [InlineData("{\"name\":\"Ada\",\"kind\":{\"a\":[1,2]}}", false)]                            // a required one missing
    [InlineData("{\"name\":\"Ada\",\"age\":36.5,\"kind\":{\"a\":[1,2]}}", false)]               // not an integer
    [InlineData("{\"name\":\"Ada\",\"age\":36,\"mood\":\"angry\",\"kind\":{\"a\":[1,2]}}", false)] // not in the enum
    [InlineData("{\"name\":\"Ada\",\"age\":36,\"tags\":[],\"kind\":{\"a\":[1,2]}}", false)]     // fewer than minItems
    [InlineData("{\"name\":\"Ada\",\"age\":36,\"tags\":[\"a\",\"b\",\"c\"],\"kind\":{\"a\":[1,2]}}", false)]
    [InlineData("{\"name\":\"Ada\",\"age\":36,\"kind\":{\"a\":[1,3]}}", false)]                // not the const
    [InlineData("{\"name\":\"Ada\",\"age\":36,\"kind\":{\"a\":[1,2]},\"extra\":1}", false)]    // no other properties
    public void SchemaObjects(string text, bool expected) => Assert.Equal(expected, Matches(JsonGrammar.FromSchema(Person), text));

    [Fact]
    public void KeysAndEnumValuesAreWrittenAsTheyRead()
    {
        var g = JsonGrammar.FromSchema("""{"type":"object","properties":{"café <&>":{"enum":["naïve","\u00e9t\u00e9"]}},"required":["café <&>"]}""");
        Assert.True(Matches(g, "{\"café <&>\": \"été\"}"));
        Assert.True(Matches(g, "{\"café <&>\":\"naïve\"}"));
        Assert.False(Matches(g, "{\"caf\\u00e9 <&>\":\"naïve\"}"));
    }

    [Fact]
    public void SchemaCombinatorsAndReferences()
    {
        var tree = JsonGrammar.FromSchema("""
            {"$ref":"#/$defs/node","$defs":{"node":{"type":"object","properties":{
              "value":{"anyOf":[{"type":"number"},{"type":"null"}]},
              "children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["value"]}}}
            """);
        Assert.True(Matches(tree, """{"value":1,"children":[{"value":null},{"value":2.5,"children":[{"value":-3}]}]}"""));
        Assert.False(Matches(tree, """{"value":1,"children":[{"value":"x"}]}"""));

        var either = JsonGrammar.FromSchema("""{"type":["integer","boolean"]}""");
        Assert.True(Matches(either, "12"));
        Assert.True(Matches(either, "false"));
        Assert.False(Matches(either, "1.5"));

        var free = JsonGrammar.FromSchema("""{"type":"object","additionalProperties":{"type":"integer"}}""");
        Assert.True(Matches(free, """{"a":1,"b":2}"""));
        Assert.False(Matches(free, """{"a":"x"}"""));
        Assert.True(Matches(JsonGrammar.FromSchema("""{"type":"object","additionalProperties":false}"""), "{}"));
        Assert.False(Matches(JsonGrammar.FromSchema("""{"type":"object","additionalProperties":false}"""), """{"a":1}"""));
        Assert.True(Matches(JsonGrammar.FromSchema("true"), "[\"anything\"]"));
    }

    [Theory]
    [InlineData("{\"not\":{\"type\":\"string\"}}", "'not'")]
    [InlineData("{\"$ref\":\"https://example.com/s.json\"}", "$ref")]
    [InlineData("{\"$ref\":\"#/$defs/missing\"}", "names nothing in the schema")]
    [InlineData("{\"type\":\"object\",\"properties\":{\"a\":{}},\"required\":[\"b\"]}", "'b' is not among the properties")]
    [InlineData("{\"type\":\"text\"}", "unknown type 'text'")]
    [InlineData("{\"type\":\"array\",\"minItems\":3,\"maxItems\":2}", "minItems 3 is more than maxItems 2")]
    [InlineData("{\"allOf\":[{},{}]}", "allOf")]
    [InlineData("{\"properties\":{\"a\":{\"if\":{}}}}", "#/properties/a: 'if'")]
    [InlineData("not json", "not JSON")]
    public void SchemasBeyondTheGrammarAreRefusedNamingWhy(string schema, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => JsonGrammar.FromSchema(schema));
        Assert.Contains(expected, e.Message);
    }

    // Bytes a walk may try: JSON's punctuation, letters, digits, whitespace, and some UTF-8.
    private static readonly byte[] Alphabet = Encoding.UTF8.GetBytes("{}[]\",:-+.eE0123456789 \n\\abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_@é");

    /// <summary>A random walk over allowed bytes, turning to closing ones once long enough, always ends in JSON.</summary>
    private static string Walk(JsonGrammar grammar, Random rng)
    {
        var m = grammar.CreateMatcher();
        var text = new List<byte>();
        for (int step = 0; step < 5000; step++)
        {
            if (m.IsComplete && (!m.CanContinue || rng.Next(4) == 0)) return Encoding.UTF8.GetString(text.ToArray());
            var allowed = Alphabet.Where(b => m.Accepts([b])).ToList();
            if (text.Count > 60)
            {
                // Head for the end: close what is open, finish literals and numbers.
                var closing = allowed.Where(b => "\"]}0lesu".Contains((char)b)).ToList();
                if (closing.Count > 0) allowed = closing;
            }
            Assert.NotEmpty(allowed);
            byte next = allowed[rng.Next(allowed.Count)];
            Assert.True(m.TryAccept([next]));
            text.Add(next);
        }
        throw new Xunit.Sdk.XunitException("the walk did not end: " + Encoding.UTF8.GetString(text.ToArray()));
    }

    [Fact]
    public void RandomWalksOverAnyObjectAreJsonObjects()
    {
        var rng = new Random(7);
        for (int i = 0; i < 200; i++)
        {
            string text = Walk(JsonGrammar.AnyObject(), rng);
            using var doc = JsonDocument.Parse(text);
            Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        }
    }

    [Fact]
    public void RandomWalksOverASchemaHaveItsShape()
    {
        var grammar = JsonGrammar.FromSchema(Person);
        var rng = new Random(11);
        for (int i = 0; i < 200; i++)
        {
            string text = Walk(grammar, rng);
            using var doc = JsonDocument.Parse(text);
            var o = doc.RootElement;
            Assert.Equal(JsonValueKind.String, o.GetProperty("name").ValueKind);
            Assert.Matches("^-?(0|[1-9][0-9]*)$", o.GetProperty("age").GetRawText());   // an integer, of any size
            Assert.Equal("""{"a":[1,2]}""", o.GetProperty("kind").GetRawText());
            if (o.TryGetProperty("tags", out var tags)) Assert.InRange(tags.GetArrayLength(), 1, 2);
            if (o.TryGetProperty("mood", out var mood)) Assert.Contains(mood.GetRawText(), new[] { "\"happy\"", "\"sad\"", "3" });
            var names = o.EnumerateObject().Select(p => p.Name).ToList();
            Assert.Equal(names.OrderBy(n => Array.IndexOf(["name", "age", "email", "mood", "tags", "kind"], n)), names);
        }
    }
    public sealed record TreeNode(string Name, int Weight, List<TreeNode>? Children);

    [Fact]
    public void SchemasThatSystemTextJsonExportsForARecursiveTypeWork()
    {
        // The exporter refers back to a recursive type with a JSON pointer into the schema ("#" here).
        var schema = System.Text.Json.Schema.JsonSchemaExporter.GetJsonSchemaAsNode(JsonSerializerOptions.Default, typeof(TreeNode));
        Assert.Contains("\"$ref\"", schema.ToJsonString());
        var g = JsonGrammar.FromSchema(schema.ToJsonString());
        var rng = new Random(5);
        for (int i = 0; i < 100; i++)
        {
            using var doc = JsonDocument.Parse(Walk(g, rng));
            CheckTree(doc.RootElement);
        }
        Assert.True(Matches(g, """{"Name":"a","Weight":1,"Children":[{"Name":"b","Weight":2,"Children":null}]}"""));

        // Any pointer into the schema, array indices included.
        var pointer = JsonGrammar.FromSchema("""
            {"type":"object","properties":{"a":{"anyOf":[{"type":"null"},{"type":"integer"}]},"b":{"$ref":"#/properties/a/anyOf/1"}},"required":["a","b"]}
            """);
        Assert.True(Matches(pointer, """{"a":null,"b":2}"""));
        Assert.False(Matches(pointer, """{"a":null,"b":null}"""));
    }

    // The exporter's shape: a node (or null: a class may be) with Name a string, Weight an integer, Children null or an
    // array of the same.
    private static void CheckTree(JsonElement node)
    {
        if (node.ValueKind == JsonValueKind.Null) return;
        Assert.Equal(JsonValueKind.String, node.GetProperty("Name").ValueKind);
        Assert.Matches("^-?[0-9]+$", node.GetProperty("Weight").GetRawText());
        var children = node.GetProperty("Children");
        if (children.ValueKind == JsonValueKind.Null) return;
        foreach (var child in children.EnumerateArray()) CheckTree(child);
    }

    [Fact]
    public void AlternativesStayOpenThroughALongString()
    {
        // Both objects begin with the same string property, so both ways of reading go through its value together.
        var g = JsonGrammar.FromSchema("""
            {"anyOf":[
              {"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["a","b"]},
              {"type":"object","properties":{"a":{"type":"string"},"c":{"type":"boolean"}},"required":["a","c"]}]}
            """);
        string value = string.Concat(Enumerable.Repeat("déjà vu \\\" ", 50));
        Assert.True(Matches(g, "{\"a\":\"" + value + "\",\"b\":7}"));
        Assert.True(Matches(g, "{\"a\":\"" + value + "\",\"c\":true}"));
        Assert.False(Matches(g, "{\"a\":\"" + value + "\",\"b\":true}"));
        Assert.False(Matches(g, "{\"a\":\"" + value + "\n\",\"b\":7}"));
    }

    [Fact]
    public void ASchemaThatOnlyRefersToItselfMatchesNothing_Quickly()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var loop = JsonGrammar.FromSchema("""{"$ref":"#/$defs/a","$defs":{"a":{"anyOf":[{"$ref":"#/$defs/a"},{"$ref":"#/$defs/a"}]}}}""");
        var m = loop.CreateMatcher();
        Assert.False(m.IsComplete);
        foreach (string start in new[] { "{", "[", "\"", "1", "t", "n" }) Assert.False(m.Accepts(Encoding.UTF8.GetBytes(start)), start);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{clock.Elapsed}");   // bounded work, not 2^512 expansions
    }

    [Fact]
    public void NestingIsDeepEnoughForJsonReadersButBounded()
    {
        var m = JsonGrammar.AnyObject().CreateMatcher();
        Assert.True(m.TryAccept(Encoding.UTF8.GetBytes("{\"a\":" + new string('[', 100))));   // System.Text.Json reads 64
        int more = 0;
        while (more < 10_000 && m.TryAccept("["u8)) more++;
        Assert.InRange(more, 1, 1000);                 // then a bracket may not open, but the text can still close
        Assert.True(m.TryAccept(Encoding.UTF8.GetBytes(new string(']', 100 + more) + "}")));
        Assert.True(m.IsComplete);
    }

    // A random JSON value shaped like a schema: keywords with fitting or unfitting values, nested.
    private static System.Text.Json.Nodes.JsonNode? RandomSchema(Random rng, int depth)
    {
        string[] types = ["object", "array", "string", "number", "integer", "boolean", "null", "text"];
        System.Text.Json.Nodes.JsonNode? Any() => rng.Next(6) switch
        {
            0 => rng.Next(-2, 5), 1 => "a", 2 => true, 3 => null, 4 => new System.Text.Json.Nodes.JsonArray(), _ => RandomSchema(rng, depth + 1),
        };
        if (depth > 3 || rng.Next(8) == 0) return rng.Next(3) == 0 ? Any() : new System.Text.Json.Nodes.JsonObject();
        var o = new System.Text.Json.Nodes.JsonObject();
        foreach (string key in (string[])["type", "properties", "required", "items", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "$defs", "minItems", "maxItems", "additionalProperties", "not"])
        {
            if (rng.Next(4) != 0) continue;
            o[key] = key switch
            {
                "type" => rng.Next(3) == 0 ? new System.Text.Json.Nodes.JsonArray(types[rng.Next(types.Length)], types[rng.Next(types.Length)]) : types[rng.Next(types.Length)],
                "properties" or "$defs" => new System.Text.Json.Nodes.JsonObject { ["a"] = RandomSchema(rng, depth + 1), ["b"] = RandomSchema(rng, depth + 1) },
                "required" => new System.Text.Json.Nodes.JsonArray(rng.Next(2) == 0 ? "a" : "c"),
                "anyOf" or "oneOf" or "allOf" => new System.Text.Json.Nodes.JsonArray(RandomSchema(rng, depth + 1), RandomSchema(rng, depth + 1)),
                "$ref" => rng.Next(2) == 0 ? "#/$defs/a" : "#/$defs/z",
                "minItems" or "maxItems" => rng.Next(-1, 4),
                _ => rng.Next(2) == 0 ? RandomSchema(rng, depth + 1) : Any(),
            };
        }
        return o;
    }

    [Fact]
    public void FuzzedSchemasAndBytesOnlyEverRefuse()
    {
        var rng = new Random(23);
        int compiled = 0, refused = 0;
        for (int i = 0; i < 3000; i++)
        {
            string text = RandomSchema(rng, 0)?.ToJsonString() ?? "null";
            JsonGrammar g;
            try { g = JsonGrammar.FromSchema(text); }
            catch (ArgumentException) { refused++; continue; }
            compiled++;
            var m = g.CreateMatcher();
            var bytes = new byte[rng.Next(0, 64)];
            rng.NextBytes(bytes);
            m.Accepts(bytes);
            for (int step = 0; step < 200; step++)
            {
                var next = Alphabet.Where(b => m.Accepts([b])).ToList();
                if (next.Count == 0) break;
                Assert.True(m.TryAccept([next[rng.Next(next.Count)]]));
            }
        }
        Assert.True(compiled > 300 && refused > 300, $"{compiled} fuzzed schemas compiled, {refused} refused");
    }
}
