namespace SeekSharp.Chat.Templates;

/// <summary>Base of every error a chat template can raise while being parsed or rendered.</summary>
public abstract class TemplateException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected TemplateException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>The template text is not valid Jinja (as @huggingface/jinja parses it).</summary>
public sealed class TemplateSyntaxException : TemplateException
{
    /// <summary>1-based line of the offending character in the original template source.</summary>
    public int Line { get; }

    /// <summary>1-based column (UTF-16 code units) of the offending character.</summary>
    public int Column { get; }

    /// <summary>Creates the exception; the message gets the position appended.</summary>
    public TemplateSyntaxException(string message, int line, int column)
        : base($"{message} (line {line}, column {column})")
    {
        Line = line;
        Column = column;
    }
}

/// <summary>Rendering failed: a type error, an unknown filter or test, a bad call, or <c>raise_exception</c>.</summary>
public class TemplateRuntimeException : TemplateException
{
    /// <summary>Creates the exception.</summary>
    public TemplateRuntimeException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>The template itself called <c>raise_exception(message)</c>; <see cref="Exception.Message"/> is its text.</summary>
public sealed class TemplateRaisedException : TemplateRuntimeException
{
    /// <summary>Creates the exception.</summary>
    public TemplateRaisedException(string message) : base(message) { }
}

/// <summary>A resource limit of <see cref="TemplateLimits"/> was hit (loop iterations, recursion, string or list size, total allocation).</summary>
public sealed class TemplateLimitException : TemplateException
{
    /// <summary>Creates the exception.</summary>
    public TemplateLimitException(string message) : base(message) { }
}
