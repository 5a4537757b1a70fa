namespace SeekSharp.Chat.Templates;

/// <summary>
/// A variable scope. As in @huggingface/jinja, a for loop gets one scope for all its iterations, a macro call gets
/// a scope whose parent is the caller's scope (dynamic scoping), and if blocks share their parent's scope.
/// </summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, Value> _variables = new(StringComparer.Ordinal);
    public Scope? Parent { get; } = parent;

    public bool HasOwn(string name) => _variables.ContainsKey(name);

    public void Set(string name, Value value) => _variables[name] = value;

    public Value Lookup(string name)
    {
        for (Scope? s = this; s != null; s = s.Parent)
            if (s._variables.TryGetValue(name, out var v))
                return v;
        return UndefinedValue.Instance;
    }
}
