using System.CommandLine;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Models;

namespace SeekSharp.Cli.Commands;

/// <summary><c>seek info [MODEL]</c>: what a GGUF model is.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var json = Common.JsonOption();
        var command = new Command("info", "Show a model's architecture, size, context length, tensor types and tokenizer") { json };
        var model = DefaultModel.AddTo(command);
        command.SetAction(r => Common.Guard(() => Run(DefaultModel.Resolve(r, model), r.GetValue(json))));
        return command;
    }

    private static int Run(string path, bool json)
    {
        using var model = Model.Load(path);
        var c = model.Config;
        var file = model.File;
        var types = file.Tensors.GroupBy(t => t.Type).OrderBy(g => g.Key)
            .Select(g => new { type = g.Key.ToString(), tensors = g.Count(), elements = g.Sum(t => t.ElementCount), bytes = g.Sum(t => t.ByteSize) })
            .ToArray();
        string tokenizer = file.GetStringOrNull("tokenizer.ggml.model") ?? "none";
        string? pre = file.GetStringOrNull("tokenizer.ggml.pre");
        bool hasTemplate = file.GetStringOrNull("tokenizer.chat_template") is not null;
        string? name = file.GetStringOrNull("general.name");

        long kvF16 = KvCache.BytesPerPosition(c, GgmlType.F16), kvF32 = KvCache.BytesPerPosition(c, GgmlType.F32);
        long active = c.ActiveParameters(model.ParameterCount);
        if (json)
        {
            Common.WriteJson(new
            {
                path, name, architecture = c.Architecture, parameters = model.ParameterCount, context_length = c.ContextLength,
                embedding_length = c.EmbeddingLength, block_count = c.BlockCount, head_count = c.HeadCount, head_count_kv = c.HeadCountKv,
                feed_forward_length = c.FeedForwardLength, vocab_size = c.VocabSize, tensor_types = types,
                tokenizer, tokenizer_pre = pre, chat_template = hasTemplate, gguf_version = file.Version,
                active_parameters = active, kv_bytes_per_token_f16 = kvF16, kv_bytes_per_token_f32 = kvF32,
                kv_cache = c.Mla is null ? "keys and values per kv head" : "latent and roped key (MLA)",
            });
            return 0;
        }
        var o = Console.Out;
        o.WriteLine($"file            {path} (GGUF v{file.Version})");
        if (name is not null) o.WriteLine($"name            {name}");
        o.WriteLine($"architecture    {c.Architecture}");
        o.WriteLine($"parameters      {model.ParameterCount:N0} ({model.ParameterCount / 1e9:F2} B)");
        if (c.Moe is { } moe)
            o.WriteLine($"active/token    {active:N0} ({active / 1e9:F2} B): {moe.ExpertUsedCount} of {moe.ExpertCount} routed experts{(moe.SharedExpertCount > 0 ? $" + {moe.SharedExpertCount} shared" : "")}, {moe.LeadingDenseBlockCount} dense blocks first");
        o.WriteLine($"context length  {c.ContextLength}");
        if (c.Mla is { } mla)
            o.WriteLine($"shape           {c.BlockCount} layers, width {c.EmbeddingLength}, {c.HeadCount} heads of {mla.NopeDim}+{mla.RopeDim} (values {mla.ValueDim}), " +
                        $"MLA latent {mla.KvLoraRank}{(mla.QLoraRank > 0 ? $", query rank {mla.QLoraRank}" : "")}, ffn {c.FeedForwardLength}" +
                        (c.Moe is { } m ? $", experts {m.ExpertCount} x {m.ExpertFeedForwardLength}" : ""));
        else
            o.WriteLine($"shape           {c.BlockCount} layers, width {c.EmbeddingLength}, {c.HeadCount} heads ({c.HeadCountKv} kv) of {c.HeadDim}, ffn {c.FeedForwardLength}");
        o.WriteLine($"KV cache/token  {kvF16:N0} bytes in F16 ({kvF32:N0} in F32): {c.BlockCount} layers x {c.CacheLayout.ElementsPerPosition} values" +
                    (c.Mla is { } l ? $" (latent {l.KvLoraRank} + roped key {l.RopeDim})" : $" (keys and values of {c.HeadCountKv} kv heads of {c.HeadDim})"));
        o.WriteLine($"vocabulary      {c.VocabSize} tokens, tokenizer {tokenizer}{(pre is null ? "" : $" (pre: {pre})")}");
        o.WriteLine($"chat template   {(hasTemplate ? "present" : "absent")}");
        o.WriteLine("tensor types");
        foreach (var t in types)
            o.WriteLine($"  {t.type,-6} {t.tensors,5} tensors {t.elements,15:N0} elements {t.bytes / 1048576.0,10:F1} MiB");
        return 0;
    }
}
