using System.CommandLine;
using SeekSharp.Cli.Commands;

namespace SeekSharp.Cli;

/// <summary>The <c>seek</c> command line.</summary>
public static class Program
{
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
            TrainCommand.Create(),
            EvalCommand.Create(),
        };
        // Each command's action runs inside Common.Guard; this outer Guard catches what escapes parsing and invocation
        // themselves, so no path ends in .NET's unhandled-exception stack trace (exit 134).
        return Common.Guard(() =>
        {
            var parse = root.Parse(args);
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = Console.Out, Error = Console.Error });
        });
    }
}
