using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using SeekSharp.Cli.Commands;

namespace SeekSharp.Cli;

/// <summary>The <c>seek</c> command line.</summary>
public static class Program
{
    /// <summary>Exit code of a command line that does not parse (unknown flag, missing or malformed value), as getopt tools use.</summary>
    public const int ExitUsage = 2;

    /// <summary>Entry point; also called in-process by tests with redirected console writers.</summary>
    public static int Main(string[] args)
    {
        var root = new RootCommand("SeekSharp: run, inspect and evaluate GGUF language models in pure C#.")
        {
            InfoCommand.Create(),
            TokenizeCommand.Create(),
            RunCommand.Create(),
            PerplexityCommand.Create(),
            ChatCommand.Create(),
            TemplateCommand.Create(),
            BenchCommand.Create(),
            QuantizeCommand.Create(),
            ConvertCommand.Create(),
            ImatrixCommand.Create(),
            TrainCommand.Create(),
            EvalCommand.Create(),
            ServeCommand.Create(),
            PullCommand.Create(),
            ListCommand.Create(),
            ShowCommand.Create(),
            RemoveCommand.Create(),
        };
        // Each command's action runs inside Common.Guard; this outer Guard catches what escapes parsing and invocation
        // themselves, so no path ends in .NET's unhandled-exception stack trace (exit 134).
        return Common.Guard(() =>
        {
            var parse = root.Parse(args);
            // System.CommandLine's own error action prints the errors and then the whole help (~1.8 KB) on stdout; the
            // README promises one line on stderr. --help and --version clear parse errors, so they still print as before.
            if (parse.Action is ParseErrorAction)
            {
                Console.Error.WriteLine($"seek: {DescribeParseError(parse)} (see {CommandPath(parse.CommandResult)} --help)");
                return ExitUsage;
            }
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = Console.Out, Error = Console.Error });
        });
    }

    /// <summary>The first problem of a command line that did not parse, in one line without .NET type names.</summary>
    internal static string DescribeParseError(ParseResult parse)
    {
        // Unknown words first: "--foo" makes System.CommandLine also report that --prompt is missing, which is noise.
        if (parse.UnmatchedTokens.Count > 0)
        {
            string token = parse.UnmatchedTokens[0];
            if (token.Length > 1 && token[0] == '-' && !double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                return $"unknown option '{token}'";
            return parse.CommandResult.Command.Subcommands.Count > 0 && parse.CommandResult.Command.Arguments.Count == 0
                ? $"unknown command '{token}'"
                : $"unexpected argument '{token}'";
        }
        var error = parse.Errors[0];
        var option = error.SymbolResult switch
        {
            OptionResult o => o,
            ArgumentResult { Parent: OptionResult o } => o,
            _ => null,
        };
        if (option is not null)
        {
            string name = option.IdentifierToken?.Value ?? option.Option.Name;
            if (option.IdentifierToken is null)
                return $"option '{name}' is required";
            if (option.Tokens.Count == 0)
                return $"option '{name}' needs a value";
            string value = option.Tokens[0].Value;
            var type = Nullable.GetUnderlyingType(option.Option.ValueType) ?? option.Option.ValueType;
            if (Expected(type) is { } expected && !Parses(type, value))
                return $"{name} expects {expected}, got '{value}'";
            // AcceptOnlyFromAmong words it "Argument 'x' not recognized. Must be one of:" with one quoted value per line.
            const string OneOf = "Must be one of:";
            int list = error.Message.IndexOf(OneOf, StringComparison.Ordinal);
            if (list >= 0)
            {
                var values = System.Text.RegularExpressions.Regex.Matches(error.Message[(list + OneOf.Length)..], "'([^']*)'").Select(m => m.Groups[1].Value);
                return $"{name} expects one of {string.Join(", ", values)}, got '{value}'";
            }
        }
        if (error.SymbolResult is CommandResult or ArgumentResult { Parent: CommandResult })
        {
            var command = parse.CommandResult;
            var missing = command.Command.Arguments
                .Where(a => a.Arity.MinimumNumberOfValues > 0 && command.GetResult(a) is null or { Tokens.Count: 0 }).ToList();
            if (missing.Count > 0)
                return $"missing argument{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Select(a => a.Name.ToUpperInvariant()))}";
            if (command.Command.Subcommands.Count > 0 && error.Message.StartsWith("Required command", StringComparison.Ordinal))
                return "no command given";
        }
        // Anything else in System.CommandLine's words, made one lower-case line ("Option '--task' is required.").
        string message = Common.OneLine(error.Message).TrimEnd('.');
        return message.Length > 1 ? char.ToLowerInvariant(message[0]) + message[1..] : message;
    }

    /// <summary>What a value of <paramref name="type"/> looks like, for the types whose parse failures are worth rewording.</summary>
    private static string? Expected(Type type) =>
        type == typeof(int) || type == typeof(long) || type == typeof(uint) || type == typeof(ulong) ? "a whole number"
        : type == typeof(float) || type == typeof(double) ? "a number"
        : type == typeof(bool) ? "true or false"
        : type.IsEnum ? "one of " + string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant()))
        : null;

    private static bool Parses(Type type, string value)
    {
        var inv = CultureInfo.InvariantCulture;
        if (type == typeof(int)) return int.TryParse(value, NumberStyles.Integer, inv, out _);
        if (type == typeof(long)) return long.TryParse(value, NumberStyles.Integer, inv, out _);
        if (type == typeof(uint)) return uint.TryParse(value, NumberStyles.Integer, inv, out _);
        if (type == typeof(ulong)) return ulong.TryParse(value, NumberStyles.Integer, inv, out _);
        if (type == typeof(float)) return float.TryParse(value, NumberStyles.Float, inv, out _);
        if (type == typeof(double)) return double.TryParse(value, NumberStyles.Float, inv, out _);
        if (type == typeof(bool)) return bool.TryParse(value, out _);
        if (type.IsEnum) return Enum.TryParse(type, value, ignoreCase: true, out _);
        return true;
    }

    /// <summary>"seek run", "seek train sft": the command whose --help explains what went wrong.</summary>
    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is not null; r = r.Parent)
            if (r is CommandResult c) names.Add(c.Command is RootCommand ? "seek" : c.Command.Name);
        names.Reverse();
        return string.Join(' ', names);
    }
}
