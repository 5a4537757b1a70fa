using System.Security.Cryptography;
using System.Text;
using SeekSharp.Store;

namespace SeekSharp.Tests.Store;

/// <summary>Pulls from a fake Hugging Face Hub, CDN and Ollama registry on loopback into a store in a temporary folder.</summary>
public sealed class ModelPullerTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seek-store-").FullName;
    private readonly LoopbackServer _hub = new();
    private readonly LoopbackServer _cdn = new();
    private readonly ModelStore _store;

    public ModelPullerTests() => _store = new ModelStore(Path.Combine(_dir, "models"));

    public Task InitializeAsync() => Task.CompletedTask;

    // xUnit 2 calls IAsyncLifetime.DisposeAsync, not IAsyncDisposable's: the temporary folder is deleted here.
    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        await _cdn.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private StoreEndpoints Endpoints => new() { HuggingFace = _hub.BaseUrl, HuggingFaceToken = "hf_test", OllamaRegistry = _hub.BaseUrl };

    private static readonly DownloadOptions Fast = new() { MaxRetries = 1, RetryDelay = TimeSpan.FromMilliseconds(10), StallTimeout = TimeSpan.FromSeconds(3) };

    private ModelPuller Puller(ModelAliases? aliases = null) => new(_store, Endpoints, Fast, aliases);

    private static byte[] Gguf(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        "GGUF"u8.CopyTo(data);
        return data;
    }

    private static string Sha(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>An LFS file as the Hub serves it: the resolve address answers with the hash and size, then redirects to the CDN.</summary>
    private void ServeLfs(string repo, string path, byte[] data, string? publishedSha = null)
    {
        string blob = $"/blobs/{Sha(data)}";
        _cdn.Serve(blob, data);
        var resolve = _hub.Serve($"/{repo}/resolve/main/{path}", []);
        resolve.RedirectTo = _cdn.Url(blob).ToString();
        resolve.Headers["X-Linked-Etag"] = $"\"{publishedSha ?? Sha(data)}\"";
        resolve.Headers["X-Linked-Size"] = data.Length.ToString();
    }

    private static ModelAliases Aliases => ModelAliases.Parse("""{"aliases":{"tiny-r1:1b":{"repo":"acme/Tiny-R1-GGUF","file":"Tiny-R1-Q4_K_M.gguf"}}}""");

    [Fact]
    public async Task An_alias_pulls_its_hub_file_verified_against_the_published_hash_and_sends_the_token_only_to_the_hub()
    {
        byte[] data = Gguf(300_000, 1);
        ServeLfs("acme/Tiny-R1-GGUF", "Tiny-R1-Q4_K_M.gguf", data);
        using var puller = Puller(Aliases);

        var model = await puller.PullAsync(ModelName.Parse("tiny-r1:1b"));

        Assert.Equal("tiny-r1:1b", model.Manifest.Name);
        Assert.Equal(ModelStore.FormatGguf, model.Manifest.Format);
        var file = Assert.Single(model.Manifest.Files);
        Assert.Equal(new ModelFile("Tiny-R1-Q4_K_M.gguf", data.Length, Sha(data), Verified: true), file);
        Assert.Equal(data, File.ReadAllBytes(model.ModelPath));
        Assert.Equal(model.ModelPath, _store.Locate("tiny-r1:1b"));
        Assert.StartsWith(_hub.BaseUrl.ToString(), model.Manifest.Source);

        Assert.NotEmpty(_hub.Requests);
        Assert.All(_hub.Requests, r => Assert.Equal("Bearer hf_test", r.Header("authorization")));
        Assert.NotEmpty(_cdn.Requests);
        Assert.All(_cdn.Requests, r => Assert.Null(r.Header("authorization")));
    }

    [Fact]
    public async Task A_file_that_does_not_match_the_published_hash_leaves_no_model()
    {
        byte[] data = Gguf(50_000, 2);
        ServeLfs("acme/Tiny-R1-GGUF", "Tiny-R1-Q4_K_M.gguf", data, publishedSha: Sha(Gguf(50_000, 3)));
        using var puller = Puller(Aliases);

        var e = await Assert.ThrowsAsync<DownloadException>(() => puller.PullAsync(ModelName.Parse("tiny-r1:1b")));

        Assert.Contains("Tiny-R1-Q4_K_M.gguf: SHA-256 mismatch", e.Message);
        Assert.Empty(_store.List());
        Assert.Empty(Directory.GetFiles(_store.Root, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Pulling_again_downloads_nothing_when_the_source_is_unchanged()
    {
        byte[] data = Gguf(40_000, 4);
        ServeLfs("acme/Tiny-R1-GGUF", "Tiny-R1-Q4_K_M.gguf", data);
        using var puller = Puller(Aliases);
        await puller.PullAsync(ModelName.Parse("tiny-r1:1b"));
        int cdnRequests = _cdn.Requests.Count;

        var again = await puller.PullAsync(ModelName.Parse("tiny-r1:1b"));

        Assert.Equal(cdnRequests, _cdn.Requests.Count);
        Assert.Equal(Sha(data), again.Manifest.Files[0].Sha256);
    }

    [Fact]
    public async Task An_unknown_alias_names_the_known_ones()
    {
        using var puller = Puller(Aliases);

        var e = await Assert.ThrowsAsync<ArgumentException>(() => puller.PullAsync(ModelName.Parse("tiny-r1:70b")));

        Assert.Contains("unknown model 'tiny-r1:70b'", e.Message);
        Assert.Contains("tiny-r1:1b", e.Message);
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public async Task A_missing_hub_file_is_a_clear_404()
    {
        using var puller = Puller();

        var e = await Assert.ThrowsAsync<DownloadException>(() => puller.PullAsync(ModelName.Parse("hf://acme/none/missing.gguf")));

        Assert.Contains("hf://acme/none/missing.gguf", e.Message);
        Assert.Contains("404", e.Message);
        Assert.Empty(_store.List());
    }

    /// <summary>A Hub folder: two LFS shards, an index, config and tokenizer kept in git, and files a model does not need.</summary>
    private (byte[] Config, byte[] Shard2) ServeFolder(string repo)
    {
        byte[] config = Encoding.UTF8.GetBytes("""{"architectures":["Qwen2ForCausalLM"]}""");
        byte[] tokenizer = Encoding.UTF8.GetBytes("""{"model":{"type":"BPE"}}""");
        byte[] shard1 = Gguf(30_000, 5), shard2 = Gguf(20_000, 6), index = Encoding.UTF8.GetBytes("""{"weight_map":{}}""");
        foreach (var (path, bytes) in new[] { ("config.json", config), ("tokenizer.json", tokenizer), ("model.safetensors.index.json", index), ("README.md", "# hi"u8.ToArray()) })
            _hub.Serve($"/{repo}/resolve/main/{path}", bytes, "text/plain");
        ServeLfs(repo, "model-00001-of-00002.safetensors", shard1);
        ServeLfs(repo, "model-00002-of-00002.safetensors", shard2);
        // The tree API's entries: files kept in git have only a git oid, LFS files their SHA-256 as lfs.oid.
        _hub.ServeJson($"/api/models/{repo}/tree/main", $$"""
            [
              {"type":"file","oid":"1111111111111111111111111111111111111111","size":{{config.Length}},"path":"config.json"},
              {"type":"file","oid":"2222222222222222222222222222222222222222","size":{{tokenizer.Length}},"path":"tokenizer.json"},
              {"type":"file","oid":"3333333333333333333333333333333333333333","size":{{index.Length}},"path":"model.safetensors.index.json"},
              {"type":"file","oid":"4444444444444444444444444444444444444444","size":4,"path":"README.md"},
              {"type":"directory","oid":"5555555555555555555555555555555555555555","size":0,"path":"original"},
              {"type":"file","oid":"6666666666666666666666666666666666666666","size":{{shard1.Length}},"path":"model-00001-of-00002.safetensors",
               "lfs":{"oid":"{{Sha(shard1)}}","size":{{shard1.Length}},"pointerSize":135} },
              {"type":"file","oid":"7777777777777777777777777777777777777777","size":{{shard2.Length}},"path":"model-00002-of-00002.safetensors",
               "lfs":{"oid":"{{Sha(shard2)}}","size":{{shard2.Length}},"pointerSize":135} }
            ]
            """);
        return (config, shard2);
    }

    [Fact]
    public async Task A_hub_folder_pull_lists_the_tree_and_fetches_only_the_model_files()
    {
        const string repo = "acme/Tiny-R1";
        var (config, shard2) = ServeFolder(repo);
        using var puller = Puller();

        var model = await puller.PullAsync(ModelName.Parse($"hf://{repo}"));

        Assert.Equal(ModelStore.FormatSafetensors, model.Manifest.Format);
        Assert.Equal(model.Folder, model.ModelPath);
        Assert.Equal(["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json", "tokenizer.json"],
                     model.Manifest.Files.Select(f => f.Path).Order());
        Assert.Empty(_hub.RequestsFor($"/{repo}/resolve/main/README.md"));
        Assert.Equal(shard2, File.ReadAllBytes(Path.Combine(model.Folder, "model-00002-of-00002.safetensors")));
        Assert.Equal(config, File.ReadAllBytes(Path.Combine(model.Folder, "config.json")));
        Assert.All(model.Manifest.Files, f => Assert.Equal(f.Path.EndsWith(".safetensors"), f.Verified));
        Assert.Equal(Sha(config), model.Manifest.Files.Single(f => f.Path == "config.json").Sha256);
    }

    [Fact]
    public async Task A_folder_that_cannot_fit_fails_before_its_first_file()
    {
        ServeFolder("acme/Tiny-R1");
        using var puller = new ModelPuller(_store, Endpoints, Fast with { FreeSpace = _ => 40_000 }); // the shards need 50,000 bytes

        var e = await Assert.ThrowsAsync<IOException>(() => puller.PullAsync(ModelName.Parse("hf://acme/Tiny-R1")));

        Assert.Contains("not enough free disk space", e.Message);
        Assert.Empty(_cdn.Requests);
        Assert.DoesNotContain(_hub.Requests, r => r.Path.Contains("/resolve/"));
    }

    [Fact]
    public async Task A_folder_without_config_is_not_a_model()
    {
        _hub.ServeJson("/api/models/acme/Data/tree/main", """[{"type":"file","oid":"1","size":3,"path":"data.csv"}]""");
        using var puller = Puller();

        var e = await Assert.ThrowsAsync<DownloadException>(() => puller.PullAsync(ModelName.Parse("hf://acme/Data")));

        Assert.Contains("hf://acme/Data: not a model folder", e.Message);
    }

    [Theory]
    [InlineData("not json", "the Hub's file listing is not valid JSON")]
    [InlineData("{\"files\":[]}", "the Hub's file listing is not a JSON array")]
    [InlineData("[1, \"x\", {\"path\":5}, {\"type\":\"file\",\"path\":\"config.json\",\"size\":\"big\",\"lfs\":7}]", "it has no .safetensors file")]
    public async Task A_malformed_listing_is_a_clear_error(string listing, string expected)
    {
        _hub.ServeJson("/api/models/acme/Odd/tree/main", listing);
        using var puller = Puller();

        var e = await Assert.ThrowsAsync<DownloadException>(() => puller.PullAsync(ModelName.Parse("hf://acme/Odd")));

        Assert.Contains("hf://acme/Odd: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("<html>", "the registry's manifest is not valid JSON")]
    [InlineData("{\"layers\":{}}", "the registry's manifest has no layers")]
    [InlineData("{\"layers\":[3, {\"mediaType\":7}]}", "has no layer of type application/vnd.ollama.image.model")]
    [InlineData("{\"layers\":[{\"mediaType\":\"application/vnd.ollama.image.model\",\"digest\":\"md5:00\"}]}", "digest 'md5:00' is not sha256:HEX")]
    public async Task A_malformed_ollama_manifest_is_a_clear_error(string manifest, string expected)
    {
        _hub.ServeJson("/v2/library/odd/manifests/latest", manifest);
        using var puller = Puller();

        var e = await Assert.ThrowsAsync<DownloadException>(() => puller.PullAsync(ModelName.Parse("ollama://odd")));

        Assert.Contains("ollama://library/odd:latest: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public async Task An_ollama_name_pulls_the_model_layer_by_its_digest()
    {
        byte[] data = Gguf(120_000, 7);
        string digest = "sha256:" + Sha(data);
        _hub.ServeJson("/v2/library/deepseek-r1/manifests/1.5b", $$"""
            {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
             "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:{{new string('c', 64)}}","size":487},
             "layers":[
               {"mediaType":"application/vnd.ollama.image.template","digest":"sha256:{{new string('a', 64)}}","size":10},
               {"mediaType":"application/vnd.ollama.image.model","digest":"{{digest}}","size":{{data.Length}}},
               {"mediaType":"application/vnd.ollama.image.license","digest":"sha256:{{new string('b', 64)}}","size":10}]}
            """);
        _hub.Serve($"/v2/library/deepseek-r1/blobs/{digest}", []).RedirectTo = _cdn.Url("/ollama-blob").ToString();
        _cdn.Serve("/ollama-blob", data);
        using var puller = new ModelPuller(_store, Endpoints with { HuggingFace = new Uri("http://hub.invalid") }, Fast);

        var model = await puller.PullAsync(ModelName.Parse("ollama://deepseek-r1:1.5b"));

        Assert.Equal("ollama://library/deepseek-r1:1.5b", model.Manifest.Name);
        Assert.Equal(new ModelFile("deepseek-r1-1.5b.gguf", data.Length, Sha(data), Verified: true), Assert.Single(model.Manifest.Files));
        Assert.Equal("application/vnd.docker.distribution.manifest.v2+json", _hub.RequestsFor("/v2/library/deepseek-r1/manifests/1.5b")[0].Header("accept"));
        Assert.All(_hub.Requests.Concat(_cdn.Requests), r => Assert.Null(r.Header("authorization"))); // the Hub token is not the registry's
        Assert.Equal(model.ModelPath, _store.Locate("ollama://library/deepseek-r1:1.5b"));
    }

    [Fact]
    public async Task A_plain_url_is_fetched_without_credentials_and_hashed_after_the_download()
    {
        byte[] data = Gguf(10_000, 8);
        _cdn.Serve("/files/tiny.gguf", data);
        using var puller = Puller();

        var model = await puller.PullAsync(ModelName.Parse(_cdn.Url("/files/tiny.gguf").ToString()));

        Assert.Equal(new ModelFile("tiny.gguf", data.Length, Sha(data), Verified: false), Assert.Single(model.Manifest.Files));
        Assert.All(_cdn.Requests, r => Assert.Null(r.Header("authorization")));
    }

    [Fact]
    public async Task List_find_locate_and_remove_work_on_the_store_folder()
    {
        byte[] a = Gguf(1000, 9), b = Gguf(2000, 10);
        _cdn.Serve("/b.gguf", b);
        _cdn.Serve("/a.gguf", a);
        using var puller = Puller();
        var nameA = ModelName.Parse(_cdn.Url("/a.gguf").ToString());
        var nameB = ModelName.Parse(_cdn.Url("/b.gguf").ToString());
        await puller.PullAsync(nameB);
        await puller.PullAsync(nameA);

        Assert.Equal([nameA.Canonical, nameB.Canonical], _store.List().Select(m => m.Manifest.Name));
        Assert.Equal(2000, _store.Find(nameB)!.Manifest.Size);

        Assert.True(_store.Remove(nameA));
        Assert.False(Directory.Exists(_store.FolderFor(nameA)));
        Assert.False(_store.Remove(nameA));
        Assert.Equal([nameB.Canonical], _store.List().Select(m => m.Manifest.Name));
        var missing = Assert.Throws<FileNotFoundException>(() => _store.Locate(nameA.Canonical));
        Assert.Contains($"seek pull {nameA.Canonical}", missing.Message);
    }

    [Fact]
    public void Locate_prefers_an_existing_path_and_leaves_other_words_to_the_caller()
    {
        string file = Path.Combine(_dir, "deepseek-r1:1.5b");
        File.WriteAllText(file, "a file whose name reads like a model name");

        Assert.Equal(file, _store.Locate(file));
        Assert.Null(_store.Locate(Path.Combine(_dir, "missing.gguf")));
        var e = Assert.Throws<FileNotFoundException>(() => _store.Locate("deepseek-r1:1.5b"));
        Assert.Contains("seek pull deepseek-r1:1.5b", e.Message);
    }

    [Fact]
    public void The_store_folder_comes_from_SEEK_MODELS_or_the_local_application_data_folder()
    {
        // Read-only check of the default: this test sets nothing, so it cannot disturb a parallel test.
        string root = ModelStore.DefaultRoot();
        if (Environment.GetEnvironmentVariable(ModelStore.EnvironmentVariable) is { Length: > 0 } env)
            Assert.Equal(env, root);
        else
            Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify),
                                      "seeksharp", "models"), root);
    }
}
