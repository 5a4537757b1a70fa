using System.Text.Json;
using System.Text.Json.Nodes;

namespace SeekSharp.Chat;

/// <summary>Reads and writes conversations as OpenAI-style JSON message arrays.</summary>
public static class ChatMessageJson
{
    /// <summary>Parses <c>[{"role":..., "content":...}, ...]</c>; content may be a string or an array of text parts; tool call arguments a string or an object.</summary>
    public static List<ChatMessage> Parse(string json, string source = "messages")
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not valid JSON: {e.Message}"); }
        if (root is not JsonArray array)
            throw new InvalidDataException($"{source}: expected a JSON array of messages, found {root?.GetValueKind().ToString() ?? "null"}");
        var result = new List<ChatMessage>();
        for (int i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonObject m)
                throw new InvalidDataException($"{source}[{i}]: expected a message object");
            string where = $"{source}[{i}]";
            string role = Text(m["role"], $"{where}.role") ?? throw new InvalidDataException($"{where}: missing \"role\"");
            result.Add(new ChatMessage(role, ContentText(m["content"], $"{where}.content"))
            {
                ReasoningContent = Text(m["reasoning_content"], $"{where}.reasoning_content"),
                ToolCallId = Text(m["tool_call_id"], $"{where}.tool_call_id"),
                Name = Text(m["name"], $"{where}.name"),
                ToolCalls = m["tool_calls"] is JsonArray calls ? calls.Select((c, j) => ToolCallOf(c, $"{where}.tool_calls[{j}]")).ToList() : null,
            });
        }
        return result;
    }

    /// <summary>Writes messages as an OpenAI-style JSON array (indented), the inverse of <see cref="Parse"/>.</summary>
    public static string Write(IEnumerable<ChatMessage> messages)
    {
        var array = new JsonArray();
        foreach (var m in messages)
        {
            var o = new JsonObject { ["role"] = m.Role, ["content"] = m.Content };
            if (m.ReasoningContent is not null) o["reasoning_content"] = m.ReasoningContent;
            if (m.ToolCalls is { Count: > 0 })
                o["tool_calls"] = new JsonArray(m.ToolCalls.Select(c => (JsonNode)new JsonObject
                {
                    ["id"] = c.Id, ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments },
                }).ToArray());
            if (m.ToolCallId is not null) o["tool_call_id"] = m.ToolCallId;
            if (m.Name is not null) o["name"] = m.Name;
            array.Add(o);
        }
        return array.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    private static string? ContentText(JsonNode? content, string where) => content switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonArray parts => string.Concat(parts.Select((p, k) => p switch
        {
            null => "",
            JsonObject part => Text(part["text"], $"{where}[{k}].text") ?? "",
            _ => throw new InvalidDataException($"{where}[{k}]: expected a text part object ({{\"type\": \"text\", \"text\": ...}})"),
        })),
        _ => throw new InvalidDataException($"{where}: expected a string or an array of text parts"),
    };

    // A string field, null when absent or JSON null; any other JSON value is an error that names the field (GetValue<string>
    // would throw InvalidOperationException, which is not an input error).
    private static string? Text(JsonNode? node, string where) => node switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw new InvalidDataException($"{where}: expected a string, found {node.GetValueKind()}"),
    };

    private static ToolCall ToolCallOf(JsonNode? node, string where)
    {
        if (node is not JsonObject call) throw new InvalidDataException($"{where}: expected a tool call object");
        if (call["function"] is not JsonObject f) throw new InvalidDataException($"{where}: missing \"function\" object");
        string name = Text(f["name"], $"{where}.function.name") ?? throw new InvalidDataException($"{where}.function: missing \"name\"");
        var args = f["arguments"];
        string arguments = args is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : args?.ToJsonString() ?? "{}";
        return new ToolCall(Text(call["id"], $"{where}.id") ?? "", name, arguments);
    }
}
