using System.Diagnostics;
using System.Numerics.Tensors;
using LLama;
using LLama.Batched;
using LLama.Common;
using LLama.Native;
using SeekSharp.PeerBenchmark;

namespace SeekSharp.ServeBenchmark;

/// <summary>
/// The peer: llama.cpp's batched decoding through LLamaSharp's <see cref="BatchedExecutor"/>, driving the same requests
/// as a server would with <c>--parallel C</c>: up to C conversations, stepped together (one <c>Infer()</c> per step
/// decodes every running conversation's next token and the prompts of newly admitted ones in one batch), a request
/// admitted as soon as it has arrived and a conversation has finished, greedy (argmax of the logits), exactly the
/// request's output length. Times are taken as the SeekSharp client takes them: from admission, at each sampled token.
/// </summary>
/// <remarks>
/// Context: llama-bench's defaults as the peer benchmark uses them (n_batch 2048, n_ubatch 512, F16 KV cache, weights
/// mapped and repacked), flash attention off as in SeekSharp, n_ctx = C × the longest request, and one KV buffer for all
/// sequences (kv_unified, as llama-server sets it by default): with a buffer per sequence, llama.cpp splits a batch
/// into ubatches of equal tokens per sequence, so a new prompt joining running decodes was evaluated one token per
/// forward pass (measured: 0.5 s steps at C = 8 on the 1.5B shape, 12× slower than one stream).
/// </remarks>
internal static class LlamaBatchedRun
{
    public static (RunResult Warmup, RunResult Measured) Run(string modelPath, IReadOnlyList<BenchRequest> warmup, IReadOnlyList<BenchRequest> requests,
                                                             int concurrency, int threads)
    {
        LlamaCppChild.Initialize();
        int perSequence = requests.Concat(warmup).Max(r => r.Prompt.Length + r.OutputTokens) + 1;
        var parameters = new ModelParams(modelPath)
        {
            GpuLayerCount = 0,
            ContextSize = (uint)((concurrency * perSequence + 255) / 256 * 256),
            BatchSize = 2048,
            UBatchSize = 512,
            SeqMax = (uint)concurrency,
            KVUnified = true,
            Threads = threads,
            BatchThreads = threads,
            FlashAttention = false,
        };
        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var executor = new BatchedExecutor(weights, parameters);
        var warm = Drive(executor, warmup, concurrency, "llama.cpp");
        var cpu = Environment.CpuUsage.TotalTime;
        var measured = Drive(executor, requests, concurrency, "llama.cpp");
        return (warm, measured with { CpuSeconds = (Environment.CpuUsage.TotalTime - cpu).TotalSeconds });
    }

    private sealed class Running(BenchRequest request, Conversation conversation, double start)
    {
        public BenchRequest Request { get; } = request;
        public Conversation Conversation { get; } = conversation;
        public double Start { get; } = start;
        public List<double> Times { get; } = new(request.OutputTokens);
    }

    private static RunResult Drive(BatchedExecutor executor, IReadOnlyList<BenchRequest> requests, int concurrency, string engine)
    {
        var clock = Stopwatch.StartNew();
        var running = new List<Running>(concurrency);
        var outcomes = new RequestOutcome[requests.Count];
        int next = 0, done = 0;
        while (done < requests.Count)
        {
            // Admission between steps, in arrival order.
            while (running.Count < concurrency && next < requests.Count && requests[next].ArrivalSeconds <= clock.Elapsed.TotalSeconds)
            {
                var r = requests[next++];
                var conversation = executor.Create();
                conversation.Prompt(r.Prompt.Select(t => (LLamaToken)t).ToArray().AsSpan());
                running.Add(new Running(r, conversation, clock.Elapsed.TotalSeconds));
            }
            if (running.Count == 0)
            {
                Thread.Sleep(TimeSpan.FromSeconds(Math.Max(0, requests[next].ArrivalSeconds - clock.Elapsed.TotalSeconds)));
                continue;
            }
            // One step: one Infer() decodes the batch at the head of the executor's queue. Conversations whose tokens
            // it held must be sampled before the next Infer() (LLamaSharp tracks this by epoch); a prompt that did not
            // fit beside the others' tokens in n_batch waits in the next queued batch, with the tokens sampled now.
            if (executor.BatchQueueCount == 0)
                throw new InvalidOperationException("nothing to decode while requests are running");
            var status = executor.Infer().GetAwaiter().GetResult();
            if (status != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode failed: {status}");
            for (int i = running.Count - 1; i >= 0; i--)
            {
                var s = running[i];
                if (!s.Conversation.RequiresSampling) continue;
                int token = TensorPrimitives.IndexOfMax<float>(s.Conversation.Sample());
                s.Times.Add(clock.Elapsed.TotalSeconds - s.Start);
                if (s.Times.Count < s.Request.OutputTokens)
                {
                    s.Conversation.Prompt((LLamaToken)token);
                    continue;
                }
                s.Conversation.Dispose();
                running.RemoveAt(i);
                outcomes[s.Request.Id] = LoadDriver.FromTokenTimes(s.Times, s.Request.Prompt.Length, s.Times.Count) with
                {
                    Id = s.Request.Id, StartSeconds = s.Start,
                };
                done++;
            }
        }
        return new RunResult(engine, concurrency, clock.Elapsed.TotalSeconds, outcomes);
    }
}
