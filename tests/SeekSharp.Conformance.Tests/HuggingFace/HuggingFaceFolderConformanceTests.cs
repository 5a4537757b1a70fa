using SeekSharp.Conformance.Tests.Cli;
using SeekSharp.Conformance.Tests.Models;
using SeekSharp.Conformance.Tests.Oracle;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.HuggingFace;
using SeekSharp.Safetensors;
using SeekSharp.Tokenization;
using Xunit.Abstractions;
using HfTokenizer = Tokenizers.DotNet.Tokenizer;

namespace SeekSharp.Conformance.Tests.HuggingFace;

/// <summary>
/// Tiny Hugging Face folders converted by SeekSharp and checked against the peers: llama.cpp loads the F32 GGUF and
/// computes the same logits as SeekSharp (a wrong llama q/k permutation, kv_b split or expert stacking would break
/// this), and the GGUF's tokenizer tokenizes as Hugging Face's tokenizer does on the original tokenizer.json.
/// </summary>
public sealed class HuggingFaceFolderConformanceTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("seek-hf-conf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    const string Prompt = "The quick brown fox jumps over the lazy dog. Numbers 12345 and symbols <>&; 你好世界 — héllo!\nNew line.";

    static readonly string[] Texts =
    [
        "Hello world", " leading space and  double  spaces", "1234567 3.14159 -42", "你好，世界！こんにちは",
        "<think>\nreasoning</think>\nanswer", "Ünïcödé çàfé naïve", "tabs\tand\nnewlines\r\n", "emoji 🚀🦙 ok", "'s 't 're 've CAPS'LL",
    ];

    static TinyHfOptions Options(string name) => name switch
    {
        "llama" => new TinyHfOptions { ModelType = "llama", Tokenizer = "llama3_1" },
        "qwen2" => new TinyHfOptions { ModelType = "qwen2", Tokenizer = "qwen3", Tied = true, ExtraVocab = 5, KvHeads = 1 },
        "qwen3" => new TinyHfOptions { ModelType = "qwen3", Tokenizer = "qwen3", HeadDim = 32, Tied = true },
        "deepseek_v3" => new TinyHfOptions { ModelType = "deepseek_v3", Tokenizer = "deepseek_v3" },
        // V2-Lite has no q_lora_rank, which the converter then leaves out; llama.cpp tells such a model by its 27
        // layers (its deepseek2 loader's is_lite), so the tiny V2 has 27 of them.
        "deepseek_v2" => new TinyHfOptions { ModelType = "deepseek_v2", Tokenizer = "deepseek_v3", Layers = 27 },
        "fp8" => new TinyHfOptions { ModelType = "deepseek_v3", Tokenizer = "deepseek_v3", DType = SafetensorsDType.BF16, Fp8Block = [32, 32], Seed = 3 },
        "sharded" => new TinyHfOptions { ModelType = "llama", Tokenizer = "llama3_1", Shards = 3, Seed = 4 },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    public static TheoryData<string> Names => ["llama", "qwen2", "qwen3", "deepseek_v3", "deepseek_v2", "fp8", "sharded"];

    [Theory]
    [MemberData(nameof(Names))]
    public void LlamaCpp_loads_the_converted_F32_gguf_and_matches_our_logits(string name)
    {
        var o = Options(name);
        string folder = TinyHfFolder.Build(o, Path.Combine(_dir, name));
        string gguf = Path.Combine(_dir, name + ".gguf");
        HuggingFaceFolder.Convert(folder, gguf, HfWeightType.F32);

        using var llama = LlamaCpp.Load(gguf, contextSize: 128);
        var prompt = llama.Tokenize(Prompt, addSpecial: true, parseSpecial: false);
        var logits = LlamaCppComparison.FinalLogits(gguf, llama, prompt, contextLength: 128);
        // Our logits straight from the folder (no file in between) are the same numbers.
        var fromFolder = LlamaCppComparison.FinalLogits(folder, llama, prompt, contextLength: 128);
        float folderVsFile = logits.Ours.Zip(fromFolder.Ours).Max(p => MathF.Abs(p.First - p.Second));
        output.WriteLine($"{name}: {prompt.Length} tokens, max |ours - llama.cpp| = {logits.MaxDiff:G3} (logits up to {logits.MaxAbs:F2}); folder vs file {folderVsFile}");
        Assert.True(logits.MaxAbs > 0.5f, "the tiny model's logits are too small for the comparison to mean much");
        Assert.True(logits.MaxDiff <= 1e-3f, $"{name}: llama.cpp's logits differ from ours by {logits.MaxDiff}");
        // Loaded as stored, an F32 folder is the F32 file exactly; FP8 and BF16 folders load in BF16 (the FP8 case is
        // checked against its BF16 conversion in SeekSharp.Tests).
        if (o.DType == SafetensorsDType.F32 && o.Fp8Block is null) Assert.Equal(0f, folderVsFile);
    }

    [Fact]
    public void A_wrong_llama_permutation_would_be_caught_by_llama_cpp()
    {
        // The same llama folder, converted and then with attn_q's rows put back in Hugging Face's order: llama.cpp
        // (NORM rope over adjacent pairs) must disagree, so the comparison above does test the permutation.
        string folder = TinyHfFolder.Build(Options("llama"), Path.Combine(_dir, "llama"));
        using var plan = HuggingFaceFolder.Open(folder, HfWeightType.F32);
        var w = new GgufWriter(3);
        foreach (var (k, v) in plan.Metadata) w.Set(k, v);
        using var st = SafetensorsCheckpoint.Open(folder);
        foreach (var t in plan.Tensors)
        {
            byte[] bytes = plan.GetTensorBytes(t).ToArray();
            if (t.Name == "blk.0.attn_q.weight")
            {
                var (file, info) = st.Find("model.layers.0.self_attn.q_proj.weight")!.Value;
                bytes = file.GetBytes(info).ToArray();
            }
            w.AddTensor(t.Name, t.Type, t.Shape, bytes);
        }
        string unpermuted = Path.Combine(_dir, "unpermuted.gguf");
        w.Write(unpermuted);
        using var llama = LlamaCpp.Load(unpermuted, contextSize: 128);
        var prompt = llama.Tokenize(Prompt, addSpecial: true, parseSpecial: false);
        var logits = LlamaCppComparison.FinalLogits(folder, llama, prompt, contextLength: 128);
        output.WriteLine($"unpermuted attn_q: max |ours - llama.cpp| = {logits.MaxDiff}");
        Assert.True(logits.MaxDiff > 1e-2f, $"llama.cpp's logits barely moved ({logits.MaxDiff}) with attn_q unpermuted");
    }

    [Theory]
    [InlineData("llama3_1", "llama")]
    [InlineData("qwen3", "qwen2")]
    [InlineData("deepseek_v3", "deepseek_v3")]
    public void Converted_tokenizer_tokenizes_as_Hugging_Face_and_llama_cpp(string tokenizer, string modelType)
    {
        string folder = TinyHfFolder.Build(new TinyHfOptions { ModelType = modelType, Tokenizer = tokenizer, Layers = 1 }, Path.Combine(_dir, tokenizer));
        string gguf = Path.Combine(_dir, tokenizer + ".gguf");
        HuggingFaceFolder.Convert(folder, gguf, HfWeightType.F32);
        using var file = GgufFile.Open(gguf);
        var ours = Tokenizer.FromGguf(file);
        using var hf = new HfTokenizer(Path.Combine(folder, "tokenizer.json"));
        using var llama = LlamaCpp.LoadVocabOnly(gguf);
        // Tokenizers (Rust) adds only what tokenizer.json's post-processor adds; transformers adds BOS from
        // tokenizer_config.json as well (DeepSeek), which is what the converter and the GGUF follow.
        bool hfAddsBos = hf.Encode("").Length > 0;
        foreach (string text in Texts)
        {
            int[] expected = [.. hf.Encode(text).Select(id => (int)id)];
            if (!hfAddsBos && ours.AddBos) expected = [ours.BosId!.Value, .. expected];
            Assert.Equal(expected, ours.Encode(text, addSpecial: true, parseSpecial: true));
            Assert.Equal(expected, llama.Tokenize(text, addSpecial: true, parseSpecial: true));
        }

        // tokenizer.ggml.pre is what the converter's hash table gives Hugging Face's ids of its check text.
        int[] check = [.. hf.Encode(HfTokenizer_CheckText).Select(id => (int)id)];
        if (!hfAddsBos && ours.AddBos) check = [ours.BosId!.Value, .. check];
        string hash = SeekSharp.HuggingFace.HfTokenizer.Hash(check);
        output.WriteLine($"{tokenizer}: check-text hash {hash} -> {SeekSharp.HuggingFace.HfTokenizer.PreFor(hash)}");
        Assert.Equal(SeekSharp.HuggingFace.HfTokenizer.PreFor(hash), file.GetString("tokenizer.ggml.pre"));
        Assert.NotNull(SeekSharp.HuggingFace.HfTokenizer.PreFor(hash));
    }

    static string HfTokenizer_CheckText => SeekSharp.HuggingFace.HfTokenizer.CheckText;

    [Fact]
    public void Seek_convert_writes_a_gguf_and_loads_a_folder()
    {
        string folder = TinyHfFolder.Build(Options("qwen3"), Path.Combine(_dir, "cli"));
        string gguf = Path.Combine(_dir, "cli.gguf");
        var r = SeekProcess.Run("convert", folder, gguf, "--type", "f16");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("wrote", r.Stderr);
        using (var f = GgufFile.Open(gguf)) Assert.Equal(SeekSharp.Kernels.GgmlType.F16, GgmlType(f, "blk.0.attn_q.weight"));

        var run = SeekProcess.Run("run", folder, "-p", "Hello", "-n", "4", "--temp", "0");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var info = SeekProcess.Run("info", folder);
        Assert.True(info.ExitCode == 0, info.Stderr);
        Assert.Contains("qwen3", info.Stdout);
        // bench reports the model's size on disk: for a folder, its files.
        var bench = SeekProcess.Run("bench", folder, "-p", "8", "-n", "2", "-r", "1", "--json");
        Assert.True(bench.ExitCode == 0, bench.Stderr);
        var tokenize = SeekProcess.Run("tokenize", folder, "-p", "Hello world", "--json");
        Assert.True(tokenize.ExitCode == 0, tokenize.Stderr);
        Assert.Equal("[9707,1879]", tokenize.Stdout.Trim().Replace(" ", ""));
    }

    static SeekSharp.Kernels.GgmlType GgmlType(GgufFile f, string name) => f.GetTensor(name).Type;

    public static TheoryData<string, string> BadFolders => new()
    {
        { "truncated shard", "model-00002-of-00003.safetensors" },
        { "missing tensor", "config.json" },
        { "shape mismatch", "model.safetensors" },
        { "shard outside", "model.safetensors.index.json" },
        { "overlapping offsets", "model.safetensors" },
        { "unknown architecture", "config.json" },
        { "missing key", "config.json" },
    };

    [Theory]
    [MemberData(nameof(BadFolders))]
    public void Seek_convert_of_a_bad_folder_names_file_and_tensor_and_writes_nothing(string problem, string file)
    {
        string folder = Path.Combine(_dir, "bad");
        var o = problem is "truncated shard" or "shard outside" ? Options("sharded") : Options("llama");
        TinyHfFolder.Build(o, folder);
        string expected = BadFolderCases.Break(problem, folder);
        string gguf = Path.Combine(_dir, "bad.gguf");
        var r = SeekProcess.Run("convert", folder, gguf);
        output.WriteLine(r.Stderr);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(file, r.Stderr);
        Assert.Contains(expected, r.Stderr);
        Assert.False(File.Exists(gguf));
        Assert.Empty(Directory.EnumerateFiles(_dir, ".bad.gguf.tmp-*"));
    }
}
