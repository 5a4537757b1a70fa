using SeekSharp.Training.Data;

namespace SeekSharp.Training.Recipes.Common;

/// <summary>
/// The step shared by pretraining and SFT: draw a batch of examples with the trainer's random generator, lay them out
/// (<see cref="BatchLayout"/>), one weighted cross-entropy step. Logged per step: loss, gradient norm, learning rate,
/// tokens in the batch and their throughput.
/// </summary>
internal static class NextTokenTraining
{
    static readonly string[] Metrics = ["loss", "grad_norm", "lr", "tokens", "tokens_per_s"];
    static readonly string[] Headline = ["loss", "lr"];

    public static TrainingResult Run(TrainingRun run, IExampleSource source, BatchLayout layout, Action<TrainingProgress>? progress,
        CancellationToken cancel)
    {
        var tokenizer = run.Tokenizer.Tokenizer;
        var encoder = new ExampleEncoder(tokenizer);
        var batch = new TokenBatch(run.Config.BatchSize, run.Model.MaxSeqLen);
        int padId = tokenizer.EosId ?? 0;
        var trainer = run.Trainer;
        TokenizedExample Next() => encoder.Encode(source.Next(trainer.Random));
        return run.Loop(Metrics, Headline, () =>
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            BatchBuilder.Fill(batch, Next, layout, padId);
            var r = trainer.TrainStep(batch.TokenSpan, batch.TargetSpan, batch.WeightSpan, batch.Batch, batch.SeqLen);
            double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
            // Throughput counts every position computed (padding included): that is the work the step did.
            long computed = (long)batch.Batch * batch.SeqLen;
            return ([r.Loss, r.GradNorm, r.LearningRate, computed, computed / Math.Max(seconds, 1e-9)], computed);
        }, progress, cancel);
    }
}
