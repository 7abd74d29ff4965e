using NanoLlm.Tensors;

namespace NanoLlm.Tests.Tensors;

/// <summary>Random inputs, the SIMD widths to force, and comparisons shared by the kernel tests.</summary>
public static class KernelTestData
{
    /// <summary>One float's rounding unit, 2⁻²⁴.</summary>
    public const double Unit = 1.0 / (1 << 24);

    /// <summary>Every path: AVX-512, AVX2, 128-bit and scalar (a width the hardware lacks runs as the next one down).</summary>
    public static TheoryData<int> Widths => [512, 256, 128, 0];

    /// <summary>(width, rows, cols) for the row kernels: every SIMD width on shapes that are not multiples of a vector.</summary>
    public static TheoryData<int, int, int> RowShapes()
    {
        var data = new TheoryData<int, int, int>();
        foreach (var width in new[] { 512, 256, 128, 0 })
        {
            foreach (var (rows, cols) in new[] { (1, 1), (3, 7), (7, 17), (2, 65), (3, 129), (2, 1000) })
            {
                data.Add(width, rows, cols);
            }
        }
        return data;
    }

    /// <summary>(width, length) for the element-wise kernels: every SIMD width on odd lengths.</summary>
    public static TheoryData<int, int> Lengths()
    {
        var data = new TheoryData<int, int>();
        foreach (var width in new[] { 512, 256, 128, 0 })
        {
            foreach (var length in new[] { 1, 3, 7, 17, 65, 129, 1000 })
            {
                data.Add(width, length);
            }
        }
        return data;
    }

    public static float[] RandomArray(int length, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (var i = 0; i < length; i++)
        {
            values[i] = (float)((random.NextDouble() * 2) - 1) * scale;
        }
        return values;
    }

    public static int[] RandomTokens(int length, int classes, int seed)
    {
        var random = new Random(seed);
        var tokens = new int[length];
        for (var i = 0; i < length; i++)
        {
            tokens[i] = random.Next(classes);
        }
        return tokens;
    }

    /// <summary>Runs a kernel on the calling thread with a forced vector width and thread count.</summary>
    public static void With(int width, int threads, Action action)
    {
        using (KernelSettings.Override(width, threads))
        {
            action();
        }
    }

    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, Func<int, double> tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var error = Math.Abs(expected[i] - actual[i]);
            Assert.True(error <= tolerance(i), $"{what}[{i}]: expected {expected[i]:G9}, got {actual[i]:G9} (error {error:G3} > {tolerance(i):G3})");
        }
    }

    public static void AssertBitIdentical(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]), $"element {i}: {expected[i]:G9} vs {actual[i]:G9}");
        }
    }

    /// <summary>Bytes the calling thread allocates in <paramref name="action"/>, after one warm-up call.</summary>
    public static long AllocatedBytes(Action action)
    {
        action();
        var before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
