using System.Text.Json;

namespace SeekSharp.Training.Data;

/// <summary>
/// Examples from a JSONL file of traces, one object per line with <c>"prompt"</c> (the user text) and
/// <c>"completion"</c> (the assistant text, reasoning and answer), as <c>DistillRecipe.GenerateTraces</c> writes them.
/// Lines with <c>"correct": false</c> are skipped; examples are drawn uniformly at random.
/// </summary>
internal sealed class TraceFileSource : IExampleSource
{
    readonly (string User, string Completion)[] examples;

    public TraceFileSource(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Trace file '{path}' does not exist.", path);
        var list = new List<(string, string)>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                if (root.TryGetProperty("correct", out var correct) && correct.ValueKind == JsonValueKind.False) continue;
                string prompt = root.GetProperty("prompt").GetString() ?? throw new InvalidDataException("\"prompt\" is null");
                string completion = root.GetProperty("completion").GetString() ?? throw new InvalidDataException("\"completion\" is null");
                list.Add((prompt, completion));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or InvalidDataException)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: expected a JSON object with string fields \"prompt\" and \"completion\" ({e.Message}).", e);
            }
        }
        if (list.Count == 0) throw new InvalidDataException($"{path} holds no usable traces (no lines, or all marked \"correct\": false).");
        examples = [.. list];
    }

    /// <summary>Traces available.</summary>
    public int Count => examples.Length;

    public ChatExample Next(Model.TrainingRandom random)
    {
        var (user, completion) = examples[random.NextInt(examples.Length)];
        return new ChatExample(user, completion);
    }
}
