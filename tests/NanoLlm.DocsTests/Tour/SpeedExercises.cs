using NanoLlm.Tensors;

namespace NanoLlm.DocsTests.Tour;

/// <summary>The answers to the exercises of docs/09-speed.md.</summary>
public sealed class SpeedExercises
{
    private const int Registers512 = 32;
    private const int FloatsPerVector512 = 16;

    [Fact]
    public void The_avx512_tile_is_12_by_32_and_fits_the_registers()
    {
        var (rows, columns, _) = Gemm.TileFor(512);
        var accumulators = rows * columns / FloatsPerVector512;
        var bVectors = columns / FloatsPerVector512;

        Assert.Equal((12, 32), (rows, columns));
        Assert.Equal(27, accumulators + bVectors + 1);
        Assert.True(accumulators + bVectors + 1 <= Registers512);
        Assert.True((16 * columns / FloatsPerVector512) + bVectors + 1 > Registers512, "a 16-row tile would not fit");
        Assert.Equal(196_608, rows * columns * 2 * 256);
    }

    [Fact]
    public void The_product_is_the_same_bits_on_one_and_two_threads()
    {
        const int m = 1024, k = 1024, n = 1024;
        var random = new Random(11);
        var x = Enumerable.Range(0, m * k).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var w = Enumerable.Range(0, n * k).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        float[] Product(int threads)
        {
            var y = new float[m * n];
            using (KernelSettings.Override(KernelSettings.HardwareVectorWidth, threads))
            {
                MatMul.Forward(y, x, w, [], m, k, n);
            }
            return y;
        }

        var (one, two) = (Product(1), Product(2));

        Assert.True(one.AsSpan().SequenceEqual(two), "one and two threads differ");
    }
}
