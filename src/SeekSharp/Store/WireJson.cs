using System.Text.Json;

namespace SeekSharp.Store;

/// <summary>
/// Reading the JSON a server sends (a Hub listing, a registry manifest) without trusting its shape: a field of the
/// wrong kind reads as absent instead of throwing deep inside System.Text.Json, and malformed text is a
/// <see cref="DownloadException"/> naming what was being read.
/// </summary>
internal static class WireJson
{
    public static JsonDocument Parse(string text, string what, string description)
    {
        try
        {
            return JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new DownloadException($"{what}: {description} is not valid JSON ({e.Message.Split(" Path:")[0]})", e);
        }
    }

    public static string? String(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static long? Int64(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long n) && n >= 0
            ? n : null;

    public static JsonElement? Property(JsonElement obj, string name, JsonValueKind kind) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == kind ? v : null;
}
