using NanoLlm.Tensors;

namespace NanoLlm.Tests.Tensors;

public sealed class KernelSettingsTests
{
    [Fact]
    public void Override_applies_to_the_calling_thread_until_disposed()
    {
        var (width, threads) = (KernelSettings.VectorWidth, KernelSettings.MaxThreads);
        using (KernelSettings.Override(128, 1))
        {
            Assert.Equal(Math.Min(128, KernelSettings.HardwareVectorWidth), KernelSettings.VectorWidth);
            Assert.Equal(1, KernelSettings.MaxThreads);
            var elsewhere = 0;
            var thread = new Thread(() => elsewhere = KernelSettings.VectorWidth);
            thread.Start();
            thread.Join();
            Assert.Equal(width, elsewhere);
        }
        Assert.Equal(width, KernelSettings.VectorWidth);
        Assert.Equal(threads, KernelSettings.MaxThreads);
    }

    [Fact]
    public void Rejects_widths_other_than_512_256_128_or_0()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelSettings.Override(64, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelSettings.Override(256, 0));
    }
}
