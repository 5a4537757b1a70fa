using System.Text.Json.Serialization;

namespace SeekSharp.Training.Recipes.Distill;

/// <summary>One line of a distillation trace file.</summary>
/// <param name="Prompt">The user's question.</param>
/// <param name="Completion">The teacher's reply: <c>&lt;think&gt;\n</c>, reasoning, <c>&lt;/think&gt;</c>, answer.</param>
/// <param name="Correct">Whether the reply passed verification.</param>
internal sealed record TraceLine(
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("completion")] string Completion,
    [property: JsonPropertyName("correct")] bool Correct);

/// <summary>Source-generated serialization of <see cref="TraceLine"/> (no reflection, trimming-safe).</summary>
[JsonSerializable(typeof(TraceLine))]
internal sealed partial class TraceJson : JsonSerializerContext;
