using System.Diagnostics;
using SeekSharp.Gguf;
using SeekSharp.Inference.Sampling;
using SeekSharp.Tokenization;
using SeekSharp.Training.Export;
using SeekSharp.Training.Model;
using SeekSharp.Training.Optim;
using SeekSharp.Training.Recipes.Common;
using SeekSharp.Training.Rewards;
using SeekSharp.Training.Sampling;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Recipes.Grpo;

/// <summary>
/// The step of Group Relative Policy Optimization on a reasoning task (<see cref="GrpoRecipe"/> drives it). Each
/// <see cref="RunStep"/>: draw training problems, render them with R1's chat template, sample a group of completions per
/// prompt from the current policy (exported to GGUF and run by SeekSharp's inference engine), score them with rule-based
/// rewards, turn rewards into group-relative advantages and take μ optimizer steps on the clipped-ratio objective
/// (<see cref="GrpoObjective"/>).
/// Glossary: P prompts per step, G group size, N = P·G completions, M micro-batch sequences, T positions of a micro-batch,
/// μ updates per sampled batch (<see cref="GrpoSettings.Iterations"/>).
/// </summary>
/// <remarks>
/// π_old is the policy that sampled: the first update's forward computes its log-probabilities before any weight moves,
/// so there ρ = 1 in value while its gradient ρ·∇log π stays live; they are kept, with the reference's, and later
/// updates of the same batch divide by them, so the ratio moves and the clip acts. Every log-probability is taken at the
/// sampling temperature (logits divided by τ, as TRL does), so π_old is exactly the distribution that drew the tokens
/// and the gradient is on-policy. A completion that ended by itself is trained with its end-of-sequence token too, so
/// the policy also learns when to stop.
/// </remarks>
internal sealed class GrpoLearner : IDisposable
{
    // Added to a group's reward standard deviation before dividing (GRPO, not Dr. GRPO), so a group whose rewards tie
    // gets advantage 0 instead of 0/0.
    private const double AdvantageEpsilon = 1e-4;

    private readonly Trainer _policy;
    private readonly Tokenizer _tokenizer;
    private readonly Action<GgufWriter> _tokenizerMetadata;
    private readonly IReasoningTask _task;
    private readonly GrpoSettings _settings;
    private readonly ulong _seed;                   // of the problem stream and the sampling draws
    private readonly int _samplerThreads;           // 0 shares the process-wide pool
    private readonly Func<Problem, string, double> _reward;
    private readonly AnswerReward _answer;
    private readonly FormatReward _format = new(promptOpensThinking: true);
    private readonly Transformer? _reference;       // frozen copy of the initial policy, when β > 0
    private readonly string _directory;             // temporary folder of the exported policy
    private readonly int _microBatch;               // M
    private readonly int[] _tokens, _targets;       // [M, T] inputs and next tokens of a micro-batch
    private readonly float[] _logProbs, _dLogProbsFloat; // [M, T]
    private readonly double[] _weights, _dLogProbs; // [M, T]
    private readonly double[] _microAdvantages;     // [M]

    /// <summary>Prepares GRPO for the model that <paramref name="policy"/> trains.</summary>
    /// <param name="policy">The trainer of the policy; its model's MaxSeqLen must hold the longest prompt plus
    /// <see cref="GrpoSettings.MaxCompletionTokens"/>.</param>
    /// <param name="tokenizer">The policy's tokenizer: encodes prompts, decodes completions, ends generation.</param>
    /// <param name="tokenizerMetadata">Writes the tokenizer keys into each exported GGUF (e.g. <c>TrainedTokenizer.WriteGgufMetadata</c>).</param>
    /// <param name="task">Source of training problems and verifier of answers.</param>
    /// <param name="config">The run: <see cref="TrainConfig.Grpo"/> (validated here); <see cref="TrainConfig.BatchSize"/>
    /// sequences per forward/backward (M, capped by the model's MaxBatch); <see cref="TrainConfig.Seed"/>, from which step
    /// k's problems and draws are seeded with (Seed, k); <see cref="TrainConfig.Threads"/> of the sampling context.</param>
    /// <param name="reference">The frozen reference of the KL term (β &gt; 0), same shape as the policy; null copies the
    /// policy's weights now. A run resumed from a checkpoint passes the initial policy here, not the resumed one.</param>
    /// <param name="reward">The reward of a completion's text for its problem; null uses answer correctness plus
    /// 0.1 × format (<see cref="WeightedReward"/>'s R1 weighting, verified by <paramref name="task"/>).</param>
    public GrpoLearner(Trainer policy, Tokenizer tokenizer, Action<GgufWriter> tokenizerMetadata, IReasoningTask task, TrainConfig config,
                       Transformer? reference = null, Func<Problem, string, double>? reward = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(tokenizerMetadata);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(config);
        var settings = config.Grpo;
        settings.Validate();
        var model = policy.Model;
        if (tokenizer.VocabSize != model.Config.VocabSize)
            throw new ArgumentException($"the tokenizer has {tokenizer.VocabSize} tokens but the policy's vocabulary is {model.Config.VocabSize}", nameof(tokenizer));
        if (settings.MaxCompletionTokens >= model.MaxSeqLen)
            throw new ArgumentException($"grpo.maxCompletionTokens ({settings.MaxCompletionTokens}) leaves no room for a prompt in the model's {model.MaxSeqLen} positions (MaxSeqLen); build the Transformer with a longer maxSeqLen", nameof(config));
        _policy = policy;
        _tokenizer = tokenizer;
        _tokenizerMetadata = tokenizerMetadata;
        _task = task;
        _settings = settings;
        _seed = config.Seed;
        _samplerThreads = config.Threads;
        _answer = new AnswerReward(task, promptOpensThinking: true);
        var combined = new WeightedReward((_answer, 1.0), (_format, 0.1));
        _reward = reward ?? combined.Score;

        _microBatch = Math.Min(config.BatchSize, model.MaxBatch);
        int n = _microBatch * model.MaxSeqLen;
        _tokens = new int[n];
        _targets = new int[n];
        _logProbs = new float[n];
        _dLogProbsFloat = new float[n];
        _weights = new double[n];
        _dLogProbs = new double[n];
        _microAdvantages = new double[_microBatch];
        if (reference is not null && (reference.Config != model.Config || reference.MaxBatch < _microBatch || reference.MaxSeqLen < model.MaxSeqLen))
            throw new ArgumentException($"the reference model must have the policy's config and hold {_microBatch} sequences of {model.MaxSeqLen} positions", nameof(reference));
        if (settings.KlBeta > 0)
        {
            _reference = reference ?? new Transformer(model.Config, _microBatch, model.MaxSeqLen);
            if (reference is null) model.Parameters.CopyTo(_reference.Parameters, 0);
        }
        _directory = Directory.CreateTempSubdirectory("seeksharp-grpo-").FullName;
    }

    /// <summary>Samples and scores one batch, then updates μ times on it; returns the batch's metrics.</summary>
    /// <remarks>The batch's problems and draws are seeded by its index (optimizer steps before it / μ), so runs of any μ
    /// start from the same batch.</remarks>
    public GrpoStepMetrics RunStep()
    {
        var o = _settings;
        var model = _policy.Model;
        int group = o.GroupSize;
        long step = _policy.Step / o.Iterations;

        var clock = Stopwatch.StartNew();
        Problem[] problems = [.. ProblemSets.Generate(_task, ProblemSplit.Train, (int)(Mix(_seed, 2 * (ulong)step) & int.MaxValue), o.PromptsPerStep)];
        int[][] prompts = [.. problems.Select(p => R1Prompt.Encode(_tokenizer, p.Prompt))];
        int longestPrompt = prompts.Max(p => p.Length);
        if (longestPrompt + o.MaxCompletionTokens > model.MaxSeqLen)
            throw new InvalidOperationException($"a rendered prompt of {longestPrompt} tokens plus {o.MaxCompletionTokens} completion tokens exceeds the model's {model.MaxSeqLen} positions (MaxSeqLen); lower grpo.maxCompletionTokens or build the Transformer with a longer maxSeqLen");
        var completions = Sample(prompts, Mix(_seed, 2 * (ulong)step + 1));
        double sampleSeconds = clock.Elapsed.TotalSeconds;

        clock.Restart();
        int count = completions.Count;
        var rewards = new double[count];
        var advantages = new double[count];
        double correct = 0, formatted = 0, length = 0;
        for (int i = 0; i < count; i++)
        {
            var problem = problems[completions[i].PromptIndex];
            string text = completions[i].Text;
            rewards[i] = _reward(problem, text);
            if (!double.IsFinite(rewards[i]))
                throw new InvalidOperationException($"the reward function returned {rewards[i]} for a completion of '{problem.Prompt}'; rewards must be finite");
            correct += _answer.Score(problem, text);
            formatted += _format.Score(problem, text);
            length += completions[i].Tokens.Length;
        }
        GroupAdvantages.Compute(rewards, group, o.DrGrpo, AdvantageEpsilon, advantages);

        // Without a KL term a completion of advantage 0 (every one of a group whose rewards tie, common early and late
        // in training) adds exactly 0 to the loss and its gradient, so it is not run through the model at all.
        // Micro-batches of similar lengths waste less compute on padding; the gradient is a sum, so order is free.
        int[] order = [.. Enumerable.Range(0, count)
            .Where(i => _reference is not null || advantages[i] != 0)
            .OrderBy(i => prompts[completions[i].PromptIndex].Length + completions[i].Tokens.Length)];
        // π_old and π_ref of each micro-batch, [rows, T] as laid out in the first update: the micro-batches and their
        // padding are the same in every update, so later updates read them back by index.
        int microBatches = (order.Length + _microBatch - 1) / _microBatch;
        var old = new float[]?[microBatches];
        var reference = new float[]?[microBatches];
        double lossSum = 0, klSum = 0;
        long clipped = 0, scored = 0;
        int lossTokens = 0;
        for (int iteration = 0; iteration < o.Iterations; iteration++)
        {
            model.ZeroGradients();
            double loss = 0;
            klSum = 0;
            lossTokens = 0;
            for (int k = 0; k < microBatches; k++)
            {
                int start = k * _microBatch, rows = Math.Min(_microBatch, order.Length - start);
                var micro = TrainMicroBatch(order.AsSpan(start, rows), prompts, completions, advantages, ref old[k], ref reference[k]);
                loss += micro.Loss;
                klSum += micro.KlSum;
                lossTokens += micro.Tokens;
                clipped += micro.Clipped;
            }
            scored += lossTokens;
            lossSum += loss;
            _policy.ApplyGradients((float)loss);
        }
        double trainSeconds = clock.Elapsed.TotalSeconds;

        double mean = rewards.Average();
        double std = Math.Sqrt(rewards.Sum(r => (r - mean) * (r - mean)) / count);
        double kl = _reference is null || lossTokens == 0 ? 0 : klSum / lossTokens;
        double clipFraction = scored == 0 ? 0 : (double)clipped / scored;
        return new GrpoStepMetrics(_policy.Step, mean, std, correct / count, formatted / count, length / count, kl,
            lossSum / o.Iterations, clipFraction, sampleSeconds, trainSeconds);
    }

    // The current policy as a GGUF run by the inference engine: batched, KV-cached sampling is far faster than the
    // training forward would be for token-by-token generation.
    private IReadOnlyList<Completion> Sample(int[][] prompts, ulong seed)
    {
        string path = Path.Combine(_directory, "policy.gguf");
        GgufExport.Write(_policy.Model, path, _tokenizerMetadata, name: "grpo-policy");
        using var model = SeekSharp.Models.Model.Load(path);
        using var sampler = new CompletionSampler(model, _tokenizer, _samplerThreads);
        var sampling = new SamplingOptions { Temperature = _settings.Temperature, TopK = 0, TopP = 1f, MinP = 0f };
        return sampler.Sample(prompts, _settings.GroupSize, _settings.MaxCompletionTokens, sampling, seed);
    }

    // One forward/backward over the sequences order[..] (prompt, completion, and EOS when the model stopped by itself),
    // padded to the longest; returns this micro-batch's share of J, its k3 sum, its completion-token count and how many
    // of those the clip stopped. The first update of a batch fills old (π_old) and reference (π_ref) with its
    // log-probabilities; later updates read them.
    private (double Loss, double KlSum, int Tokens, int Clipped) TrainMicroBatch(ReadOnlySpan<int> rows, int[][] prompts,
        IReadOnlyList<Completion> completions, double[] advantages, ref float[]? old, ref float[]? reference)
    {
        var o = _settings;
        var model = _policy.Model;
        int batch = rows.Length, count = completions.Count;
        int? eos = _tokenizer.EosId;
        int SequenceLength(Completion c) => prompts[c.PromptIndex].Length + c.Tokens.Length + (StopsWithEos(c, eos) ? 1 : 0);
        int seqLen = 1;
        foreach (int i in rows) seqLen = Math.Max(seqLen, SequenceLength(completions[i]) - 1); // inputs exclude the last token
        int n = batch * seqLen;
        var tokens = _tokens.AsSpan(0, n);
        var targets = _targets.AsSpan(0, n);
        var weights = _weights.AsSpan(0, n);
        tokens.Clear();
        targets.Clear();
        weights.Clear();
        int lossTokens = 0;
        for (int b = 0; b < batch; b++)
        {
            var c = completions[rows[b]];
            int[] prompt = prompts[c.PromptIndex];
            int completionTokens = c.Tokens.Length + (StopsWithEos(c, eos) ? 1 : 0);
            int total = prompt.Length + completionTokens;
            double w = GrpoObjective.SequenceWeight(o.DrGrpo, completionTokens, count, o.MaxCompletionTokens);
            int row = b * seqLen;
            for (int t = 0; t + 1 < total; t++)
            {
                tokens[row + t] = At(prompt, c, eos, t);
                targets[row + t] = At(prompt, c, eos, t + 1);
                // Position t predicts token t + 1: only predictions of completion tokens carry loss.
                if (t + 1 >= prompt.Length) weights[row + t] = w;
            }
            lossTokens += completionTokens;
            _microAdvantages[b] = advantages[rows[b]];
        }

        var logProbs = _logProbs.AsSpan(0, n);
        model.LogProbs(tokens, targets, batch, seqLen, logProbs, o.Temperature);
        if (old is null)
        {
            // The first update: no weight has moved since sampling, so this forward is π_old.
            old = logProbs.ToArray();
            if (_reference is not null)
            {
                reference = new float[n];
                _reference.LogProbs(tokens, targets, batch, seqLen, reference, o.Temperature);
            }
        }
        double loss = GrpoObjective.Evaluate(logProbs, old, reference ?? [], weights,
            _microAdvantages.AsSpan(0, batch), seqLen, o.ClipEpsilon, _reference is null ? 0 : o.KlBeta,
            _dLogProbs.AsSpan(0, n), out double klSum, out int clipped);
        var dLogProbs = _dLogProbsFloat.AsSpan(0, n);
        for (int i = 0; i < n; i++) dLogProbs[i] = (float)_dLogProbs[i];
        model.LogProbsBackward(dLogProbs);
        return (loss, klSum, lossTokens, clipped);
    }

    private static bool StopsWithEos(Completion c, int? eos) => c.Finish == Completion.Stop && eos is not null;

    // Token t of the sequence prompt ++ completion ++ [EOS].
    private static int At(int[] prompt, Completion c, int? eos, int t) =>
        t < prompt.Length ? prompt[t] : t - prompt.Length < c.Tokens.Length ? c.Tokens[t - prompt.Length] : eos!.Value;

    // SplitMix64 finaliser of (seed, stream): distinct, well-mixed seeds for each step's problems and draws.
    private static ulong Mix(ulong seed, ulong stream)
    {
        ulong z = seed + 0x9E3779B97F4A7C15UL * (stream + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Deletes the temporary folder of exported policies.</summary>
    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); }
        catch (IOException) { }
    }
}
