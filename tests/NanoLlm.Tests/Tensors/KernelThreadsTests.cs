using NanoLlm.Tensors;

namespace NanoLlm.Tests.Tensors;

public sealed unsafe class KernelThreadsTests
{
    private struct Counts
    {
        public int* PerPart;
        public int SlowPart;
    }

    // Counts each part; one part in each call sleeps, so the others are claimed by whoever is free.
    private static void CountPart(void* context, int part)
    {
        var counts = (Counts*)context;
        if (part == counts->SlowPart)
        {
            Thread.Sleep(1);
        }
        Interlocked.Increment(ref counts->PerPart[part]);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    public void Every_part_runs_exactly_once_before_the_call_returns_whoever_runs_it(int parts)
    {
        var perPart = new int[parts];
        fixed (int* pointer = perPart)
        {
            for (var call = 0; call < 300; call++)
            {
                Array.Clear(perPart);
                var counts = new Counts { PerPart = pointer, SlowPart = call % 7 == 0 ? call % parts : -1 };

                KernelThreads.Run(parts, &CountPart, &counts);

                Assert.All(perPart, count => Assert.Equal(1, count));
            }
        }
    }

    [Fact]
    public void Calls_from_several_threads_at_once_each_run_all_their_parts()
    {
        var failures = 0;
        Parallel.For(0, 4, _ =>
        {
            var perPart = new int[5];
            fixed (int* pointer = perPart)
            {
                for (var call = 0; call < 200; call++)
                {
                    Array.Clear(perPart);
                    var counts = new Counts { PerPart = pointer, SlowPart = -1 };
                    KernelThreads.Run(5, &CountPart, &counts);
                    if (perPart.Any(count => count != 1))
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            }
        });

        Assert.Equal(0, failures);
    }
}
