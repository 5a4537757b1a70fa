using System.Runtime.InteropServices;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;
using SeekSharp.Models;
using SeekSharp.Training.Model;

namespace SeekSharp.Training.Recipes.Common;

/// <summary>
/// Reads a GGUF written by <see cref="Export.GgufExport"/> back into a trainable <see cref="Transformer"/>, so a
/// pretrained or SFT model can be trained further (GRPO, more SFT). Only F32 tensors of the <c>llama</c>
/// architecture, named as the export names them, are accepted: a quantized or foreign model cannot be trained.
/// </summary>
public static class TransformerGguf
{
    /// <summary>The model shape stored in <paramref name="path"/>'s <c>llama.*</c> keys; tied when there is no <c>output.weight</c>.</summary>
    /// <exception cref="ArgumentException">Not a llama-architecture GGUF.</exception>
    public static ModelConfig ReadConfig(string path)
    {
        using var file = Open(path);
        return ReadConfig(file);
    }

    /// <summary>Loads <paramref name="path"/> into a new model able to run batches of up to
    /// <paramref name="maxBatch"/> × <paramref name="maxSeqLen"/>.</summary>
    /// <exception cref="ArgumentException">Wrong architecture, missing tensor, wrong shape or a non-F32 tensor.</exception>
    public static Transformer Load(string path, int maxBatch, int maxSeqLen, WorkerPool? pool = null)
    {
        using var file = Open(path);
        var config = ReadConfig(file);
        var model = new Transformer(config, maxBatch, Math.Min(maxSeqLen, config.ContextLength), pool);
        foreach (var t in model.Layout.All)
        {
            var info = file.FindTensor(t.Name)
                ?? throw new ArgumentException($"{path}: tensor '{t.Name}' is missing; only models exported by SeekSharp training can be loaded for training.");
            if (info.Type != GgmlType.F32)
                throw new ArgumentException($"{path}: tensor '{t.Name}' is {info.Type}; training needs F32 weights.");
            long[] expected = t.IsMatrix ? [t.Cols, t.Rows] : [t.Cols];
            if (!info.Shape.SequenceEqual(expected))
                throw new ArgumentException($"{path}: tensor '{t.Name}' has shape [{string.Join(", ", info.Shape)}], expected [{string.Join(", ", expected)}].");
            MemoryMarshal.Cast<byte, float>(file.GetTensorBytes(info)).CopyTo(t.Of(model.Parameters));
        }
        return model;
    }

    static GgufFile Open(string path) =>
        File.Exists(path) ? GgufFile.Open(path) : throw new FileNotFoundException($"Model file '{path}' does not exist.", path);

    static ModelConfig ReadConfig(GgufFile file)
    {
        string arch = file.GetStringOrNull("general.architecture") ?? "";
        if (arch != "llama")
            throw new ArgumentException($"{file.Path}: architecture '{arch}'; training loads only the 'llama' models that SeekSharp exports.");
        // The same reading inference does, so a model trains on exactly the shape it runs with.
        return ModelConfig.FromGguf(file);
    }
}
