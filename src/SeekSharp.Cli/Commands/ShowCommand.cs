using System.CommandLine;
using SeekSharp.Gguf;
using SeekSharp.Quantization;
using SeekSharp.Store;

namespace SeekSharp.Cli.Commands;

/// <summary><c>seek show NAME</c>: where a pulled model came from, its files and hashes, and what a GGUF says it is.</summary>
internal static class ShowCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "A pulled model, as seek list names it" };
        var json = Common.JsonOption();
        var modelsDir = Common.ModelsDirOption();
        var command = new Command("show", "Show a pulled model's source, files, sizes and SHA-256, and for a GGUF its architecture, parameters and quantization")
        {
            name, json, modelsDir,
        };
        command.SetAction(r => Common.Guard(() =>
        {
            var store = Common.OpenStore(r, modelsDir);
            var model = ModelName.Parse(r.GetValue(name)!);
            var stored = store.Find(model)
                         ?? throw new ArgumentException($"model '{model.Canonical}' is not in the store ({store.Root}); download it with: seek pull {model.Canonical}");
            var m = stored.Manifest;
            var gguf = m.Format == ModelStore.FormatGguf ? Describe(stored.ModelPath) : null;
            if (r.GetValue(json))
            {
                Common.WriteJson(new
                {
                    name = m.Name, source = m.Source, format = m.Format, path = stored.ModelPath, pulled = m.Pulled, size = m.Size,
                    files = m.Files.Select(f => new { path = f.Path, size = f.Size, sha256 = f.Sha256, verified = f.Verified }),
                    architecture = gguf?.Architecture, parameters = gguf?.Parameters, quantization = gguf?.Quantization, context_length = gguf?.ContextLength,
                });
                return 0;
            }
            var o = Console.Out;
            var rows = new List<string[]>
            {
                new[] { "name", m.Name }, new[] { "source", m.Source }, new[] { "format", m.Format }, new[] { "path", stored.ModelPath },
                new[] { "pulled", $"{m.Pulled.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC ({Common.Ago(m.Pulled, DateTimeOffset.UtcNow)})" },
                new[] { "size", $"{Common.FormatSize(m.Size)} ({m.Size:N0} bytes)" },
            };
            if (gguf is not null)
            {
                rows.Add(["architecture", gguf.Architecture]);
                rows.Add(["parameters", $"{(gguf.Parameters >= 1e9 ? $"{gguf.Parameters / 1e9:0.00} B" : $"{gguf.Parameters / 1e6:0.0} M")} ({gguf.Parameters:N0})"]);
                rows.Add(["quantization", gguf.Quantization]);
                if (gguf.ContextLength is { } ctx) rows.Add(["context length", ctx.ToString()]);
            }
            Common.WriteColumns(o, rows);
            o.WriteLine("files");
            Common.WriteColumns(o, [.. m.Files.Select(f => new[]
            {
                "  " + f.Path, Common.FormatSize(f.Size), "sha256 " + f.Sha256, f.Verified ? "(verified against the source)" : "(computed after download; the source published none)",
            })]);
            return 0;
        }));
        return command;
    }

    private sealed record GgufSummary(string Architecture, long Parameters, string Quantization, long? ContextLength);

    /// <summary>What the GGUF header says, without loading weights: general.file_type names the mix llama-quantize made.</summary>
    private static GgufSummary Describe(string path)
    {
        using var file = GgufFile.Open(path);
        string arch = file.GetStringOrNull("general.architecture") ?? "unknown";
        long parameters = file.Tensors.Sum(t => t.ElementCount);
        // LlamaFileType's names are llama.cpp's LLAMA_FTYPE_* names: AllF32 -> F32, MostlyQ4_K_M -> Q4_K_M.
        string quantization = !file.Metadata.TryGetValue("general.file_type", out object? ft) ? "not recorded"
            : Enum.IsDefined((LlamaFileType)Convert.ToUInt32(ft)) ? ((LlamaFileType)Convert.ToUInt32(ft)).ToString().Replace("Mostly", "").Replace("All", "")
            : $"file type {ft}";
        // Which tensor type holds most bytes, as a second opinion when general.file_type is absent or unknown to us.
        var main = file.Tensors.GroupBy(t => t.Type).MaxBy(g => g.Sum(t => t.ByteSize))?.Key;
        if (main is not null) quantization += $" (most weight bytes in {main})";
        long? ctx = file.Metadata.TryGetValue($"{arch}.context_length", out object? c) ? Convert.ToInt64(c) : null;
        return new GgufSummary(arch, parameters, quantization, ctx);
    }
}
