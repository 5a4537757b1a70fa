using System.Text.Json;

namespace SeekSharp.Chat.Templates;

/// <summary>
/// A parsed chat template (the Jinja in GGUF <c>tokenizer.chat_template</c> or tokenizer_config.json), rendering
/// byte-identical to @huggingface/jinja 0.5.11 with trim_blocks and lstrip_blocks on, as transformers renders.
/// Parse once, render many times; instances are immutable and thread-safe. Templates are treated as untrusted:
/// they reach no files, network or .NET reflection, and <see cref="TemplateLimits"/> bounds their work.
/// </summary>
public sealed class ChatTemplate
{
    private readonly TemplateProgram _program;

    /// <summary>The template text as given.</summary>
    public string Source { get; }

    /// <summary>The limits every render of this template runs under.</summary>
    public TemplateLimits Limits { get; }

    private ChatTemplate(string source, TemplateProgram program, TemplateLimits limits)
    {
        Source = source;
        _program = program;
        Limits = limits;
    }

    /// <summary>Parses a template.</summary>
    /// <exception cref="TemplateSyntaxException">The text is not valid; Line and Column locate the problem.</exception>
    /// <exception cref="TemplateLimitException">Expressions or blocks nest deeper than <see cref="TemplateLimits.MaxNestingDepth"/>.</exception>
    public static ChatTemplate Parse(string source, TemplateLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        limits ??= TemplateLimits.Default;
        return new ChatTemplate(source, Parser.Parse(source, limits), limits);
    }

    /// <summary>
    /// Renders with the given top-level variables. Values are .NET values: string, bool, int/long/double (whole
    /// doubles behave as integers, as in JavaScript), null, <see cref="IReadOnlyList{T}"/> of values,
    /// <see cref="IReadOnlyDictionary{TKey, TValue}"/> with string keys (key order is kept), or a <see cref="JsonElement"/>.
    /// </summary>
    /// <exception cref="TemplateRuntimeException">Rendering failed (type error, unknown filter, <c>raise_exception</c> ...).</exception>
    /// <exception cref="TemplateLimitException">A limit of <see cref="Limits"/> was hit.</exception>
    /// <exception cref="ArgumentException">A variable has an unsupported .NET type or is a built-in name (range, namespace, true ...).</exception>
    public string Render(IReadOnlyDictionary<string, object?> variables) => Render(variables, out _);

    /// <summary>Renders and reports the bytes charged against <see cref="TemplateLimits.MaxAllocatedBytes"/> (for tests and sizing).</summary>
    internal string Render(IReadOnlyDictionary<string, object?> variables, out long allocatedBytes)
    {
        ArgumentNullException.ThrowIfNull(variables);
        allocatedBytes = 0;
        var interpreter = new Interpreter(Limits, Source);
        var global = new Scope(null);
        Builtins.AddGlobals(global, interpreter);
        foreach (var (name, value) in variables)
        {
            if (Builtins.IsReserved(name) || global.HasOwn(name))
                throw new ArgumentException($"Template variable '{name}' is already declared (a built-in or a duplicate).", nameof(variables));
            global.Set(name, ValueConversion.ToValue(value, name));
        }
        try
        {
            string text = interpreter.Run(_program, global);
            allocatedBytes = interpreter.AllocatedBytes;
            return text;
        }
        catch (BuiltinException e)
        {
            throw new TemplateRuntimeException(e.Message);
        }
        catch (InsufficientExecutionStackException)
        {
            throw new TemplateLimitException("Template evaluation nested too deeply for the stack.");
        }
    }

    /// <summary>
    /// Renders a conversation with the variables transformers' apply_chat_template passes: <c>messages</c>,
    /// <c>tools</c> (null when none), <c>add_generation_prompt</c>, <c>bos_token</c> and <c>eos_token</c> (when given), plus
    /// <paramref name="extraVariables"/> such as <c>enable_thinking</c> or <c>thinking</c>.
    /// </summary>
    /// <param name="messages">OpenAI-style messages: dictionaries with role, content, and optionally reasoning_content, tool_calls, tool_call_id.</param>
    public string Render(IReadOnlyList<object?> messages, IReadOnlyList<object?>? tools = null, bool addGenerationPrompt = false,
        string? bosToken = null, string? eosToken = null, IReadOnlyDictionary<string, object?>? extraVariables = null) =>
        Render(ChatVariables(messages, tools, addGenerationPrompt, bosToken, eosToken, extraVariables));

    /// <summary>The variable set <see cref="Render(IReadOnlyList{object?}, IReadOnlyList{object?}?, bool, string?, string?, IReadOnlyDictionary{string, object?}?)"/> renders with.</summary>
    public static IReadOnlyDictionary<string, object?> ChatVariables(IReadOnlyList<object?> messages, IReadOnlyList<object?>? tools = null,
        bool addGenerationPrompt = false, string? bosToken = null, string? eosToken = null, IReadOnlyDictionary<string, object?>? extraVariables = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var variables = new OrderedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["messages"] = messages,
            ["tools"] = tools,
            ["add_generation_prompt"] = addGenerationPrompt,
        };
        // transformers passes only the special tokens the tokenizer defines.
        if (bosToken != null) variables["bos_token"] = bosToken;
        if (eosToken != null) variables["eos_token"] = eosToken;
        if (extraVariables != null)
            foreach (var (key, value) in extraVariables) variables[key] = value;
        return variables;
    }

    /// <summary>Parses JSON (messages, tools, a variables object) into the value model, keeping object key order.</summary>
    /// <exception cref="JsonException">The text is not valid JSON.</exception>
    public static object? FromJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        return ValueConversion.FromJson(document.RootElement);
    }

    /// <summary>Converts a JSON element into the value model: objects become ordered <c>IReadOnlyDictionary&lt;string, object?&gt;</c>, arrays <c>IReadOnlyList&lt;object?&gt;</c>, integers long, other numbers double.</summary>
    public static object? FromJson(JsonElement element) => ValueConversion.FromJson(element);
}
