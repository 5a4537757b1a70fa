using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.HuggingFace;
using SeekSharp.Inference;
using SeekSharp.Kernels;
using SeekSharp.Models;
using SeekSharp.Safetensors;
using Xunit.Abstractions;

namespace SeekSharp.Tests.HuggingFace;

/// <summary>
/// Tiny Hugging Face folders, built with SeekSharp's safetensors writer and the real tokenizer files, loaded directly
/// and converted to GGUF: both must be the same model (the same logits), with the converter's metadata and layout.
/// </summary>
public sealed class HuggingFaceFolderTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("seek-hf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    const string Prompt = "The quick brown fox jumps over the lazy dog. 12345 你好 — héllo!";

    public static TheoryData<string> Folders => ["llama", "qwen2", "qwen3", "deepseek_v3", "deepseek_v2", "fp8", "sharded"];

    internal static TinyHfOptions OptionsFor(string name) => name switch
    {
        "llama" => new TinyHfOptions { ModelType = "llama", Tokenizer = "llama3_1" },
        "qwen2" => new TinyHfOptions { ModelType = "qwen2", Tokenizer = "qwen3", Tied = true, ExtraVocab = 5, KvHeads = 1 },
        "qwen3" => new TinyHfOptions { ModelType = "qwen3", Tokenizer = "qwen3", HeadDim = 32, Tied = true },
        "deepseek_v3" => new TinyHfOptions { ModelType = "deepseek_v3", Tokenizer = "deepseek_v3", Heads = 4 },
        "deepseek_v2" => new TinyHfOptions { ModelType = "deepseek_v2", Tokenizer = "deepseek_v3", Heads = 4 },
        // DeepSeek-V3 as released: block matrices in FP8 with weight_scale_inv (here blocks of 32 x 32, so that the
        // tiny matrices have several blocks and partial ones), everything else BF16.
        "fp8" => new TinyHfOptions { ModelType = "deepseek_v3", Tokenizer = "deepseek_v3", DType = SafetensorsDType.BF16, Fp8Block = [32, 32], Seed = 3 },
        "sharded" => new TinyHfOptions { ModelType = "qwen2", Tokenizer = "qwen3", Shards = 3, DType = SafetensorsDType.BF16, Seed = 4 },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    static float[] Logits(string path, string text, out int[] tokens)
    {
        using var model = Model.Load(path);
        tokens = model.Tokenizer.Encode(text);
        using var context = model.CreateContext(new ContextOptions { ContextLength = 128, BatchSize = 64, KvCacheType = GgmlType.F32 });
        context.Prefill(tokens);
        return context.Logits(0).ToArray();
    }

    [Theory]
    [MemberData(nameof(Folders))]
    public void Folder_and_its_converted_gguf_give_identical_logits(string name)
    {
        var o = OptionsFor(name);
        string folder = TinyHfFolder.Build(o, Path.Combine(_dir, name));
        string gguf = Path.Combine(_dir, name + ".gguf");
        // The folder loads with each weight as stored; the matching file type writes the same bytes.
        var type = o.Fp8Block is not null || o.DType == SafetensorsDType.BF16 ? HfWeightType.BF16 : HfWeightType.F32;
        HuggingFaceFolder.Convert(folder, gguf, type);

        float[] fromFolder = Logits(folder, Prompt, out var tokensFolder);
        float[] fromGguf = Logits(gguf, Prompt, out var tokensGguf);
        Assert.Equal(tokensFolder, tokensGguf);
        Assert.Equal(fromGguf.Length, fromFolder.Length);
        float maxDiff = fromFolder.Zip(fromGguf).Max(p => MathF.Abs(p.First - p.Second));
        output.WriteLine($"{name}: {tokensFolder.Length} tokens, {fromFolder.Length} logits, max |folder - gguf| = {maxDiff}, spread {fromGguf.Max() - fromGguf.Min():F3}");
        Assert.True(fromFolder.AsSpan().SequenceEqual(fromGguf), $"{name}: logits differ by up to {maxDiff}");
        Assert.True(fromGguf.Max() - fromGguf.Min() > 0.5f, "the tiny model's logits are flat; the comparison would prove little");

        // The same plan gives the same bytes: every tensor of the written file equals the in-memory one.
        using var written = GgufFile.Open(gguf);
        using var opened = HuggingFaceFolder.Open(folder, type);
        Assert.Equal(written.Tensors.Select(t => (t.Name, t.Type, string.Join(",", t.Shape))), opened.Tensors.Select(t => (t.Name, t.Type, string.Join(",", t.Shape))));
        foreach (var t in written.Tensors)
            Assert.True(written.GetTensorBytes(t).SequenceEqual(opened.GetTensorBytes(opened.GetTensor(t.Name))), $"tensor {t.Name} differs");
        Assert.Equal(written.Metadata.Keys, opened.Metadata.Keys);
    }

    [Fact]
    public void Llama_metadata_and_tensor_types_follow_the_converter()
    {
        string folder = TinyHfFolder.Build(OptionsFor("llama"), Path.Combine(_dir, "llama"));
        string gguf = Path.Combine(_dir, "llama-f16.gguf");
        HuggingFaceFolder.Convert(folder, gguf, HfWeightType.F16);
        using var f = GgufFile.Open(gguf);
        Assert.Equal("llama", f.GetString("general.architecture"));
        Assert.Equal(2u, f.GetUInt32("llama.block_count"));
        Assert.Equal(512u, f.GetUInt32("llama.context_length"));
        Assert.Equal(64u, f.GetUInt32("llama.embedding_length"));
        Assert.Equal(96u, f.GetUInt32("llama.feed_forward_length"));
        Assert.Equal(4u, f.GetUInt32("llama.attention.head_count"));
        Assert.Equal(2u, f.GetUInt32("llama.attention.head_count_kv"));
        Assert.Equal(500000f, f.GetFloat32("llama.rope.freq_base"));
        Assert.Equal(16u, f.GetUInt32("llama.rope.dimension_count"));
        Assert.Equal((uint)TinyHfFolder.VocabOf("llama3_1"), f.GetUInt32("llama.vocab_size"));
        Assert.Equal(1u, f.GetUInt32("general.file_type"));
        Assert.Equal(2u, f.GetUInt32("general.quantization_version"));
        Assert.Equal("gpt2", f.GetString("tokenizer.ggml.model"));
        Assert.Equal("llama-bpe", f.GetString("tokenizer.ggml.pre"));
        Assert.NotNull(f.GetStringOrNull("tokenizer.chat_template"));
        // Matrices in the output type; norms and the llama3 rope factors in F32.
        Assert.Equal(GgmlType.F16, f.GetTensor("blk.0.attn_q.weight").Type);
        Assert.Equal(GgmlType.F16, f.GetTensor("token_embd.weight").Type);
        Assert.Equal(GgmlType.F32, f.GetTensor("blk.0.attn_norm.weight").Type);
        var ropeFreqs = f.GetTensor("rope_freqs.weight");
        Assert.Equal(GgmlType.F32, ropeFreqs.Type);
        Assert.Equal([8L], ropeFreqs.Shape);
        var factors = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f.GetTensorBytes(ropeFreqs)).ToArray();
        // original context 64: the fastest pairs keep their frequency, the slowest are divided by the factor 8.
        Assert.Equal(1f, factors[0]);
        Assert.Equal(8f, factors[^1]);
    }

    [Fact]
    public void Special_token_ids_missing_from_tokenizer_config_come_from_config_json()
    {
        // Qwen's tokenizer_config.json names no bos_token; gguf-py's SpecialVocab takes config.json's bos_token_id.
        string folder = TinyHfFolder.Build(OptionsFor("qwen3"), Path.Combine(_dir, "qwen3"));
        using var f = HuggingFaceFolder.Open(folder);
        Assert.Equal(151643u, f.GetUInt32("tokenizer.ggml.bos_token_id"));
        Assert.Equal(151645u, f.GetUInt32("tokenizer.ggml.eos_token_id"));
        Assert.False(f.GetBoolOrDefault("tokenizer.ggml.add_bos_token", false));
        Assert.Equal("qwen2", f.GetString("tokenizer.ggml.pre"));
    }

    [Fact]
    public void An_R1_distill_qwen_tokenizer_is_detected_by_its_hash()
    {
        // DeepSeek-R1-Distill-Qwen keeps Qwen's vocabulary but names id 151646 <｜begin▁of▁sentence｜> and adds it
        // before every text, which changes the check text's ids and so the hash: the converter's table calls that
        // "deepseek-r1-qwen". The qwen tokenizer files are changed the same way here.
        string folder = TinyHfFolder.Build(OptionsFor("qwen2") with { Layers = 1 }, Path.Combine(_dir, "r1-qwen"));
        string json = Path.Combine(folder, "tokenizer.json"), config = Path.Combine(folder, "tokenizer_config.json");
        const string bos = "<\uFF5Cbegin\u2581of\u2581sentence\uFF5C>";
        File.WriteAllText(json, File.ReadAllText(json).Replace("\"<|object_ref_start|>\"", $"\"{bos}\""));
        File.WriteAllText(config, File.ReadAllText(config)
            .Replace("\"add_bos_token\": false", "\"add_bos_token\": true")
            .Replace("\"bos_token\": null", $"\"bos_token\": \"{bos}\""));
        using var f = HuggingFaceFolder.Open(folder);
        Assert.Equal("deepseek-r1-qwen", f.GetString("tokenizer.ggml.pre"));
        Assert.Equal(151646u, f.GetUInt32("tokenizer.ggml.bos_token_id"));
        Assert.True(f.GetBoolOrDefault("tokenizer.ggml.add_bos_token", false));
    }

    [Fact]
    public void Llama_q_and_k_rows_are_permuted_into_adjacent_rope_pairs()
    {
        // One head of width 4, two columns: rows [r0, r1, r2, r3] (halves {r0, r1} and {r2, r3}) become [r0, r2, r1, r3].
        float[] rows = [0, 1, 10, 11, 20, 21, 30, 31];
        var permuted = HfModelMapping.PermuteRows(rows, heads: 1, hd: 4, cols: 2);
        Assert.Equal([0f, 1, 20, 21, 10, 11, 30, 31], permuted);
        // Two heads: each head is permuted on its own.
        float[] two = [0, 1, 2, 3, 4, 5, 6, 7];
        Assert.Equal([0f, 2, 1, 3, 4, 6, 5, 7], HfModelMapping.PermuteRows(two, heads: 2, hd: 4, cols: 1));
    }

    [Fact]
    public void DeepSeek_kv_b_is_split_and_experts_stacked_as_the_converter_does()
    {
        var o = OptionsFor("deepseek_v3");
        string folder = TinyHfFolder.Build(o, Path.Combine(_dir, "ds"));
        string gguf = Path.Combine(_dir, "ds.gguf");
        HuggingFaceFolder.Convert(folder, gguf, HfWeightType.F32);
        using var f = GgufFile.Open(gguf);
        using var st = SafetensorsCheckpoint.Open(folder);
        float[] Hf(string name) { var (file, info) = st.Find(name)!.Value; return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.GetBytes(info)).ToArray(); }
        float[] Gguf(string name) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f.GetTensorBytes(f.GetTensor(name))).ToArray();

        int h = 4, nope = 16, v = 16, kr = 32, fe = 32, d = 64;
        var kvB = Hf("model.layers.1.self_attn.kv_b_proj.weight");
        var kB = Gguf("blk.1.attn_k_b.weight");
        var vB = Gguf("blk.1.attn_v_b.weight");
        Assert.Equal([(long)nope, kr, h], f.GetTensor("blk.1.attn_k_b.weight").Shape);
        Assert.Equal([(long)kr, v, h], f.GetTensor("blk.1.attn_v_b.weight").Shape);
        for (int head = 0; head < h; head++)
            for (int c = 0; c < kr; c++)
            {
                for (int n = 0; n < nope; n++) Assert.Equal(kvB[(head * (nope + v) + n) * kr + c], kB[(head * kr + c) * nope + n]);
                for (int j = 0; j < v; j++) Assert.Equal(kvB[(head * (nope + v) + nope + j) * kr + c], vB[(head * v + j) * kr + c]);
            }
        var up = Gguf("blk.1.ffn_up_exps.weight");
        Assert.Equal([(long)d, fe, 8], f.GetTensor("blk.1.ffn_up_exps.weight").Shape);
        Assert.Equal(Hf("model.layers.1.mlp.experts.5.up_proj.weight"), up.AsSpan(5 * fe * d, fe * d).ToArray());

        Assert.Equal("deepseek2", f.GetString("general.architecture"));
        Assert.Equal(1u, f.GetUInt32("deepseek2.attention.head_count_kv"));
        Assert.Equal((uint)(kr + 8), f.GetUInt32("deepseek2.attention.key_length"));
        Assert.Equal((uint)kr, f.GetUInt32("deepseek2.attention.value_length"));
        Assert.Equal(24u, f.GetUInt32("deepseek2.attention.key_length_mla"));
        Assert.Equal(2u, f.GetUInt32("deepseek2.expert_gating_func"));
        Assert.Equal("yarn", f.GetString("deepseek2.rope.scaling.type"));
        Assert.Equal(0.1f, f.GetFloat32("deepseek2.rope.scaling.yarn_log_multiplier"), 6);
        Assert.Equal(GgmlType.F32, f.GetTensor("blk.1.ffn_gate_inp.weight").Type);
        Assert.Equal(GgmlType.F32, f.GetTensor("blk.1.exp_probs_b.bias").Type);
        Assert.Equal("deepseek-v3", f.GetString("tokenizer.ggml.pre"));
        // The multi-token-prediction layer is left out, as the converter does.
        Assert.DoesNotContain(f.Tensors, t => t.Name.StartsWith("blk.2.", StringComparison.Ordinal));
        Assert.Equal(2u, f.GetUInt32("deepseek2.block_count"));
    }

    [Fact]
    public void Fp8_weights_are_their_codes_times_the_block_scale()
    {
        var o = OptionsFor("fp8");
        string folder = TinyHfFolder.Build(o, Path.Combine(_dir, "fp8"));
        using var f = HuggingFaceFolder.Open(folder, HfWeightType.F32);
        using var st = SafetensorsCheckpoint.Open(folder);
        // kv_a_proj_with_mqa is [40, 64]: with 32 x 32 blocks, a full and a partial block row.
        var (wf, wi) = st.Find("model.layers.0.self_attn.kv_a_proj_with_mqa.weight")!.Value;
        var (sf, si) = st.Find("model.layers.0.self_attn.kv_a_proj_with_mqa.weight_scale_inv")!.Value;
        Assert.Equal([2L, 2], si.Shape);
        var codes = wf.GetBytes(wi).ToArray();
        var scales = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(sf.GetBytes(si)).ToArray();
        var got = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f.GetTensorBytes(f.GetTensor("blk.0.attn_kv_a_mqa.weight"))).ToArray();
        for (int r = 0; r < 40; r++)
            for (int c = 0; c < 64; c++)
                Assert.Equal(TinyHfFolder.Fp8Value(codes[r * 64 + c], scales[r / 32 * 2 + c / 32]), got[r * 64 + c]);
    }

    [Fact]
    public void Quantized_conversion_uses_the_llama_quantize_mix()
    {
        string folder = TinyHfFolder.Build(OptionsFor("qwen2"), Path.Combine(_dir, "q"));
        string gguf = Path.Combine(_dir, "q8.gguf");
        HuggingFaceFolder.Convert(folder, gguf, mix: SeekSharp.Quantization.LlamaFileType.MostlyQ8_0);
        using var f = GgufFile.Open(gguf);
        Assert.Equal((uint)SeekSharp.Quantization.LlamaFileType.MostlyQ8_0, f.GetUInt32("general.file_type"));
        Assert.Equal(GgmlType.Q8_0, f.GetTensor("blk.0.attn_q.weight").Type);
        Assert.Equal(GgmlType.F32, f.GetTensor("blk.0.attn_norm.weight").Type);
        // Converting straight to Q8_0 is converting to F32 and then running llama-quantize's mix: the same bytes.
        string f32 = Path.Combine(_dir, "f32.gguf"), viaQuantize = Path.Combine(_dir, "via-quantize.gguf");
        HuggingFaceFolder.Convert(folder, f32, HfWeightType.F32);
        SeekSharp.Quantization.GgufQuantizer.Quantize(f32, viaQuantize, SeekSharp.Quantization.LlamaFileType.MostlyQ8_0);
        using var reference = GgufFile.Open(viaQuantize);
        Assert.Equal(reference.Tensors.Select(t => (t.Name, t.Type)), f.Tensors.Select(t => (t.Name, t.Type)));
        foreach (var t in reference.Tensors)
            Assert.True(reference.GetTensorBytes(t).SequenceEqual(f.GetTensorBytes(f.GetTensor(t.Name))), $"tensor {t.Name} differs");
    }
}

