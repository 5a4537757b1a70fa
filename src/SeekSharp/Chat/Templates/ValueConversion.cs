using System.Collections;
using System.Globalization;
using System.Text.Json;

namespace SeekSharp.Chat.Templates;

/// <summary>
/// Converts between the public .NET value model (string, bool, numbers, null, lists, string-keyed dictionaries)
/// and runtime values, the way @huggingface/jinja converts JavaScript values: whole numbers become integers,
/// and object keys enumerate as <c>Object.entries</c> does (array-index keys first, ascending).
/// </summary>
internal static class ValueConversion
{
    private const int MaxDepth = 512;

    public static Value ToValue(object? input, string path, int depth = 0)
    {
        if (depth > MaxDepth)
            throw new ArgumentException($"Template variable '{path}' is nested deeper than {MaxDepth} levels (a cycle?).");
        switch (input)
        {
            case null: return NullValue.Instance;
            case string s: return new StringValue(s);
            case bool b: return BooleanValue.Of(b);
            case int or long or short or sbyte or byte or ushort or uint or ulong:
                return new IntegerValue(Convert.ToDouble(input, CultureInfo.InvariantCulture));
            case double or float or decimal:
            {
                double d = Convert.ToDouble(input, CultureInfo.InvariantCulture);
                // JavaScript has one number type; Number.isInteger decides how it prints.
                return double.IsFinite(d) && Math.Floor(d) == d ? new IntegerValue(d) : new FloatValue(d);
            }
            case JsonElement element: return ToValue(FromJson(element), path, depth);
            case IReadOnlyDictionary<string, object?> dict: return ToObject(dict, path, depth);
            case IDictionary dictionary:
            {
                var copy = new OrderedDictionary<string, object?>();
                foreach (DictionaryEntry e in dictionary)
                {
                    if (e.Key is not string key)
                        throw new ArgumentException($"Template variable '{path}' has a non-string key ({e.Key?.GetType().Name}).");
                    copy[key] = e.Value;
                }
                return ToObject(copy, path, depth);
            }
            case IEnumerable sequence:
            {
                var items = new List<Value>();
                int index = 0;
                foreach (object? item in sequence)
                    items.Add(ToValue(item, $"{path}[{index++}]", depth + 1));
                return new ArrayValue(items);
            }
            default:
                throw new ArgumentException(
                    $"Template variable '{path}' has unsupported type {input.GetType().FullName}; use string, bool, a number, null, " +
                    "IReadOnlyList<object?> or IReadOnlyDictionary<string, object?>.");
        }
    }

    private static ObjectValue ToObject(IEnumerable<KeyValuePair<string, object?>> dict, string path, int depth)
    {
        var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
        List<KeyValuePair<string, object?>>? indexKeys = null;
        foreach (var pair in dict)
            if (IsArrayIndex(pair.Key))
                (indexKeys ??= []).Add(pair);
        if (indexKeys != null)
        {
            indexKeys.Sort((a, b) => ulong.Parse(a.Key, CultureInfo.InvariantCulture).CompareTo(ulong.Parse(b.Key, CultureInfo.InvariantCulture)));
            foreach (var (key, value) in indexKeys)
                entries[key] = ToValue(value, $"{path}.{key}", depth + 1);
        }
        foreach (var (key, value) in dict)
            if (indexKeys == null || !IsArrayIndex(key))
                entries[key] = ToValue(value, $"{path}.{key}", depth + 1);
        return new ObjectValue(entries);
    }

    /// <summary>A canonical array index (ECMA-262): "0" or no leading zero, below 2^32 - 1.</summary>
    private static bool IsArrayIndex(string key)
    {
        if (key.Length == 0 || key.Length > 10 || key.Length > 1 && key[0] == '0') return false;
        foreach (char c in key)
            if (!JsSemantics.IsDigit(c)) return false;
        return ulong.Parse(key, CultureInfo.InvariantCulture) < uint.MaxValue;
    }

    /// <summary>JSON to the public value model, keeping key order (a repeated key keeps its first place and last value, as JSON.parse does).</summary>
    public static object? FromJson(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
            {
                var dict = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                    dict[property.Name] = FromJson(property.Value);
                return dict;
            }
            case JsonValueKind.Array:
            {
                var list = new List<object?>(element.GetArrayLength());
                foreach (var item in element.EnumerateArray())
                    list.Add(FromJson(item));
                return list;
            }
            case JsonValueKind.String: return element.GetString();
            case JsonValueKind.Number:
                return element.TryGetInt64(out long l) ? (object)l : element.GetDouble();
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            default: return null;
        }
    }
}
