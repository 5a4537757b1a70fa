using Microsoft.Playwright;

namespace SeekSharp.Web.Tests;

/// <summary>
/// One headless Chromium (Debian's, at /usr/bin/chromium, driven by Playwright; .ci/run installs it) and one server with
/// a fresh chat database, shared by the browser tests. Tests that need an empty database or another server start
/// their own <see cref="AppServer"/>.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public AppServer Server { get; private set; } = null!;
    public string Folder { get; } = Directory.CreateTempSubdirectory("seek-web-").FullName;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"{ChromiumPath} is missing: the browser tests need Debian's chromium package (apt-get install chromium; .ci/run installs it)");
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // As root (CI containers) Chromium refuses to start with its sandbox.
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
        Server = await AppServer.StartAsync(Path.Combine(Folder, "chats.db"));
    }

    /// <summary>A new page at the server's root, light colour scheme unless asked, desktop size unless asked.</summary>
    public async Task<IPage> OpenAsync(AppServer? server = null, ColorScheme scheme = ColorScheme.Light, int width = 1200, int height = 800, bool waitReady = true)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ColorScheme = scheme,
            ViewportSize = new ViewportSize { Width = width, Height = height },
            AcceptDownloads = true,
        });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();   // confirm() of Delete
        await page.GotoAsync((server ?? Server).BaseAddress.ToString());
        if (waitReady) await page.WaitForSelectorAsync("body[data-ready='true']");
        return page;
    }

    public async Task DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
        if (Browser is not null) await Browser.DisposeAsync();
        Playwright?.Dispose();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
