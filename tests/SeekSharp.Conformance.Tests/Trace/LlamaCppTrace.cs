using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SeekSharp.Conformance.Tests.Oracle;

namespace SeekSharp.Conformance.Tests.Trace;

/// <summary>
/// Captures llama.cpp's named intermediates through ggml's scheduler eval callback while it evaluates one batch.
/// </summary>
/// <remarks>
/// ggml_backend_sched calls the callback twice per graph node: first with ask = true (does the caller want this tensor?),
/// and for every wanted node again with ask = false right after computing it, before the allocator reuses its memory
/// for a later node. Wanted nodes split the graph there, so a fused kernel can never skip them. Only the CPU backend is
/// used (<see cref="LlamaCpp"/> offloads nothing), so the data pointer is host memory.
/// The callback runs on the thread that called llama_decode; a fresh context per capture means no graph is reused.
/// </remarks>
internal static unsafe class LlamaCppTrace
{
    /// <summary>
    /// Evaluates <paramref name="tokens"/> at positions 0..n-1 in one batch, every position producing logits, and
    /// returns the F32 tensors whose base name <paramref name="wanted"/> accepts (all named tensors when null).
    /// Each tensor's values are flattened in ggml order, which is [T, width] for llama.cpp's activations
    /// ([width, T], or [head width, heads, T] for Qcur/Kcur/Vcur).
    /// </summary>
    public static TraceRecording Capture(string ggufPath, int[] tokens, Func<string, bool>? wanted = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens.Length, 1);
        // The logits are always captured too: they are the one tensor llama.cpp also hands out through its API, so
        // comparing the two checks the struct offsets (name, ne, data) end to end.
        var collector = new Collector(name => name == LogitsName || wanted is null || wanted(name));
        var handle = GCHandle.Alloc(collector);
        try
        {
            float[][] logits;
            using (var llama = LlamaCpp.LoadWithEvalCallback(ggufPath, Math.Max(tokens.Length, 8), &OnEval, GCHandle.ToIntPtr(handle)))
                logits = llama.AllLogits(tokens);
            if (collector.Failure is { } failure)
                throw new InvalidOperationException($"Reading llama.cpp's tensors failed: {failure.Message}", failure);
            CheckAgainstApiLogits(collector.Recording, logits);
            return collector.Recording;
        }
        finally
        {
            handle.Free();
        }
    }

    private const string LogitsName = "result_output";

    private static void CheckAgainstApiLogits(TraceRecording recording, float[][] logits)
    {
        var traced = recording.Occurrences(LogitsName, -1);
        int tokens = logits.Length, vocab = logits[0].Length;
        if (traced.Count == 0 || traced[^1].Values is not { } values)
            throw new InvalidOperationException($"llama.cpp's graph produced no readable F32 '{LogitsName}' tensor; the eval callback or the ggml_tensor layout does not work as GgmlTensor expects.");
        if (values.Length != tokens * vocab)
            throw new InvalidOperationException($"'{LogitsName}' was read as {traced[^1].ShapeText}, but llama.cpp returned {tokens} rows of {vocab} logits: GgmlTensor's ne offsets do not match this build.");
        for (int t = 0; t < tokens; t++)
            if (!values.AsSpan(t * vocab, vocab).SequenceEqual(logits[t]))
                throw new InvalidOperationException($"'{LogitsName}' row {t} read through the eval callback differs from llama_get_logits_ith: GgmlTensor's data or stride offsets do not match this build.");
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static byte OnEval(nint tensorPointer, byte ask, nint userData)
    {
        var collector = (Collector)GCHandle.FromIntPtr(userData).Target!;
        // No exception may cross into native code: remember it, and answer "not wanted" / "abort".
        try
        {
            var tensor = new GgmlTensor(tensorPointer);
            return ask != 0 ? Bool(collector.Wants(tensor)) : Bool(collector.Take(tensor));
        }
        catch (Exception e)
        {
            collector.Failure ??= e;
            return 0;
        }
    }

    private static byte Bool(bool value) => value ? (byte)1 : (byte)0;

    private sealed class Collector(Func<string, bool> wanted)
    {
        public TraceRecording Recording { get; } = new();
        public Exception? Failure { get; set; }

        public bool Wants(GgmlTensor tensor)
        {
            if (Failure is not null)
                return false;
            tensor.Validate();
            string name = tensor.Name;
            if (name.Length == 0)
                return false;
            return wanted(TraceRecording.ParseGgmlName(name).Name);
        }

        /// <summary>Copies a computed tensor; returns true to let the graph continue.</summary>
        public bool Take(GgmlTensor tensor)
        {
            tensor.Validate();
            var (name, layer) = TraceRecording.ParseGgmlName(tensor.Name);
            var shape = TrimmedShape(tensor);
            if (tensor.Type != GgmlTensor.TypeF32)
                Recording.Add(new TracedTensor(name, layer, null, shape, $"ggml type {tensor.Type} is not F32", tensor.Op));
            else if (!tensor.HasBuffer || tensor.Data == 0)
                Recording.Add(new TracedTensor(name, layer, null, shape, "no host data", tensor.Op));
            else
                Recording.Add(new TracedTensor(name, layer, tensor.CopyF32(), shape, Op: tensor.Op));
            return true;
        }

        /// <summary>ne[0..] without trailing 1s (keeping at least two dimensions), for display.</summary>
        private static long[] TrimmedShape(GgmlTensor t)
        {
            long[] ne = t.Shape;
            int dims = 4;
            while (dims > 2 && ne[dims - 1] == 1)
                dims--;
            return ne[..dims];
        }
    }
}
