using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace SeekSharp.Chat.Templates;

/// <summary>
/// The <c>tojson</c> filter and how containers print: @huggingface/jinja's toJSON, which follows Python's
/// json.dumps layout (", " and ": " separators, "," between items when indenting) but escapes strings as
/// JavaScript's JSON.stringify does (non-ASCII kept unless ensure_ascii).
/// </summary>
internal static class TemplateJson
{
    internal sealed record Options(double? Indent, bool EnsureAscii, string? ItemSeparator, string? KeySeparator, bool SortKeys)
    {
        public static readonly Options Default = new(null, false, null, null, false);
    }

    /// <summary>
    /// Serializes <paramref name="input"/>. With a <paramref name="budget"/> the text is checked against the render's
    /// string bound and remaining allocation budget as it grows (a list of many references to one big string would
    /// otherwise print to gigabytes before any check); the caller charges the finished string.
    /// </summary>
    public static string Serialize(Value input, Options options, int depth, bool undefinedToNull, Interpreter? budget = null)
    {
        var sb = new StringBuilder();
        Write(sb, input, options, depth, undefinedToNull, budget);
        return sb.ToString();
    }

    private static bool HasIndent(Options o) => o.Indent is double d && d != 0 && !double.IsNaN(d);

    private static void Write(StringBuilder sb, Value input, Options options, int depth, bool undefinedToNull, Interpreter? budget)
    {
        string itemSeparator, keySeparator;
        bool indent = HasIndent(options);
        if (options.ItemSeparator != null) { itemSeparator = options.ItemSeparator; keySeparator = options.KeySeparator!; }
        else if (indent) { itemSeparator = ","; keySeparator = ": "; }
        else { itemSeparator = ", "; keySeparator = ": "; }

        switch (input.Kind)
        {
            case ValueKind.Null:
                sb.Append("null");
                return;
            case ValueKind.Undefined:
                sb.Append(undefinedToNull ? "null" : "undefined");
                return;
            case ValueKind.Integer:
            case ValueKind.Float:
            {
                double d = input is IntegerValue i ? i.Number : ((FloatValue)input).Number;
                sb.Append(double.IsFinite(d) ? JsSemantics.NumberToString(d) : "null");
                return;
            }
            case ValueKind.Boolean:
                sb.Append(((BooleanValue)input).Flag ? "true" : "false");
                return;
            case ValueKind.String:
                WriteString(sb, ((StringValue)input).Text, options.EnsureAscii, budget);
                return;
            case ValueKind.Array:
            case ValueKind.Object:
            case ValueKind.Namespace:
            {
                // Values can nest as deep as a loop can wrap a list in a list: stop before the stack runs out.
                RuntimeHelpers.EnsureSufficientExecutionStack();
                int indentWidth = indent ? (int)Math.Max(0, Math.Min(options.Indent!.Value, 64)) : 0;
                // A newline and depth x indent spaces, appended in place: padding strings built per container would
                // cost depth squared when values nest deeply.
                int baseWidth = indentWidth * depth, childrenWidth = baseWidth + indentWidth;
                void Pad(int width)
                {
                    budget?.CheckGrowth(sb.Length + 1L + width);
                    sb.Append('\n').Append(' ', width);
                }
                if (input is ArrayValue array)
                {
                    sb.Append('[');
                    bool padded = indent && array.Items.Count > 0;
                    if (padded) Pad(childrenWidth);
                    for (int k = 0; k < array.Items.Count; k++)
                    {
                        if (k > 0) { sb.Append(itemSeparator); if (padded) Pad(childrenWidth); }
                        Write(sb, array.Items[k], options, depth + 1, undefinedToNull, budget);
                        budget?.CheckGrowth(sb.Length);
                    }
                    if (padded) Pad(baseWidth);
                    sb.Append(']');
                }
                else
                {
                    var entries = input is ObjectValue o ? o.Entries : ((NamespaceValue)input).Entries;
                    IEnumerable<KeyValuePair<string, Value>> ordered = entries;
                    if (options.SortKeys)
                        ordered = entries.OrderBy(e => e.Key, StringComparer.Create(CultureInfo.InvariantCulture, false));
                    sb.Append('{');
                    bool first = true;
                    foreach (var (key, value) in ordered)
                    {
                        if (!first) sb.Append(itemSeparator);
                        first = false;
                        if (indent) Pad(childrenWidth);
                        WriteString(sb, key, options.EnsureAscii, budget);
                        sb.Append(keySeparator);
                        Write(sb, value, options, depth + 1, undefinedToNull, budget);
                        budget?.CheckGrowth(sb.Length);
                    }
                    if (indent && !first) Pad(baseWidth);
                    sb.Append('}');
                }
                return;
            }
            default:
                throw new TemplateRuntimeException($"Cannot convert to JSON: {KindName(input)}");
        }
    }

    /// <summary>JSON.stringify(string), then (ensure_ascii) every char from U+007F up as a \uXXXX escape.</summary>
    public static void WriteString(StringBuilder sb, string s, bool ensureAscii, Interpreter? budget = null)
    {
        sb.Append('"');
        for (int i = 0; i < s.Length; i++)
        {
            // Escaping can grow a string sixfold, so long strings are checked as they are written.
            if ((i & 0xFFFF) == 0xFFFF) budget?.CheckGrowth(sb.Length);
            char c = s[i];
            switch (c)
            {
                case '"': sb.Append("\\\""); continue;
                case '\\': sb.Append("\\\\"); continue;
                case '\b': sb.Append("\\b"); continue;
                case '\f': sb.Append("\\f"); continue;
                case '\n': sb.Append("\\n"); continue;
                case '\r': sb.Append("\\r"); continue;
                case '\t': sb.Append("\\t"); continue;
            }
            bool loneSurrogate = char.IsHighSurrogate(c) ? !(i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                : char.IsLowSurrogate(c) && !(i > 0 && char.IsHighSurrogate(s[i - 1]));
            if (c < 0x20 || loneSurrogate || ensureAscii && c >= 0x7f)
                sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            else
                sb.Append(c);
        }
        sb.Append('"');
    }

    /// <summary>The type name @huggingface/jinja uses in its messages.</summary>
    public static string KindName(Value v) => v.Kind switch
    {
        ValueKind.Integer => "IntegerValue",
        ValueKind.Float => "FloatValue",
        ValueKind.String => "StringValue",
        ValueKind.Boolean => "BooleanValue",
        ValueKind.Object => "ObjectValue",
        ValueKind.KeywordArguments => "KeywordArgumentsValue",
        ValueKind.Namespace => "NamespaceValue",
        ValueKind.Array => "ArrayValue",
        ValueKind.Tuple => "TupleValue",
        ValueKind.Function => "FunctionValue",
        ValueKind.Null => "NullValue",
        _ => "UndefinedValue",
    };
}
