using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SeekSharp.Kernels.Simd;

/// <summary>
/// An element-wise operation <c>r = f(x, y)</c> stated once per width; <see cref="Elementwise"/> walks
/// the tiers. Every overload must round identically per element so that all tiers agree bit for bit.
/// </summary>
internal interface IBinaryOperator
{
    float Invoke(float x, float y);
    Vector256<float> Invoke(Vector256<float> x, Vector256<float> y);
    Vector512<float> Invoke(Vector512<float> x, Vector512<float> y);
}

/// <summary><c>x + y</c>.</summary>
internal readonly struct AddOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Invoke(float x, float y) => x + y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x + y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x + y;
}

/// <summary><c>x * y</c>.</summary>
internal readonly struct MultiplyOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Invoke(float x, float y) => x * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x * y;
}

/// <summary><c>x * s</c> (the second operand is ignored), as ggml_vec_scale_f32.</summary>
internal readonly struct ScaleOperator(float s) : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Invoke(float x, float y) => x * s;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x * Vector256.Create(s);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x * Vector512.Create(s);
}

/// <summary>
/// <c>(x * s) * y</c>: the RMS-norm output, rounded twice exactly as ggml does it
/// (rms_norm scales, then a separate MUL applies the weight).
/// </summary>
internal readonly struct ScaleMultiplyOperator(float s) : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Invoke(float x, float y) => (x * s) * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => (x * Vector256.Create(s)) * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => (x * Vector512.Create(s)) * y;
}

/// <summary>
/// <c>fma(a, x, y)</c> with <c>x</c> the first operand and <c>y</c> the accumulator. Fused in every tier
/// (ggml_vec_mad_f32 uses FMA in its SIMD body), so scalar and vector results are identical.
/// </summary>
internal readonly struct AxpyOperator(float a) : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Invoke(float x, float y) => MathF.FusedMultiplyAdd(a, x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => Vector256.FusedMultiplyAdd(Vector256.Create(a), x, y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => Vector512.FusedMultiplyAdd(Vector512.Create(a), x, y);
}

/// <summary>
/// <c>silu(g) * u = g / (1 + exp(-g)) * u</c>, the SwiGLU gate (ggml_vec_swiglu_f32).
/// The vector tiers use the runtime's vectorised exp, which may differ from <see cref="MathF.Exp"/>
/// in the last bits; this is the one operator whose tiers are not bit-identical.
/// </summary>
internal readonly struct SiluMultiplyOperator : IBinaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Invoke(float g, float u) => g / (1f + MathF.Exp(-g)) * u;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Invoke(Vector256<float> g, Vector256<float> u) => g / (Vector256<float>.One + Vector256.Exp(-g)) * u;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Invoke(Vector512<float> g, Vector512<float> u) => g / (Vector512<float>.One + Vector512.Exp(-g)) * u;
}
