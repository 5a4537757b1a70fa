using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace SeekSharp.Server.App;

/// <summary>
/// The chat page and its assets, built from web/ (see web/README.md) and embedded in this assembly, so that
/// <c>seek serve</c> serves the page with nothing else installed and nothing fetched from elsewhere. Each file is
/// compressed once at startup (Brotli and gzip, served by the request's Accept-Encoding) and carries a strong ETag,
/// so a reload costs a 304 per file.
/// </summary>
internal sealed class AppAssets
{
    const string Prefix = "wwwroot/";

    readonly Dictionary<string, Asset> _files = new(StringComparer.Ordinal);

    // Brotli and Gzip are null for files that are compressed already (fonts, images).
    sealed record Asset(string ContentType, byte[] Raw, byte[]? Brotli, byte[]? Gzip, string ETag);

    AppAssets()
    {
        var assembly = typeof(AppAssets).Assembly;
        foreach (string name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var s = assembly.GetManifestResourceStream(name)!;
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            byte[] raw = ms.ToArray();
            string path = name[Prefix.Length..].Replace('\\', '/');
            string type = ContentType(path);
            bool text = type.StartsWith("text/", StringComparison.Ordinal) || type is "image/svg+xml" or "application/json";
            _files[path] = new Asset(type, raw, text ? Compress(raw, brotli: true) : null, text ? Compress(raw, brotli: false) : null,
                "\"" + Convert.ToHexStringLower(SHA256.HashData(raw))[..24] + "\"");
        }
    }

    static AppAssets? s_instance;

    /// <summary>The embedded files, read and compressed on first use.</summary>
    public static AppAssets Instance => s_instance ??= new AppAssets();

    /// <summary>Whether the build embedded the page (a build without web/'s output serves the APIs only).</summary>
    public bool HasPage => _files.ContainsKey("index.html");

    /// <summary>Relative paths of the embedded files.</summary>
    public IEnumerable<string> Paths => _files.Keys;

    public static void Map(WebApplication app)
    {
        // Read and compress the files as the server starts, not on the first visitor's request.
        app.Lifetime.ApplicationStarted.Register(() => Task.Run(() => Instance));
        // GET / is also Ollama's liveness probe: clients that do not ask for HTML (Ollama's libraries, curl) get its
        // "Ollama is running"; browsers, which send Accept: text/html, get the chat page.
        app.MapMethods("/", ["GET", "HEAD"], (HttpContext http) =>
            WantsHtml(http.Request) && Instance.HasPage
                ? Instance.Serve(http, "index.html")
                : Results.Text("Ollama is running", "text/plain").ExecuteAsync(http));
        app.MapMethods("/assets/{**path}", ["GET", "HEAD"], (HttpContext http, string path) => Instance.Serve(http, "assets/" + path));
        app.MapMethods("/favicon.svg", ["GET", "HEAD"], (HttpContext http) => Instance.Serve(http, "favicon.svg"));
    }

    static bool WantsHtml(HttpRequest request) =>
        request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);

    Task Serve(HttpContext http, string path)
    {
        if (!_files.TryGetValue(path, out var asset))
        {
            http.Response.StatusCode = 404;
            return Task.CompletedTask;
        }
        var response = http.Response;
        response.Headers.ETag = asset.ETag;
        // Revalidate every time: files keep their names across builds, and a 304 costs one round trip on loopback.
        response.Headers.CacheControl = "no-cache";
        response.Headers.Vary = "Accept-Encoding";
        response.Headers["X-Content-Type-Options"] = "nosniff";
        if (path == "index.html")
        {
            // The page loads nothing from elsewhere, runs no inline script, and may not be framed.
            response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
            response.Headers["Referrer-Policy"] = "no-referrer";
        }
        if (http.Request.Headers.IfNoneMatch.ToString() is { Length: > 0 } tags && tags.Split(',').Any(t => t.Trim() == asset.ETag))
        {
            response.StatusCode = 304;
            return Task.CompletedTask;
        }
        response.ContentType = asset.ContentType;
        string accept = http.Request.Headers.AcceptEncoding.ToString();
        byte[] body = asset.Raw;
        if (asset.Brotli is { } br && Accepts(accept, "br")) { body = br; response.Headers.ContentEncoding = "br"; }
        else if (asset.Gzip is { } gz && Accepts(accept, "gzip")) { body = gz; response.Headers.ContentEncoding = "gzip"; }
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(http.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body).AsTask();
    }

    static bool Accepts(string header, string coding) =>
        header.Split(',').Select(p => p.Trim()).Any(p => p.Equals(coding, StringComparison.OrdinalIgnoreCase)
            || (p.StartsWith(coding + ";", StringComparison.OrdinalIgnoreCase) && !p.Replace(" ", "").EndsWith("q=0", StringComparison.Ordinal)));

    static byte[] Compress(byte[] raw, bool brotli)
    {
        using var ms = new MemoryStream();
        // Optimal, not SmallestSize: Brotli's top quality took over a second for the 450 KB script, for 10 % fewer bytes.
        using (Stream z = brotli ? new BrotliStream(ms, CompressionLevel.Optimal) : new GZipStream(ms, CompressionLevel.Optimal))
            z.Write(raw);
        return ms.ToArray();
    }

    static string ContentType(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".woff2" => "font/woff2",
        ".woff" => "font/woff",
        ".ttf" => "font/ttf",
        ".json" => "application/json",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };
}
