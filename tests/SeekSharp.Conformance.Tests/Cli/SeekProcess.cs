using System.Diagnostics;
using System.Text;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary>Runs the built <c>seek</c> command (copied next to the tests) as a separate process, as a user would.</summary>
internal static class SeekProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args) => RunWithInput("", args);

    /// <summary>Runs seek with <paramref name="stdin"/> piped to its standard input (then closed).</summary>
    public static Result RunWithInput(string stdin, params string[] args) =>
        Start(stdin, null, Path.Combine(AppContext.BaseDirectory, "seek.dll"), args);

    /// <summary>Runs the seek app at <paramref name="seekDll"/> with <paramref name="workingDirectory"/> as current directory.</summary>
    public static Result RunIn(string workingDirectory, string seekDll, params string[] args) => Start("", workingDirectory, seekDll, args);

    static Result Start(string stdin, string? workingDirectory, string seekDll, string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory ?? "",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(seekDll);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"seek {string.Join(' ', args)} did not finish in 2 minutes");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
