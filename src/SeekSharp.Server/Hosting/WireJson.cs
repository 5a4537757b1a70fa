using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SeekSharp.Server.Hosting;

/// <summary>The serializer options both APIs' source-generated contracts run with.</summary>
internal static class WireJson
{
    /// <summary>
    /// snake_case names, nulls left out, and JSON's own escaping only: text such as "347 + 829" or "&lt;think&gt;" goes out
    /// as written rather than as \u002B and \u003C, which the default (HTML-safe) encoder would emit. The responses are
    /// JSON, never HTML. A new instance per call: each contract binds its own.
    /// </summary>
    public static JsonSerializerOptions Options() => new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
