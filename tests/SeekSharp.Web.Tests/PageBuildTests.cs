using System.Diagnostics;

namespace SeekSharp.Web.Tests;

/// <summary>The page the server embeds (src/SeekSharp.Server/App/wwwroot, committed) is what web/build.mjs builds from
/// web/src with the versions web/package-lock.json pins: no hand edits, nothing stale.</summary>
public sealed class PageBuildTests
{
    [Fact]
    public async Task CommittedPageEqualsAFreshBuild()
    {
        string web = Path.Combine(Paths.RepoRoot, "web");
        Assert.True(Directory.Exists(Path.Combine(web, "node_modules", "esbuild")),
            "web/node_modules is missing: run npm ci in web/ (scripts/test.sh and .ci/run do)");
        var start = new ProcessStartInfo("node") { WorkingDirectory = web, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("build.mjs");
        start.ArgumentList.Add("--check");
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, await stderr + await stdout);
        Assert.Contains("equal a fresh build", await stdout);
    }

    [Fact]
    public void TheServerEmbedsEveryBuiltFile()
    {
        string root = Path.Combine(Paths.RepoRoot, "src", "SeekSharp.Server", "App", "wwwroot");
        var built = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Where(f => !f.EndsWith(".LEGAL.txt", StringComparison.Ordinal)).Order().ToList();
        Assert.Equal(built, SeekSharp.Server.App.AppAssets.Instance.Paths.Order().ToList());
        Assert.True(SeekSharp.Server.App.AppAssets.Instance.HasPage);
    }
}
