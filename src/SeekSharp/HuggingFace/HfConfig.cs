using System.Text.Json;
using SeekSharp.Models;

namespace SeekSharp.HuggingFace;

/// <summary>
/// config.json of a Hugging Face model folder, read key by key: every required key that is missing or of the wrong
/// kind fails with a <see cref="ModelLoadException"/> naming config.json and the key.
/// </summary>
internal sealed class HfConfig
{
    readonly JsonElement _root;

    HfConfig(string path, JsonElement root)
    {
        Path = path;
        _root = root;
    }

    /// <summary>Path of config.json.</summary>
    public string Path { get; }

    /// <summary><c>model_type</c> ("llama", "qwen2", "qwen3", "deepseek_v2", "deepseek_v3").</summary>
    public string ModelType => String("model_type") ?? throw Missing("model_type", "the architecture");

    /// <summary>The first of <c>architectures</c> (e.g. "LlamaForCausalLM"), or null.</summary>
    public string? ArchitectureClass =>
        _root.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array && a.GetArrayLength() > 0 && a[0].ValueKind == JsonValueKind.String
            ? a[0].GetString() : null;

    public static HfConfig Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"'{path}' does not exist; a Hugging Face model folder needs its config.json", path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelLoadException(path, "config.json is not a JSON object");
            return new HfConfig(path, doc.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw new ModelLoadException(path, $"config.json is not valid JSON: {e.Message}");
        }
    }

    public bool Has(string key) => _root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>A required positive-or-zero integer; <paramref name="why"/> says what needs it, for the message.</summary>
    public int Int(string key, string why) => IntOrNull(key) ?? throw Missing(key, why);

    public int? IntOrNull(string key)
    {
        if (!_root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x) || x < 0 || x > int.MaxValue)
            throw new ModelLoadException(Path, $"config.json key '{key}' is {v.GetRawText()}; expected a non-negative integer");
        return (int)x;
    }

    /// <summary>An integer id, or null when the key is absent or holds something else (a list, null).</summary>
    public int? IdOrNull(string key) =>
        _root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int id) && id >= 0 ? id : null;

    public float Float(string key, string why) => FloatOrNull(key) ?? throw Missing(key, why);

    public float? FloatOrNull(string key) => FloatOrNull(_root, key, key);

    float? FloatOrNull(JsonElement obj, string key, string label)
    {
        if (!obj.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !double.IsFinite(v.GetDouble()))
            throw new ModelLoadException(Path, $"config.json key '{label}' is {v.GetRawText()}; expected a number");
        return (float)v.GetDouble();
    }

    public bool? BoolOrNull(string key)
    {
        if (!_root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ModelLoadException(Path, $"config.json key '{key}' is {v.GetRawText()}; expected true or false"),
        };
    }

    public string? String(string key)
    {
        if (!_root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString()
            : throw new ModelLoadException(Path, $"config.json key '{key}' is {v.GetRawText()}; expected a string");
    }

    /// <summary>An object-valued key (rope_scaling, quantization_config), or null.</summary>
    public Section? Object(string key)
    {
        if (!_root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.Object ? new Section(this, key, v)
            : throw new ModelLoadException(Path, $"config.json key '{key}' is {v.GetRawText()}; expected an object");
    }

    public ModelLoadException Missing(string key, string why) =>
        new(Path, $"config.json has no '{key}', which {why} needs");

    /// <summary>A nested object of config.json; keys are reported as <c>parent.key</c>.</summary>
    public sealed class Section(HfConfig config, string name, JsonElement element)
    {
        public string Name => name;

        public float? FloatOrNull(string key) => config.FloatOrNull(element, key, $"{name}.{key}");

        public int? IntOrNull(string key) => FloatOrNull(key) is { } f ? (f == MathF.Floor(f) && f >= 0 ? (int)f
            : throw new ModelLoadException(config.Path, $"config.json key '{name}.{key}' is {f}; expected a non-negative integer")) : null;

        public string? String(string key) =>
            element.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        public int[]? IntArray(string key)
        {
            if (!element.TryGetProperty(key, out var v) || v.ValueKind != JsonValueKind.Array) return null;
            var result = new int[v.GetArrayLength()];
            for (int i = 0; i < result.Length; i++)
                result[i] = v[i].ValueKind == JsonValueKind.Number && v[i].TryGetInt32(out int x) && x > 0 ? x
                    : throw new ModelLoadException(config.Path, $"config.json key '{name}.{key}[{i}]' is {v[i].GetRawText()}; expected a positive integer");
            return result;
        }
    }
}
