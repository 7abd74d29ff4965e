using System.Diagnostics;

namespace NanoLlm.Tensors;

/// <summary>
/// A few long-lived helper threads that run the parts of one kernel call: part 0 on the caller, the others on the
/// helpers, returning when all are done. The helpers run with the caller's vector width. Nothing is allocated per
/// call: the work is a function pointer and a pointer to the caller's context, which stays on its stack while the
/// call waits, and waiting is a short spin and then <see cref="Monitor.Wait(object)"/>. When another call holds the
/// helpers, the parts run one after another on the caller: results never depend on how parts were scheduled.
/// </summary>
internal static unsafe class KernelThreads
{
    // A helper or the caller spins this long for the next signal before it sleeps. A training step runs a parallel
    // kernel every few tens to hundreds of microseconds, with one-thread work between; waking a sleeping thread costs
    // tens of microseconds on a virtual machine, so a helper that slept after 50 µs made attention no faster on two
    // threads than on one. Like OpenMP's spin-wait, the cost is a busy core for up to a millisecond after the last call.
    private static readonly long SpinTicks = Stopwatch.Frequency / 1_000;

    private static readonly Lock Gate = new();
    private static readonly object AllDone = new();
    private static int _pending;

    // One helper per extra core from the start, so a first parallel call allocates nothing; more if MaxThreads asks.
    private static Worker[] _workers = [.. Enumerable.Range(1, Environment.ProcessorCount - 1).Select(index => new Worker(index))];

    // body(context, part) for every part in [0, parts)
    public static void Run(int parts, delegate*<void*, int, void> body, void* context)
    {
        // The gate is re-entrant: a kernel called from inside a part (on the caller's thread) runs its parts in turn.
        if (parts > 1 && !Gate.IsHeldByCurrentThread && Gate.TryEnter())
        {
            try
            {
                EnsureWorkers(parts - 1);
                Volatile.Write(ref _pending, parts - 1);
                var width = KernelSettings.VectorWidth;
                for (var part = 1; part < parts; part++)
                {
                    _workers[part - 1].Start(body, context, part, width);
                }
                body(context, 0);
                WaitUntil(AllDone, static () => Volatile.Read(ref _pending) == 0);
            }
            finally
            {
                Gate.Exit();
            }
            return;
        }
        for (var part = 0; part < parts; part++)
        {
            body(context, part);
        }
    }

    // Spins for a moment on the condition, then sleeps on the monitor until a pulse finds it true.
    private static void WaitUntil(object signal, Func<bool> condition)
    {
        var deadline = Stopwatch.GetTimestamp() + SpinTicks;
        while (!condition() && Stopwatch.GetTimestamp() < deadline)
        {
            Thread.SpinWait(8);
        }
        lock (signal)
        {
            while (!condition())
            {
                Monitor.Wait(signal);
            }
        }
    }

    private static void EnsureWorkers(int count)
    {
        if (_workers.Length >= count)
        {
            return;
        }
        var workers = new Worker[count];
        _workers.CopyTo(workers, 0);
        for (var i = _workers.Length; i < count; i++)
        {
            workers[i] = new Worker(i + 1);
        }
        _workers = workers;
    }

    private sealed class Worker
    {
        private readonly object _signal = new();
        private readonly Func<bool> _hasWork;
        private volatile bool _started;
        private delegate*<void*, int, void> _body;
        private void* _context;
        private int _part;
        private int _vectorWidth;

        public Worker(int index)
        {
            _hasWork = () => _started;
            var thread = new Thread(Loop) { IsBackground = true, Name = $"NanoLlm kernels {index}" };
            thread.Start();
        }

        public void Start(delegate*<void*, int, void> body, void* context, int part, int vectorWidth)
        {
            _body = body;
            _context = context;
            _part = part;
            _vectorWidth = vectorWidth;
            lock (_signal)
            {
                _started = true;
                Monitor.Pulse(_signal);
            }
        }

        private void Loop()
        {
            while (true)
            {
                WaitUntil(_signal, _hasWork);
                _started = false;
                using (KernelSettings.Override(_vectorWidth, 1))
                {
                    _body(_context, _part);
                }
                if (Interlocked.Decrement(ref _pending) == 0)
                {
                    lock (AllDone)
                    {
                        Monitor.PulseAll(AllDone);
                    }
                }
            }
        }
    }
}
