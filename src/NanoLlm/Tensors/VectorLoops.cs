using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NanoLlm.Tensors;

/// <summary>An element-wise function written once per width; the loops below run it over spans.</summary>
internal interface IUnaryOperator
{
    float Invoke(float x);
    Vector128<float> Invoke(Vector128<float> x);
    Vector256<float> Invoke(Vector256<float> x);
    Vector512<float> Invoke(Vector512<float> x);
}

/// <summary>An element-wise function of two inputs.</summary>
internal interface IBinaryOperator
{
    float Invoke(float x, float y);
    Vector128<float> Invoke(Vector128<float> x, Vector128<float> y);
    Vector256<float> Invoke(Vector256<float> x, Vector256<float> y);
    Vector512<float> Invoke(Vector512<float> x, Vector512<float> y);
}

/// <summary>An element-wise function of three inputs.</summary>
internal interface ITernaryOperator
{
    float Invoke(float x, float y, float z);
    Vector128<float> Invoke(Vector128<float> x, Vector128<float> y, Vector128<float> z);
    Vector256<float> Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> z);
    Vector512<float> Invoke(Vector512<float> x, Vector512<float> y, Vector512<float> z);
}

/// <summary>An element-wise function of four inputs.</summary>
internal interface IQuaternaryOperator
{
    float Invoke(float x, float y, float z, float w);
    Vector128<float> Invoke(Vector128<float> x, Vector128<float> y, Vector128<float> z, Vector128<float> w);
    Vector256<float> Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> z, Vector256<float> w);
    Vector512<float> Invoke(Vector512<float> x, Vector512<float> y, Vector512<float> z, Vector512<float> w);
}

/// <summary>
/// Loops that apply an operator over spans in vectors of at most <c>width</c> bits (the caller reads
/// <see cref="KernelSettings.VectorWidth"/> once per kernel call: it is a thread-static lookup), then narrower ones,
/// then scalars for the last few elements (TensorPrimitives' shape). Every element is read
/// before its result is written, so the output may be one of the inputs. Sums keep several vectors of partial sums
/// in the widest path, so they run at the adder's throughput rather than its latency.
/// </summary>
internal static class VectorLoops
{
    // y[i] = f(x[i])
    public static void Map<TOperator>(int width, ReadOnlySpan<float> x, Span<float> y, TOperator f)
        where TOperator : struct, IUnaryOperator
    {
        ref var xs = ref MemoryMarshal.GetReference(x);
        ref var ys = ref MemoryMarshal.GetReference(y);
        var length = (nuint)x.Length;
        nuint i = 0;
        if (width >= 512)
        {
            for (; i + 16 <= length; i += 16)
            {
                f.Invoke(Vector512.LoadUnsafe(ref xs, i)).StoreUnsafe(ref ys, i);
            }
        }
        if (width >= 256)
        {
            for (; i + 8 <= length; i += 8)
            {
                f.Invoke(Vector256.LoadUnsafe(ref xs, i)).StoreUnsafe(ref ys, i);
            }
        }
        if (width >= 128)
        {
            for (; i + 4 <= length; i += 4)
            {
                f.Invoke(Vector128.LoadUnsafe(ref xs, i)).StoreUnsafe(ref ys, i);
            }
        }
        for (; i < length; i++)
        {
            Unsafe.Add(ref ys, i) = f.Invoke(Unsafe.Add(ref xs, i));
        }
    }

    // out[i] = f(x[i], y[i])
    public static void Map<TOperator>(int width, ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> output, TOperator f)
        where TOperator : struct, IBinaryOperator
    {
        ref var xs = ref MemoryMarshal.GetReference(x);
        ref var ys = ref MemoryMarshal.GetReference(y);
        ref var os = ref MemoryMarshal.GetReference(output);
        var length = (nuint)x.Length;
        nuint i = 0;
        if (width >= 512)
        {
            for (; i + 16 <= length; i += 16)
            {
                f.Invoke(Vector512.LoadUnsafe(ref xs, i), Vector512.LoadUnsafe(ref ys, i)).StoreUnsafe(ref os, i);
            }
        }
        if (width >= 256)
        {
            for (; i + 8 <= length; i += 8)
            {
                f.Invoke(Vector256.LoadUnsafe(ref xs, i), Vector256.LoadUnsafe(ref ys, i)).StoreUnsafe(ref os, i);
            }
        }
        if (width >= 128)
        {
            for (; i + 4 <= length; i += 4)
            {
                f.Invoke(Vector128.LoadUnsafe(ref xs, i), Vector128.LoadUnsafe(ref ys, i)).StoreUnsafe(ref os, i);
            }
        }
        for (; i < length; i++)
        {
            Unsafe.Add(ref os, i) = f.Invoke(Unsafe.Add(ref xs, i), Unsafe.Add(ref ys, i));
        }
    }

    // out[i] = f(x[i], y[i], z[i])
    public static void Map<TOperator>(int width, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> z, Span<float> output, TOperator f)
        where TOperator : struct, ITernaryOperator
    {
        ref var xs = ref MemoryMarshal.GetReference(x);
        ref var ys = ref MemoryMarshal.GetReference(y);
        ref var zs = ref MemoryMarshal.GetReference(z);
        ref var os = ref MemoryMarshal.GetReference(output);
        var length = (nuint)x.Length;
        nuint i = 0;
        if (width >= 512)
        {
            for (; i + 16 <= length; i += 16)
            {
                f.Invoke(Vector512.LoadUnsafe(ref xs, i), Vector512.LoadUnsafe(ref ys, i), Vector512.LoadUnsafe(ref zs, i)).StoreUnsafe(ref os, i);
            }
        }
        if (width >= 256)
        {
            for (; i + 8 <= length; i += 8)
            {
                f.Invoke(Vector256.LoadUnsafe(ref xs, i), Vector256.LoadUnsafe(ref ys, i), Vector256.LoadUnsafe(ref zs, i)).StoreUnsafe(ref os, i);
            }
        }
        if (width >= 128)
        {
            for (; i + 4 <= length; i += 4)
            {
                f.Invoke(Vector128.LoadUnsafe(ref xs, i), Vector128.LoadUnsafe(ref ys, i), Vector128.LoadUnsafe(ref zs, i)).StoreUnsafe(ref os, i);
            }
        }
        for (; i < length; i++)
        {
            Unsafe.Add(ref os, i) = f.Invoke(Unsafe.Add(ref xs, i), Unsafe.Add(ref ys, i), Unsafe.Add(ref zs, i));
        }
    }

    // out[i] = f(x[i], y[i], z[i], w[i])
    public static void Map<TOperator>(int width, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> z, ReadOnlySpan<float> w, Span<float> output, TOperator f)
        where TOperator : struct, IQuaternaryOperator
    {
        ref var xs = ref MemoryMarshal.GetReference(x);
        ref var ys = ref MemoryMarshal.GetReference(y);
        ref var zs = ref MemoryMarshal.GetReference(z);
        ref var ws = ref MemoryMarshal.GetReference(w);
        ref var os = ref MemoryMarshal.GetReference(output);
        var length = (nuint)x.Length;
        nuint i = 0;
        if (width >= 512)
        {
            for (; i + 16 <= length; i += 16)
            {
                f.Invoke(Vector512.LoadUnsafe(ref xs, i), Vector512.LoadUnsafe(ref ys, i), Vector512.LoadUnsafe(ref zs, i), Vector512.LoadUnsafe(ref ws, i)).StoreUnsafe(ref os, i);
            }
        }
        if (width >= 256)
        {
            for (; i + 8 <= length; i += 8)
            {
                f.Invoke(Vector256.LoadUnsafe(ref xs, i), Vector256.LoadUnsafe(ref ys, i), Vector256.LoadUnsafe(ref zs, i), Vector256.LoadUnsafe(ref ws, i)).StoreUnsafe(ref os, i);
            }
        }
        if (width >= 128)
        {
            for (; i + 4 <= length; i += 4)
            {
                f.Invoke(Vector128.LoadUnsafe(ref xs, i), Vector128.LoadUnsafe(ref ys, i), Vector128.LoadUnsafe(ref zs, i), Vector128.LoadUnsafe(ref ws, i)).StoreUnsafe(ref os, i);
            }
        }
        for (; i < length; i++)
        {
            Unsafe.Add(ref os, i) = f.Invoke(Unsafe.Add(ref xs, i), Unsafe.Add(ref ys, i), Unsafe.Add(ref zs, i), Unsafe.Add(ref ws, i));
        }
    }

    // Σ_i f(x[i], y[i], z[i]), in lanes that are added together at the end
    public static float Sum<TOperator>(int width, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> z, TOperator f)
        where TOperator : struct, ITernaryOperator
    {
        ref var xs = ref MemoryMarshal.GetReference(x);
        ref var ys = ref MemoryMarshal.GetReference(y);
        ref var zs = ref MemoryMarshal.GetReference(z);
        var length = (nuint)x.Length;
        nuint i = 0;
        var sum = 0f;
        if (width >= 512 && length >= 16)
        {
            var (lanes, lanes1, lanes2, lanes3) = (Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero);
            for (; i + 64 <= length; i += 64)
            {
                lanes += f.Invoke(Vector512.LoadUnsafe(ref xs, i), Vector512.LoadUnsafe(ref ys, i), Vector512.LoadUnsafe(ref zs, i));
                lanes1 += f.Invoke(Vector512.LoadUnsafe(ref xs, i + 16), Vector512.LoadUnsafe(ref ys, i + 16), Vector512.LoadUnsafe(ref zs, i + 16));
                lanes2 += f.Invoke(Vector512.LoadUnsafe(ref xs, i + 32), Vector512.LoadUnsafe(ref ys, i + 32), Vector512.LoadUnsafe(ref zs, i + 32));
                lanes3 += f.Invoke(Vector512.LoadUnsafe(ref xs, i + 48), Vector512.LoadUnsafe(ref ys, i + 48), Vector512.LoadUnsafe(ref zs, i + 48));
            }
            for (; i + 16 <= length; i += 16)
            {
                lanes += f.Invoke(Vector512.LoadUnsafe(ref xs, i), Vector512.LoadUnsafe(ref ys, i), Vector512.LoadUnsafe(ref zs, i));
            }
            sum += HorizontalSum((lanes + lanes1) + (lanes2 + lanes3));
        }
        if (width >= 256 && length - i >= 8)
        {
            var lanes = Vector256<float>.Zero;
            for (; i + 8 <= length; i += 8)
            {
                lanes += f.Invoke(Vector256.LoadUnsafe(ref xs, i), Vector256.LoadUnsafe(ref ys, i), Vector256.LoadUnsafe(ref zs, i));
            }
            sum += HorizontalSum(lanes);
        }
        if (width >= 128 && length - i >= 4)
        {
            var lanes = Vector128<float>.Zero;
            for (; i + 4 <= length; i += 4)
            {
                lanes += f.Invoke(Vector128.LoadUnsafe(ref xs, i), Vector128.LoadUnsafe(ref ys, i), Vector128.LoadUnsafe(ref zs, i));
            }
            sum += HorizontalSum(lanes);
        }
        for (; i < length; i++)
        {
            sum += f.Invoke(Unsafe.Add(ref xs, i), Unsafe.Add(ref ys, i), Unsafe.Add(ref zs, i));
        }
        return sum;
    }

    // Σ_i f(x[i]), in lanes that are added together at the end
    public static float Sum<TOperator>(int width, ReadOnlySpan<float> x, TOperator f)
        where TOperator : struct, IUnaryOperator
    {
        ref var xs = ref MemoryMarshal.GetReference(x);
        var length = (nuint)x.Length;
        nuint i = 0;
        var sum = 0f;
        if (width >= 512 && length >= 16)
        {
            var (lanes, lanes1, lanes2, lanes3) = (Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero);
            for (; i + 64 <= length; i += 64)
            {
                lanes += f.Invoke(Vector512.LoadUnsafe(ref xs, i));
                lanes1 += f.Invoke(Vector512.LoadUnsafe(ref xs, i + 16));
                lanes2 += f.Invoke(Vector512.LoadUnsafe(ref xs, i + 32));
                lanes3 += f.Invoke(Vector512.LoadUnsafe(ref xs, i + 48));
            }
            for (; i + 16 <= length; i += 16)
            {
                lanes += f.Invoke(Vector512.LoadUnsafe(ref xs, i));
            }
            sum += HorizontalSum((lanes + lanes1) + (lanes2 + lanes3));
        }
        if (width >= 256 && length - i >= 8)
        {
            var lanes = Vector256<float>.Zero;
            for (; i + 8 <= length; i += 8)
            {
                lanes += f.Invoke(Vector256.LoadUnsafe(ref xs, i));
            }
            sum += HorizontalSum(lanes);
        }
        if (width >= 128 && length - i >= 4)
        {
            var lanes = Vector128<float>.Zero;
            for (; i + 4 <= length; i += 4)
            {
                lanes += f.Invoke(Vector128.LoadUnsafe(ref xs, i));
            }
            sum += HorizontalSum(lanes);
        }
        for (; i < length; i++)
        {
            sum += f.Invoke(Unsafe.Add(ref xs, i));
        }
        return sum;
    }

    // y[i] = f(x[i]), returning Σ_i y[i] (softmax's exponentials and their sum in one pass), summed as Sum does
    public static float MapAndSum<TOperator>(int width, ReadOnlySpan<float> x, Span<float> y, TOperator f)
        where TOperator : struct, IUnaryOperator
    {
        ref var xs = ref MemoryMarshal.GetReference(x);
        ref var ys = ref MemoryMarshal.GetReference(y);
        var length = (nuint)x.Length;
        nuint i = 0;
        var sum = 0f;
        if (width >= 512 && length >= 16)
        {
            var (lanes, lanes1, lanes2, lanes3) = (Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero);
            for (; i + 64 <= length; i += 64)
            {
                var (value, value1) = (f.Invoke(Vector512.LoadUnsafe(ref xs, i)), f.Invoke(Vector512.LoadUnsafe(ref xs, i + 16)));
                var (value2, value3) = (f.Invoke(Vector512.LoadUnsafe(ref xs, i + 32)), f.Invoke(Vector512.LoadUnsafe(ref xs, i + 48)));
                value.StoreUnsafe(ref ys, i);
                value1.StoreUnsafe(ref ys, i + 16);
                value2.StoreUnsafe(ref ys, i + 32);
                value3.StoreUnsafe(ref ys, i + 48);
                (lanes, lanes1, lanes2, lanes3) = (lanes + value, lanes1 + value1, lanes2 + value2, lanes3 + value3);
            }
            for (; i + 16 <= length; i += 16)
            {
                var value = f.Invoke(Vector512.LoadUnsafe(ref xs, i));
                value.StoreUnsafe(ref ys, i);
                lanes += value;
            }
            sum += HorizontalSum((lanes + lanes1) + (lanes2 + lanes3));
        }
        if (width >= 256 && length - i >= 8)
        {
            var lanes = Vector256<float>.Zero;
            for (; i + 8 <= length; i += 8)
            {
                var value = f.Invoke(Vector256.LoadUnsafe(ref xs, i));
                value.StoreUnsafe(ref ys, i);
                lanes += value;
            }
            sum += HorizontalSum(lanes);
        }
        if (width >= 128 && length - i >= 4)
        {
            var lanes = Vector128<float>.Zero;
            for (; i + 4 <= length; i += 4)
            {
                var value = f.Invoke(Vector128.LoadUnsafe(ref xs, i));
                value.StoreUnsafe(ref ys, i);
                lanes += value;
            }
            sum += HorizontalSum(lanes);
        }
        for (; i < length; i++)
        {
            var value = f.Invoke(Unsafe.Add(ref xs, i));
            Unsafe.Add(ref ys, i) = value;
            sum += value;
        }
        return sum;
    }

    // Σ_i x[i]·y[i]
    public static float Dot(int width, ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        ref var xs = ref MemoryMarshal.GetReference(x);
        ref var ys = ref MemoryMarshal.GetReference(y);
        var length = (nuint)x.Length;
        if (width >= 512 && length >= 16)
        {
            nuint i = 0;
            var (lanes, lanes1, lanes2, lanes3) = (Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero);
            for (; i + 64 <= length; i += 64)
            {
                lanes = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xs, i), Vector512.LoadUnsafe(ref ys, i), lanes);
                lanes1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xs, i + 16), Vector512.LoadUnsafe(ref ys, i + 16), lanes1);
                lanes2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xs, i + 32), Vector512.LoadUnsafe(ref ys, i + 32), lanes2);
                lanes3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xs, i + 48), Vector512.LoadUnsafe(ref ys, i + 48), lanes3);
            }
            return FinishDot512(width, x, y, i, lanes, lanes1, lanes2, lanes3);
        }
        return DotTail(width, x, y, 0, 0f);
    }

    /// <summary>
    /// The rest of <see cref="Dot"/> on its 512-bit path once its 64-float steps have run up to <paramref name="i"/>
    /// into the four accumulators: a kernel that runs those steps over several rows at once finishes each row here
    /// and gets Dot's result to the bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float FinishDot512(
        int width, ReadOnlySpan<float> x, ReadOnlySpan<float> y, nuint i, Vector512<float> lanes, Vector512<float> lanes1, Vector512<float> lanes2, Vector512<float> lanes3)
    {
        ref var xs = ref MemoryMarshal.GetReference(x);
        ref var ys = ref MemoryMarshal.GetReference(y);
        var length = (nuint)x.Length;
        for (; i + 16 <= length; i += 16)
        {
            lanes = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xs, i), Vector512.LoadUnsafe(ref ys, i), lanes);
        }
        return DotTail(width, x, y, i, 0f + HorizontalSum((lanes + lanes1) + (lanes2 + lanes3)));
    }

    // sum + Σ_{i′ ≥ i} x[i′]·y[i′] in Dot's narrower steps: 256-bit, 128-bit, then one float at a time.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float DotTail(int width, ReadOnlySpan<float> x, ReadOnlySpan<float> y, nuint i, float sum)
    {
        ref var xs = ref MemoryMarshal.GetReference(x);
        ref var ys = ref MemoryMarshal.GetReference(y);
        var length = (nuint)x.Length;
        if (width >= 256 && length - i >= 8)
        {
            var lanes = Vector256<float>.Zero;
            for (; i + 8 <= length; i += 8)
            {
                lanes = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref xs, i), Vector256.LoadUnsafe(ref ys, i), lanes);
            }
            sum += HorizontalSum(lanes);
        }
        if (width >= 128 && length - i >= 4)
        {
            var lanes = Vector128<float>.Zero;
            for (; i + 4 <= length; i += 4)
            {
                lanes = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref xs, i), Vector128.LoadUnsafe(ref ys, i), lanes);
            }
            sum += HorizontalSum(lanes);
        }
        for (; i < length; i++)
        {
            sum += Unsafe.Add(ref xs, i) * Unsafe.Add(ref ys, i);
        }
        return sum;
    }

    // max_i x[i]   (−∞ for an empty span)
    public static float Max(int width, ReadOnlySpan<float> x)
    {
        ref var xs = ref MemoryMarshal.GetReference(x);
        var length = (nuint)x.Length;
        nuint i = 0;
        var max = float.NegativeInfinity;
        if (width >= 512 && length >= 16)
        {
            var lanes = Vector512.Create(float.NegativeInfinity);
            for (; i + 16 <= length; i += 16)
            {
                lanes = Vector512.MaxNative(lanes, Vector512.LoadUnsafe(ref xs, i));
            }
            var halves = Vector256.MaxNative(lanes.GetLower(), lanes.GetUpper());
            max = Math.Max(max, HorizontalMax(Vector128.MaxNative(halves.GetLower(), halves.GetUpper())));
        }
        if (width >= 256 && length - i >= 8)
        {
            var lanes = Vector256.Create(float.NegativeInfinity);
            for (; i + 8 <= length; i += 8)
            {
                lanes = Vector256.MaxNative(lanes, Vector256.LoadUnsafe(ref xs, i));
            }
            max = Math.Max(max, HorizontalMax(Vector128.MaxNative(lanes.GetLower(), lanes.GetUpper())));
        }
        if (width >= 128 && length - i >= 4)
        {
            var lanes = Vector128.Create(float.NegativeInfinity);
            for (; i + 4 <= length; i += 4)
            {
                lanes = Vector128.MaxNative(lanes, Vector128.LoadUnsafe(ref xs, i));
            }
            max = Math.Max(max, HorizontalMax(lanes));
        }
        for (; i < length; i++)
        {
            max = Math.Max(max, Unsafe.Add(ref xs, i));
        }
        return max;
    }

    // The lanes' total by halving: a short dependency chain, where a row's sum is on the critical path of the next pass.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalSum(Vector512<float> lanes) => HorizontalSum(lanes.GetLower() + lanes.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalSum(Vector256<float> lanes) => HorizontalSum(lanes.GetLower() + lanes.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalSum(Vector128<float> lanes)
    {
        var pairs = lanes + Vector128.Shuffle(lanes, Vector128.Create(2, 3, 0, 1));
        return (pairs + Vector128.Shuffle(pairs, Vector128.Create(1, 0, 3, 2))).ToScalar();
    }

    private static float HorizontalMax(Vector128<float> lanes) =>
        Math.Max(Math.Max(lanes.GetElement(0), lanes.GetElement(1)), Math.Max(lanes.GetElement(2), lanes.GetElement(3)));
}
