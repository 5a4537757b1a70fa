using System.Text.RegularExpressions;

namespace SeekSharp.Store;

/// <summary>Where a model name points.</summary>
public enum ModelSourceKind
{
    /// <summary>A short name such as <c>deepseek-r1:1.5b</c>, looked up in <see cref="ModelAliases"/>.</summary>
    Alias,
    /// <summary><c>hf://owner/repo[@revision]/path/file.gguf</c>: one file of a Hugging Face repository.</summary>
    HuggingFaceFile,
    /// <summary><c>hf://owner/repo[@revision][/folder]</c>: the files a model needs from a Hugging Face repository folder.</summary>
    HuggingFaceFolder,
    /// <summary><c>ollama://[namespace/]name[:tag]</c>: a model of an Ollama registry (namespace <c>library</c>, tag <c>latest</c> by default).</summary>
    Ollama,
    /// <summary>An <c>http://</c> or <c>https://</c> address of one file.</summary>
    Url,
}

/// <summary>
/// A parsed model name: what <c>seek pull</c> fetches and what the store files it under (<see cref="Canonical"/>).
/// </summary>
/// <remarks>
/// Syntax: <c>NAME:TAG</c> (an alias), <c>hf://owner/repo[@rev][/path]</c> (a path ending in <c>.gguf</c> is one file,
/// any other path or none a folder), <c>ollama://[ns/]name[:tag]</c>, or an http(s) URL. Two spellings of one model
/// (<c>ollama://deepseek-r1:7b</c> and <c>ollama://library/deepseek-r1:7b</c>) have one canonical form.
/// </remarks>
public sealed partial record ModelName
{
    private ModelName(ModelSourceKind kind, string canonical)
    {
        Kind = kind;
        Canonical = canonical;
    }

    /// <summary>What kind of source the name points to.</summary>
    public ModelSourceKind Kind { get; }

    /// <summary>The one spelling of the name that the store files the model under.</summary>
    public string Canonical { get; }

    /// <summary>Hugging Face repository (<c>owner/repo</c>); Ollama <c>namespace/name</c>; null otherwise.</summary>
    public string? Repository { get; private init; }

    /// <summary>Hugging Face revision (branch, tag or commit; <c>main</c> by default) or Ollama tag; null otherwise.</summary>
    public string? Revision { get; private init; }

    /// <summary>Path inside a Hugging Face repository (a file, or the folder, empty for the root); null otherwise.</summary>
    public string? PathInRepository { get; private init; }

    /// <summary>The address of a URL name; null otherwise.</summary>
    public Uri? Url { get; private init; }

    /// <inheritdoc/>
    public override string ToString() => Canonical;

    /// <summary>Parses <paramref name="text"/>.</summary>
    /// <exception cref="ArgumentException">Not a model name; the message shows the accepted forms.</exception>
    public static ModelName Parse(string text) =>
        TryParse(text, out var name, out string? error) ? name : throw new ArgumentException(error);

    /// <summary>Parses <paramref name="text"/>, or explains in <paramref name="error"/> why it is not a model name.</summary>
    public static bool TryParse(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ModelName? name, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        name = null;
        error = null;
        string t = text.Trim();
        if (t.StartsWith("hf://", StringComparison.OrdinalIgnoreCase))
            return ParseHuggingFace(t["hf://".Length..], out name, out error);
        if (t.StartsWith("ollama://", StringComparison.OrdinalIgnoreCase))
            return ParseOllama(t["ollama://".Length..], out name, out error);
        if (t.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || t.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(t, UriKind.Absolute, out var url) || url.AbsolutePath.TrimEnd('/').Length == 0)
            {
                error = $"'{text}' is not a URL of a file";
                return false;
            }
            name = new ModelName(ModelSourceKind.Url, url.AbsoluteUri) { Url = url };
            return true;
        }
        if (AliasSyntax().IsMatch(t))
        {
            name = new ModelName(ModelSourceKind.Alias, t.ToLowerInvariant());
            return true;
        }
        error = $"'{text}' is not a model name: expected NAME:TAG (e.g. deepseek-r1:1.5b), hf://OWNER/REPO[/FILE.gguf], " +
                "ollama://[NAMESPACE/]NAME[:TAG] or an https:// URL";
        return false;
    }

    /// <summary>True when <paramref name="text"/> reads as a model name rather than a file path (a scheme, or <c>NAME:TAG</c>).</summary>
    public static bool LooksLikeName(string text) => TryParse(text, out _, out _);

    private static bool ParseHuggingFace(string rest, out ModelName? name, out string? error)
    {
        name = null;
        error = null;
        string[] parts = rest.Split('/');
        if (parts.Length < 2 || !RepoPart().IsMatch(parts[0]) || parts[1].Length == 0)
        {
            error = $"'hf://{rest}' does not name a repository: expected hf://OWNER/REPO[@REVISION][/PATH]";
            return false;
        }
        string repoName = parts[1], revision = "main";
        int at = repoName.IndexOf('@');
        if (at >= 0)
        {
            revision = Uri.UnescapeDataString(repoName[(at + 1)..]);
            repoName = repoName[..at];
        }
        if (!RepoPart().IsMatch(repoName) || revision.Length == 0)
        {
            error = $"'hf://{rest}' does not name a repository: expected hf://OWNER/REPO[@REVISION][/PATH]";
            return false;
        }
        string repo = $"{parts[0]}/{repoName}";
        string path = string.Join('/', parts[2..]).Trim('/');
        if (path.Split('/').Any(p => p is "." or ".."))
        {
            error = $"'hf://{rest}': a path inside a repository cannot contain '.' or '..'";
            return false;
        }
        bool file = path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase);
        string canonical = $"hf://{repo}{(revision == "main" ? "" : "@" + revision)}{(path.Length > 0 ? "/" + path : "")}";
        name = new ModelName(file ? ModelSourceKind.HuggingFaceFile : ModelSourceKind.HuggingFaceFolder, canonical)
        {
            Repository = repo, Revision = revision, PathInRepository = path,
        };
        return true;
    }

    private static bool ParseOllama(string rest, out ModelName? name, out string? error)
    {
        name = null;
        error = null;
        string tag = "latest";
        int colon = rest.LastIndexOf(':');
        if (colon >= 0)
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
        }
        string[] parts = rest.Split('/');
        if (parts.Length == 1) parts = ["library", parts[0]];
        if (parts.Length != 2 || !parts.All(p => OllamaPart().IsMatch(p)) || !OllamaPart().IsMatch(tag))
        {
            error = $"'ollama://{rest}' is not an Ollama model name: expected ollama://[NAMESPACE/]NAME[:TAG], e.g. ollama://deepseek-r1:1.5b";
            return false;
        }
        string repo = $"{parts[0].ToLowerInvariant()}/{parts[1].ToLowerInvariant()}";
        name = new ModelName(ModelSourceKind.Ollama, $"ollama://{repo}:{tag}") { Repository = repo, Revision = tag };
        return true;
    }

    /// <summary>An alias: lower-case name, a colon, a tag (<c>deepseek-r1:1.5b</c>); nothing that could be a path.</summary>
    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]*:[a-z0-9][a-z0-9._-]*$", RegexOptions.IgnoreCase)]
    private static partial Regex AliasSyntax();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex RepoPart();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex OllamaPart();
}
