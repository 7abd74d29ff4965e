using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoLlm.Tensors;

/// <summary>The rectified linear unit, max(0, x).</summary>
public static class Relu
{
    // y = max(0, x)
    public static void Forward(Span<float> y, ReadOnlySpan<float> x)
    {
        ElementWise.CheckSameLength(y.Length, x.Length);
        VectorLoops.Map(KernelSettings.VectorWidth, x, y, default(ForwardOperator));
    }

    // dx += dy · [x > 0]
    public static void Backward(Span<float> dx, ReadOnlySpan<float> x, ReadOnlySpan<float> dy)
    {
        ElementWise.CheckSameLength(dx.Length, x.Length);
        ElementWise.CheckSameLength(dx.Length, dy.Length);
        VectorLoops.Map(KernelSettings.VectorWidth, x, dy, dx, dx, default(BackwardOperator));
    }

    private readonly struct ForwardOperator : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x) => x > 0f ? x : 0f;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x) => Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), x, Vector128<float>.Zero);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), x, Vector256<float>.Zero);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x, Vector512<float>.Zero);
    }

    // (x, dy, dx) → dx + (x > 0 ? dy : 0)
    private readonly struct BackwardOperator : ITernaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float x, float dy, float dx) => x > 0f ? dx + dy : dx;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> x, Vector128<float> dy, Vector128<float> dx) =>
            dx + Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), dy, Vector128<float>.Zero);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> dy, Vector256<float> dx) =>
            dx + Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), dy, Vector256<float>.Zero);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> dy, Vector512<float> dx) =>
            dx + Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), dy, Vector512<float>.Zero);
    }
}
