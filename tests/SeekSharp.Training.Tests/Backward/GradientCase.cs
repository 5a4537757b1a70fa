using SeekSharp.Kernels.Threading;
using static SeekSharp.Training.Tests.Backward.GradCheck;

namespace SeekSharp.Training.Tests.Backward;

/// <summary>
/// One op's gradient problem: the inputs to perturb (with the elements to check), the scalar objective Σ r·y, and a
/// backward that recomputes the analytic gradient of every input from scratch, so it honours a
/// <see cref="SeekSharp.Training.Backward.BackwardMutation"/> in force when it is called.
/// </summary>
internal sealed class GradientCase(string name, Func<double> objective, Func<float[][]> backward, params GradientCase.Input[] inputs)
{
    /// <summary>An input of the op and the elements of it to check.</summary>
    public sealed record Input(string Name, float[] Values, int[] Indices);

    public string Name { get; } = name;
    public IReadOnlyList<Input> Inputs { get; } = inputs;
    public Func<double> Objective { get; } = objective;

    /// <summary>Analytic gradients, one per input; runs the forward first (the numeric check leaves saved state at a perturbed point).</summary>
    public float[][] Backward()
    {
        Objective();
        return backward();
    }

    /// <summary>Numeric gradients, one per input (independent of any backward mutation: they only run the forward).</summary>
    public double[][] Numeric() => Inputs.Select(i => GradCheck.Numeric(i.Values, Objective, i.Indices)).ToArray();

    /// <summary>The worst error / bound over every input, and which input.</summary>
    public (string Input, Worst Worst) Compare(double[][] numeric, float[][] analytic)
    {
        (string, Worst) worst = ("", new Worst(0, -1, 0, 0));
        for (int k = 0; k < Inputs.Count; k++)
        {
            var w = GradCheck.Compare(numeric[k], analytic[k], Inputs[k].Indices);
            if (!(w.Ratio <= worst.Item2.Ratio))
                worst = (Inputs[k].Name, w);
        }
        return worst;
    }

    /// <summary>Asserts the analytic gradients pass the numeric check.</summary>
    public void Check()
    {
        var (input, worst) = Compare(Numeric(), Backward());
        Assert.True(worst.Ratio <= 1, $"{Name}: d{input}{worst}");
    }

    public override string ToString() => Name;

    private static int[] All(float[] x) => Enumerable.Range(0, x.Length).ToArray();

    // ---- the cases: every op's backward, through Σ r·y with random r ----

    public static GradientCase Linear(WorkerPool pool)
    {
        var rng = new Random(1);
        int n = 3, inDim = 5, outDim = 4;
        float[] x = Random(rng, n * inDim), w = Random(rng, outDim * inDim), r = Random(rng, n * outDim), y = new float[n * outDim];
        return new("Linear",
            () => { SeekSharp.Training.Backward.Linear.Forward(x, w, y, n, inDim, outDim, pool); return Dot(r, y); },
            () =>
            {
                float[] dx = new float[x.Length], dw = new float[w.Length];
                SeekSharp.Training.Backward.Linear.Backward(r, x, w, dx, dw, n, inDim, outDim, pool);
                return [dx, dw];
            },
            new Input("x", x, All(x)), new Input("w", w, All(w)));
    }

    public static GradientCase Embedding()
    {
        var rng = new Random(3);
        int v = 6, d = 4;
        int[] tokens = [2, 5, 2, 0, 2]; // repeats must sum
        float[] table = Random(rng, v * d), r = Random(rng, tokens.Length * d), x = new float[tokens.Length * d];
        return new("Embedding",
            () => { SeekSharp.Training.Backward.Embedding.Forward(tokens, table, x, d); return Dot(r, x); },
            () =>
            {
                float[] dtable = new float[table.Length];
                SeekSharp.Training.Backward.Embedding.Backward(r, tokens, dtable, d);
                return [dtable];
            },
            new Input("table", table, All(table)));
    }

    /// <summary>RMSNorm on [n, d]; d above 64 spans several weight-gradient column blocks.</summary>
    public static GradientCase RmsNorm(WorkerPool pool, int seed = 4, int n = 3, int d = 8, Func<int, bool>? xElements = null)
    {
        var rng = new Random(seed);
        float[] x = Random(rng, n * d), w = Random(rng, d, 0.3, 1.0), r = Random(rng, n * d), y = new float[n * d], rstd = new float[n];
        return new($"RmsNorm[{n}×{d}]",
            () => { SeekSharp.Training.Backward.RmsNorm.Forward(x, w, 1e-5f, y, rstd, n, pool); return Dot(r, y); },
            () =>
            {
                float[] dx = new float[x.Length], dw = new float[w.Length];
                SeekSharp.Training.Backward.RmsNorm.Backward(r, x, w, rstd, dx, dw, n, pool);
                return [dx, dw];
            },
            new Input("x", x, All(x).Where(xElements ?? (_ => true)).ToArray()), new Input("w", w, All(w)));
    }

    public static GradientCase Rope()
    {
        var rng = new Random(5);
        int b = 2, t = 3, heads = 2, hd = 4, n = b * t;
        float[] cos = new float[t * hd / 2], sin = new float[t * hd / 2];
        new SeekSharp.Models.Blocks.Rope(hd, hd, 10000f, 1f, SeekSharp.Models.RopeMode.Adjacent).Table(t, cos, sin);
        float[] x = Random(rng, n * heads * hd), r = Random(rng, x.Length), y = new float[x.Length];
        return new("Rope",
            () => { SeekSharp.Training.Backward.Rope.Forward(x, cos, sin, y, n, t, heads, hd, heads * hd); return Dot(r, y); },
            () =>
            {
                float[] dx = new float[x.Length];
                SeekSharp.Training.Backward.Rope.Backward(r, cos, sin, dx, n, t, heads, hd, heads * hd);
                return [dx];
            },
            new Input("x", x, All(x)));
    }

    /// <summary>Attention on separate q, k, v tensors through the direct kernel, or through the GEMM kernel.</summary>
    public static GradientCase Attention(WorkerPool pool, int heads, int kvHeads, bool gemm = false, int t = 4, int seed = 7)
    {
        var rng = new Random(seed);
        int b = 2, hd = 4, n = b * t, qs = heads * hd, ks = kvHeads * hd;
        float[] q = Random(rng, n * qs), k = Random(rng, n * ks), v = Random(rng, n * ks);
        float[] att = new float[b * heads * t * t], y = new float[n * qs], r = Random(rng, y.Length);
        float[] scratch = gemm ? new float[b * kvHeads * SeekSharp.Training.Backward.AttentionGemm.ScratchPerItem(t, hd)] : [];
        return new($"Attention{(gemm ? "Gemm" : "")}(H={heads}, Hkv={kvHeads}, T={t})",
            () =>
            {
                if (gemm)
                    SeekSharp.Training.Backward.AttentionGemm.Forward(q, k, v, att, y, b, t, heads, kvHeads, hd, qs, ks, scratch, pool);
                else
                    SeekSharp.Training.Backward.Attention.Forward(q, k, v, att, y, b, t, heads, kvHeads, hd, qs, ks, pool);
                return Dot(r, y);
            },
            () =>
            {
                float[] dq = new float[q.Length], dk = new float[k.Length], dv = new float[v.Length];
                if (gemm)
                    SeekSharp.Training.Backward.AttentionGemm.Backward(r, q, k, v, att, dq, dk, dv, b, t, heads, kvHeads, hd, qs, ks, scratch, pool);
                else
                    SeekSharp.Training.Backward.Attention.Backward(r, q, k, v, att, dq, dk, dv, b, t, heads, kvHeads, hd, qs, ks, pool);
                return [dq, dk, dv];
            },
            new Input("q", q, All(q)), new Input("k", k, All(k)), new Input("v", v, All(v)));
    }

    /// <summary>The model's layout: each row is q | k | v, so all three share one row stride.</summary>
    public static GradientCase AttentionOnFusedProjection(WorkerPool pool)
    {
        var rng = new Random(12);
        int b = 2, t = 3, heads = 4, kvHeads = 2, hd = 4, n = b * t, qDim = heads * hd, kvDim = kvHeads * hd, stride = qDim + 2 * kvDim;
        float[] qkv = Random(rng, n * stride), att = new float[b * heads * t * t], y = new float[n * qDim], r = Random(rng, y.Length);
        return new("AttentionOnFusedProjection",
            () =>
            {
                SeekSharp.Training.Backward.Attention.Forward(qkv, qkv.AsSpan(qDim), qkv.AsSpan(qDim + kvDim), att, y, b, t, heads, kvHeads, hd, stride, stride, pool);
                return Dot(r, y);
            },
            () =>
            {
                float[] dqkv = new float[qkv.Length];
                SeekSharp.Training.Backward.Attention.Backward(r, qkv, qkv.AsSpan(qDim), qkv.AsSpan(qDim + kvDim), att,
                    dqkv, dqkv.AsSpan(qDim), dqkv.AsSpan(qDim + kvDim), b, t, heads, kvHeads, hd, stride, stride, pool);
                return [dqkv];
            },
            new Input("qkv", qkv, All(qkv)));
    }

    /// <summary>f above the 256-float backward chunk; checks every 7th element and the elements around the chunk edge.</summary>
    public static GradientCase SwiGlu(WorkerPool pool)
    {
        var rng = new Random(9);
        int n = 3, f = 300;
        float[] gateUp = Random(rng, n * 2 * f, 3.0), r = Random(rng, n * f), h = new float[n * f];
        return new("SwiGlu",
            () => { SeekSharp.Training.Backward.SwiGlu.Forward(gateUp, h, n, f, pool); return Dot(r, h); },
            () =>
            {
                float[] dGateUp = new float[gateUp.Length];
                SeekSharp.Training.Backward.SwiGlu.Backward(r, gateUp, dGateUp, n, f, pool);
                return [dGateUp];
            },
            new Input("gateUp", gateUp, All(gateUp).Where(i => i % 7 == 0 || i % (2 * f) >= 250 && i % (2 * f) < 300 || i % (2 * f) >= 550).ToArray()));
    }

    public static GradientCase CrossEntropy(WorkerPool pool)
    {
        var rng = new Random(10);
        int n = 3, vocab = 7;
        int[] targets = [4, 0, 6];
        float[] logits = Random(rng, n * vocab, 3.0), r = Random(rng, n), lse = new float[n], lp = new float[n];
        r[1] = 0f; // a masked row contributes nothing
        return new("CrossEntropy",
            () => { SeekSharp.Training.Backward.CrossEntropy.Forward(logits, targets, lse, lp, vocab, pool); return Dot(r, lp); },
            () =>
            {
                float[] dlogits = new float[logits.Length];
                SeekSharp.Training.Backward.CrossEntropy.Backward(r, logits, targets, lse, dlogits, vocab, pool);
                return [dlogits];
            },
            new Input("logits", logits, All(logits)));
    }
}
