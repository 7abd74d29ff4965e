using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoLlm.Tensors;

/// <summary>The squared rectified linear unit, max(0, x)² (So et al. 2021, Primer; modded-nanogpt's feed-forward).</summary>
public static class ReluSquared
{
    // y = max(0, x)²
    public static void Forward(Span<float> y, ReadOnlySpan<float> x)
    {
        ElementWise.CheckSameLength(y.Length, x.Length);
        VectorLoops.Map(KernelSettings.VectorWidth, x, y, default(ForwardOperator));
    }

    // dx = dy·2·max(0, x);  dx may be dy (in place)
    public static void Backward(Span<float> dx, ReadOnlySpan<float> x, ReadOnlySpan<float> dy)
    {
        ElementWise.CheckSameLength(dx.Length, x.Length);
        ElementWise.CheckSameLength(dx.Length, dy.Length);
        VectorLoops.Map(KernelSettings.VectorWidth, x, dy, dx, default(BackwardOperator));
    }

    // x → max(0, x)²
    private readonly struct ForwardOperator : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x) => x > 0f ? x * x : 0f;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x)
        {
            var positive = Vector128.Max(x, Vector128<float>.Zero);
            return positive * positive;
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x)
        {
            var positive = Vector256.Max(x, Vector256<float>.Zero);
            return positive * positive;
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x)
        {
            var positive = Vector512.Max(x, Vector512<float>.Zero);
            return positive * positive;
        }
    }

    // (x, dy) → 2·max(0, x)·dy
    private readonly struct BackwardOperator : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x, float dy) => x > 0f ? 2f * x * dy : 0f;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x, Vector128<float> dy) => Vector128.Create(2f) * Vector128.Max(x, Vector128<float>.Zero) * dy;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> dy) => Vector256.Create(2f) * Vector256.Max(x, Vector256<float>.Zero) * dy;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> dy) => Vector512.Create(2f) * Vector512.Max(x, Vector512<float>.Zero) * dy;
    }
}
