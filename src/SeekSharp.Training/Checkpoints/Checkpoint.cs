using System.Runtime.InteropServices;
using System.Text;
using SeekSharp.Models;
using SeekSharp.Training.Model;
using SeekSharp.Training.Optim;

namespace SeekSharp.Training.Checkpoints;

/// <summary>
/// Saves and restores a <see cref="Trainer"/>'s whole state (model config, parameters, AdamW moments, step, random
/// state) in one little-endian binary file, so that a resumed run continues bit for bit where the saved one stopped.
/// </summary>
/// <remarks>
/// Layout (version 1): magic "SSCKPT01" (8 bytes), u32 version, the config (i32 V, ctx, D, L, H, Hkv, F; f32 eps,
/// theta; u8 tied), i64 step, u64 random state, i32 P, then P floats each of parameters, first and second moments,
/// and the magic again as a trailer that catches truncated files. Optimizer hyper-parameters and the schedule are
/// not stored: they belong to the run's configuration, which the caller supplies again.
/// </remarks>
public static class Checkpoint
{
    private static readonly byte[] Magic = "SSCKPT01"u8.ToArray();
    private const uint Version = 1;

    /// <summary>Writes <paramref name="trainer"/>'s state to <paramref name="path"/> (via a temporary file flushed to disk
    /// and renamed, <see cref="SeekSharp.IO.AtomicFile"/>, so a killed process never leaves a half-written checkpoint and
    /// the previous one stays until the new one is whole).</summary>
    public static void Save(Trainer trainer, string path) => SeekSharp.IO.AtomicFile.Write(path, stream =>
    {
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            var c = trainer.Model.Config;
            w.Write(Magic);
            w.Write(Version);
            w.Write(c.VocabSize); w.Write(c.ContextLength); w.Write(c.EmbeddingLength); w.Write(c.BlockCount);
            w.Write(c.HeadCount); w.Write(c.HeadCountKv); w.Write(c.FeedForwardLength);
            w.Write(c.NormEpsilon); w.Write(c.RopeFreqBase); w.Write(c.TiedEmbeddings);
            w.Write(trainer.Step);
            w.Write(trainer.Random.State);
            w.Write(trainer.Model.ParameterCount);
            w.Write(MemoryMarshal.AsBytes(trainer.Model.Parameters.AsSpan()));
            w.Write(MemoryMarshal.AsBytes(trainer.Optimizer.M.AsSpan()));
            w.Write(MemoryMarshal.AsBytes(trainer.Optimizer.V.AsSpan()));
            w.Write(Magic);
        }
    });

    /// <summary>Reads only the model configuration, to build a model of the right shape before <see cref="Restore"/>.</summary>
    public static ModelConfig ReadConfig(string path)
    {
        using var r = Open(path);
        return ReadHeader(r, path);
    }

    /// <summary>Loads the state saved at <paramref name="path"/> into <paramref name="trainer"/>, whose model must have the saved configuration.</summary>
    /// <exception cref="CheckpointException">The file is missing, not a checkpoint, of another version, truncated, or of another model shape.</exception>
    public static void Restore(Trainer trainer, string path)
    {
        using var r = Open(path);
        var saved = ReadHeader(r, path);
        if (saved != trainer.Model.Config)
            throw new CheckpointException(path, $"it holds a model of shape {saved}, but the trainer's model is {trainer.Model.Config}; build the model from Checkpoint.ReadConfig.");
        long step = r.ReadInt64();
        ulong state = r.ReadUInt64();
        int count = r.ReadInt32();
        if (count != trainer.Model.ParameterCount)
            throw new CheckpointException(path, $"it holds {count} parameters, the model has {trainer.Model.ParameterCount}.");
        long expected = r.BaseStream.Position + 3L * count * sizeof(float) + Magic.Length;
        if (r.BaseStream.Length != expected)
            throw new CheckpointException(path, $"the file is {r.BaseStream.Length} bytes, expected {expected}: it is truncated or has trailing data.");
        ReadFloats(r, trainer.Model.Parameters);
        ReadFloats(r, trainer.Optimizer.M);
        ReadFloats(r, trainer.Optimizer.V);
        if (!r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
            throw new CheckpointException(path, "the trailer is missing: the file is corrupt.");
        trainer.Step = step;
        trainer.Random.State = state;
    }

    private static BinaryReader Open(string path)
    {
        if (!File.Exists(path))
            throw new CheckpointException(path, "the file does not exist.");
        return new BinaryReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20), Encoding.UTF8);
    }

    private static ModelConfig ReadHeader(BinaryReader r, string path)
    {
        try
        {
            if (!r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
                throw new CheckpointException(path, "it does not start with the SeekSharp checkpoint magic 'SSCKPT01'; not a checkpoint.");
            uint version = r.ReadUInt32();
            if (version != Version)
                throw new CheckpointException(path, $"format version {version}; this build reads version {Version}.");
            int vocab = r.ReadInt32(), context = r.ReadInt32(), dim = r.ReadInt32(), layers = r.ReadInt32(),
                heads = r.ReadInt32(), kvHeads = r.ReadInt32(), ffn = r.ReadInt32();
            float epsilon = r.ReadSingle(), ropeBase = r.ReadSingle();
            bool tied = r.ReadBoolean();
            try
            {
                return ModelConfig.Llama(vocab, context, dim, layers, heads, kvHeads, ffn, epsilon, ropeBase, tied);
            }
            catch (ArgumentException)
            {
                // A corrupt header is reported as a bad checkpoint, not as a bad model shape later.
                throw new CheckpointException(path, $"the header describes an impossible model (vocab {vocab}, context {context}, " +
                    $"width {dim}, {layers} layers, {heads}/{kvHeads} heads, ffn {ffn}): the file is corrupt.");
            }
        }
        catch (EndOfStreamException)
        {
            throw new CheckpointException(path, "the file ends inside the header: it is truncated.");
        }
    }

    private static void ReadFloats(BinaryReader r, float[] destination)
    {
        var bytes = MemoryMarshal.AsBytes(destination.AsSpan());
        r.BaseStream.ReadExactly(bytes);
    }
}
