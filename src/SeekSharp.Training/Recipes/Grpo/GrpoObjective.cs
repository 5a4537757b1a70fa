namespace SeekSharp.Training.Recipes.Grpo;

/// <summary>
/// The GRPO objective over completion tokens and its gradient with respect to each token's log-probability, which
/// <c>Transformer.LogProbsBackward</c> carries through the network. Glossary: B sequences, T positions, N = B·T tokens;
/// x = log π(token) under the policy being trained, x_old under the policy that sampled it, x_ref under the frozen
/// reference, A the sequence's advantage, ρ = exp(x − x_old).
/// </summary>
/// <remarks>
/// <para>Per token (DeepSeekMath eq. 3, minimised so signs flip):
/// <c>ℓ = −min(ρ·A, clip(ρ, 1−ε, 1+ε)·A) + β·k3</c>, with the k3 estimator of KL(π ‖ π_ref) (Schulman, "Approximating
/// KL divergence"): <c>k3 = exp(x_ref − x) − (x_ref − x) − 1</c>, non-negative and unbiased under samples from π.
/// The loss is <c>J = Σ_tokens w·ℓ</c> where w is 0 off the completion and otherwise 1/(N_c·|o|) for GRPO (mean over
/// a completion's tokens, then over the N_c completions) or 1/(N_c·L_max) for Dr. GRPO (a constant, so longer
/// completions are not down-weighted per token).</para>
/// <para>Derivative with respect to x (x_old and x_ref are constants, dρ/dx = ρ):
/// <list type="bullet">
/// <item>Surrogate. When ρ·A ≤ clip(ρ)·A the minimum is ρ·A, and ∂(−ρ·A)/∂x = −ρ·A. Otherwise the minimum is the
/// clipped term; that only happens with ρ outside [1−ε, 1+ε] (inside, both terms are equal), where clip(ρ) is constant,
/// so the derivative is 0: the update stops once the ratio has moved ε in the direction the advantage favours.</item>
/// <item>KL. ∂k3/∂x = −exp(x_ref − x) + 1 = 1 − exp(x_ref − x): positive when π gives the token more probability than
/// π_ref, so minimising pulls it back.</item>
/// </list>
/// So <c>∂J/∂x = w·(−ρ·A·[ρA ≤ clip(ρ)A] + β·(1 − exp(x_ref − x)))</c>. At ρ = 1 with β = 0 this is −w·A: the
/// REINFORCE gradient with the group mean as baseline, −Σ w·A·∇log π.</para>
/// </remarks>
internal static class GrpoObjective
{
    /// <summary>Per-token weight of a completion with <paramref name="tokens"/> loss tokens among <paramref name="completions"/>.</summary>
    public static double SequenceWeight(bool drGrpo, int tokens, int completions, int maxCompletionTokens) =>
        tokens == 0 ? 0 : 1.0 / (completions * (double)(drGrpo ? maxCompletionTokens : tokens));

    /// <summary>ℓ of one token (see the remarks).</summary>
    public static double TokenLoss(double x, double xOld, double xRef, double advantage, double epsilon, double beta)
    {
        double ratio = Math.Exp(x - xOld);
        double clipped = Math.Clamp(ratio, 1 - epsilon, 1 + epsilon);
        double loss = -Math.Min(ratio * advantage, clipped * advantage);
        if (beta != 0) loss += beta * K3(x, xRef);
        return loss;
    }

    /// <summary>True when the clipped term is the minimum and differs from the unclipped one: ρ left [1 − ε, 1 + ε] in the
    /// direction the advantage favours, so the token's surrogate gradient is 0.</summary>
    public static bool IsClipped(double x, double xOld, double advantage, double epsilon)
    {
        double ratio = Math.Exp(x - xOld);
        return (advantage > 0 && ratio > 1 + epsilon) || (advantage < 0 && ratio < 1 - epsilon);
    }

    /// <summary>∂ℓ/∂x of one token (see the remarks).</summary>
    public static double TokenGradient(double x, double xOld, double xRef, double advantage, double epsilon, double beta)
    {
        double ratio = Math.Exp(x - xOld);
        double clipped = Math.Clamp(ratio, 1 - epsilon, 1 + epsilon);
        double grad = ratio * advantage <= clipped * advantage ? -ratio * advantage : 0;
        if (beta != 0) grad += beta * (1 - Math.Exp(xRef - x));
        return grad;
    }

    /// <summary>The k3 estimate of KL(π ‖ π_ref) from one token sampled from π.</summary>
    public static double K3(double x, double xRef) => Math.Exp(xRef - x) - (xRef - x) - 1;

    /// <summary>
    /// J over a micro-batch and ∂J/∂x per token. Tokens of weight 0 (prompt, padding) contribute nothing and get 0.
    /// </summary>
    /// <param name="logProbs">[B, T] x.</param>
    /// <param name="oldLogProbs">[B, T] x_old.</param>
    /// <param name="refLogProbs">[B, T] x_ref, or empty when <paramref name="beta"/> is 0.</param>
    /// <param name="weights">[B, T] w.</param>
    /// <param name="advantages">[B] A per sequence.</param>
    /// <param name="seqLen">T.</param>
    /// <param name="epsilon">Clip ε.</param>
    /// <param name="beta">KL weight β.</param>
    /// <param name="dLogProbs">[B, T] output ∂J/∂x.</param>
    /// <param name="klSum">Sum of k3 over the weighted tokens (for logging; 0 when β is 0).</param>
    /// <param name="clipped">Weighted tokens whose ratio is clipped (<see cref="IsClipped"/>).</param>
    /// <returns>J.</returns>
    public static double Evaluate(ReadOnlySpan<float> logProbs, ReadOnlySpan<float> oldLogProbs, ReadOnlySpan<float> refLogProbs,
        ReadOnlySpan<double> weights, ReadOnlySpan<double> advantages, int seqLen, double epsilon, double beta,
        Span<double> dLogProbs, out double klSum, out int clipped)
    {
        int n = weights.Length;
        if (logProbs.Length != n || oldLogProbs.Length != n || dLogProbs.Length != n || n != advantages.Length * seqLen)
            throw new ArgumentException($"GRPO objective shapes disagree: [B={advantages.Length}, T={seqLen}] against {logProbs.Length} log-probs, {oldLogProbs.Length} old, {weights.Length} weights, {dLogProbs.Length} gradients.");
        if (beta != 0 && refLogProbs.Length != n)
            throw new ArgumentException($"β = {beta} needs {n} reference log-probs, got {refLogProbs.Length}.", nameof(refLogProbs));
        double loss = 0;
        klSum = 0;
        clipped = 0;
        for (int i = 0; i < n; i++)
        {
            double w = weights[i];
            if (w == 0)
            {
                dLogProbs[i] = 0;
                continue;
            }
            double a = advantages[i / seqLen], x = logProbs[i], xOld = oldLogProbs[i], xRef = beta != 0 ? refLogProbs[i] : 0;
            loss += w * TokenLoss(x, xOld, xRef, a, epsilon, beta);
            dLogProbs[i] = w * TokenGradient(x, xOld, xRef, a, epsilon, beta);
            if (beta != 0) klSum += K3(x, xRef);
            if (IsClipped(x, xOld, a, epsilon)) clipped++;
        }
        return loss;
    }
}
