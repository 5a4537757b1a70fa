namespace SeekSharp.Training.Backward;

/// <summary>One named term of one op's backward that a gradient test may perturb (see <see cref="BackwardMutation"/>).</summary>
internal enum BackwardTerm
{
    None,
    /// <summary>RoPE: the d0·cos term of dx[2i].</summary>
    RopeCos,
    /// <summary>RMSNorm: the r·(dy ⊙ w) term of dx.</summary>
    RmsNormScale,
    /// <summary>RMSNorm: the −r³/D · x · Σ(dy ⊙ w ⊙ x) term of dx.</summary>
    RmsNormCorrection,
    /// <summary>RMSNorm: dweight.</summary>
    RmsNormWeight,
    /// <summary>SwiGLU: dgate = dh ⊙ up ⊙ silu′(gate).</summary>
    SwiGluGate,
    /// <summary>SwiGLU: dup = dh ⊙ silu(gate).</summary>
    SwiGluUp,
    /// <summary>Attention: dP = dO·Vᵀ inside the score gradient P ⊙ (dP − rowsum(P ⊙ dP)).</summary>
    AttentionScores,
    /// <summary>Attention: the softmax's rowsum(P ⊙ dP) inside the score gradient.</summary>
    AttentionSoftmax,
    /// <summary>Attention: dV = Pᵀ·dO.</summary>
    AttentionValues,
    /// <summary>Attention: dQ = dS·K.</summary>
    AttentionQueries,
    /// <summary>Attention: dK = dSᵀ·Q.</summary>
    AttentionKeys,
    /// <summary>Linear: dx = dy·W.</summary>
    LinearInput,
    /// <summary>Linear: dW = dyᵀ·x.</summary>
    LinearWeight,
    /// <summary>Embedding: dtable[token] += dx.</summary>
    Embedding,
    /// <summary>Cross-entropy: the −g·softmax term of dlogits.</summary>
    CrossEntropySoftmax,
    /// <summary>Cross-entropy: the +g at the target of dlogits.</summary>
    CrossEntropyTarget,
}

/// <summary>
/// A test-only hook that multiplies one <see cref="BackwardTerm"/> by a factor, so the gradient checks can prove they
/// catch a small error in any term (a mutation test). Internal: reachable from the test assemblies only.
/// </summary>
/// <remarks>
/// <para>The mutation is [ThreadStatic] and each backward reads it once, on its calling thread, at entry (<see cref="Current"/>),
/// then carries the snapshot into its work items by value. So a mutation set by one test is seen only by the backward
/// calls that test makes on its own thread, never by tests running concurrently on other threads, and pool workers
/// (on which the field is never set) never read it. xunit runs a synchronous test on one thread, so no test collection
/// or serialisation is needed. A backward that read it inside a work item would simply not be mutated, which the
/// mutation tests would report as an undetected mutation rather than pass silently.</para>
/// <para>Cost when off: one thread-static read per backward call, then a compare per term per call (or per row);
/// an unmutated term multiplies by exactly 1 or takes the original span, so results are bit-identical.</para>
/// </remarks>
internal static class BackwardMutation
{
    [ThreadStatic] private static BackwardTerm t_term;
    [ThreadStatic] private static float t_factor;

    /// <summary>The mutation of the calling thread; read once per backward call, before any work is dispatched.</summary>
    public static Snapshot Current => new(t_term, t_factor);

    /// <summary>Multiplies <paramref name="term"/> by <paramref name="factor"/> in the backward calls this thread makes until disposed.</summary>
    public static Scope Scale(BackwardTerm term, float factor)
    {
        var scope = new Scope(t_term, t_factor);
        t_term = term;
        t_factor = factor;
        return scope;
    }

    /// <summary>Restores the previous mutation.</summary>
    public readonly struct Scope(BackwardTerm term, float factor) : IDisposable
    {
        public void Dispose()
        {
            t_term = term;
            t_factor = factor;
        }
    }

    /// <summary>A mutation as one backward call sees it; unmanaged, so work items carry it by value.</summary>
    public readonly struct Snapshot(BackwardTerm term, float factor)
    {
        private readonly BackwardTerm _term = term;
        private readonly float _factor = factor;

        /// <summary>The factor of <paramref name="term"/>: 1 unless it is the mutated term.</summary>
        public float Of(BackwardTerm term) => term == _term && term != BackwardTerm.None ? _factor : 1f;

        /// <summary><paramref name="x"/> itself, or a scaled copy when <paramref name="term"/> is mutated.</summary>
        public ReadOnlySpan<float> Scaled(ReadOnlySpan<float> x, BackwardTerm term)
        {
            float f = Of(term);
            if (f == 1f)
                return x;
            var copy = new float[x.Length];
            System.Numerics.Tensors.TensorPrimitives.Multiply(x, f, copy);
            return copy;
        }
    }
}
