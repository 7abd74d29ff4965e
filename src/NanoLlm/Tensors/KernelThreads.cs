using System.Diagnostics;

namespace NanoLlm.Tensors;

/// <summary>
/// A few long-lived helper threads that run the parts of one kernel call, returning when all are done. The caller and
/// the helpers claim parts from one counter, the caller included: a helper that is slow to wake (its core busy with
/// other work) leaves its part to the caller instead of making it wait, and a helper that wakes after the call has
/// moved on claims nothing. A part computes the same numbers whoever runs it (helpers run with the caller's vector
/// width), so results never depend on how parts were scheduled. Nothing is allocated per call: the work is a function
/// pointer and a pointer to the caller's context, which stays on its stack while the call waits. When another call
/// holds the helpers, the parts run one after another on the caller.
/// </summary>
internal static unsafe class KernelThreads
{
    // A helper or the caller waits this long for the next signal before it sleeps: busy for the first 50 µs, then
    // yielding its core to any other runnable thread. A training step runs a parallel kernel every few tens to hundreds
    // of microseconds, with one-thread work between; waking a sleeping thread costs tens of microseconds on a virtual
    // machine. Yielding rather than spinning the whole millisecond keeps a loaded machine's other threads (the
    // caller's own among them, when both share a core) running.
    private static readonly long SpinTicks = Stopwatch.Frequency / 1_000;
    private static readonly long BusySpinTicks = Stopwatch.Frequency / 20_000;

    private static readonly Lock Gate = new();
    private static readonly object AllDone = new();

    // The call in progress, written by its caller (under the gate) before it publishes the call in _claim: the call's
    // number in the high 32 bits and its next unclaimed part in the low 32. A part is claimed by compare-and-swap on
    // that pair, so a claim succeeds only while its call is in progress, and the call does not return before every
    // claimed part has completed: the context is never used after the caller left.
    private static long _claim;
    private static int _parts;
    private static int _completed;
    private static delegate*<void*, int, void> _body;
    private static void* _context;
    private static int _vectorWidth;

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
                _body = body;
                _context = context;
                _parts = parts;
                _vectorWidth = KernelSettings.VectorWidth;
                Volatile.Write(ref _completed, 0);
                var call = unchecked((Volatile.Read(ref _claim) >> 32) + 1);
                Volatile.Write(ref _claim, call << 32);
                for (var helper = 0; helper < parts - 1; helper++)
                {
                    _workers[helper].Wake();
                }
                RunParts(call, onHelper: false);
                WaitUntil(AllDone, static () => Volatile.Read(ref _completed) == _parts);
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

    // Claims and runs parts of call number `call` until none is left or another call has begun.
    private static void RunParts(long call, bool onHelper)
    {
        while (true)
        {
            var claim = Volatile.Read(ref _claim);
            var part = (int)(claim & uint.MaxValue);
            if (claim >> 32 != call || part >= Volatile.Read(ref _parts))
            {
                return;
            }
            if (Interlocked.CompareExchange(ref _claim, claim + 1, claim) != claim)
            {
                continue;
            }
            var parts = _parts;
            if (onHelper)
            {
                using (KernelSettings.Override(_vectorWidth, 1))
                {
                    _body(_context, part);
                }
            }
            else
            {
                _body(_context, part);
            }
            if (Interlocked.Increment(ref _completed) == parts)
            {
                lock (AllDone)
                {
                    Monitor.PulseAll(AllDone);
                }
            }
        }
    }

    // Waits for the condition a moment (spinning, then yielding), then sleeps on the monitor until a pulse finds it true.
    private static void WaitUntil(object signal, Func<bool> condition)
    {
        var start = Stopwatch.GetTimestamp();
        while (!condition())
        {
            var waited = Stopwatch.GetTimestamp() - start;
            if (waited >= SpinTicks)
            {
                break;
            }
            if (waited < BusySpinTicks)
            {
                Thread.SpinWait(8);
            }
            else
            {
                Thread.Yield();
            }
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
        private volatile bool _woken;

        public Worker(int index)
        {
            _hasWork = () => _woken;
            var thread = new Thread(Loop) { IsBackground = true, Name = $"NanoLlm kernels {index}" };
            thread.Start();
        }

        public void Wake()
        {
            lock (_signal)
            {
                _woken = true;
                Monitor.Pulse(_signal);
            }
        }

        // A wake-up that comes while the helper is still in the last call's parts is not lost: the helper clears the
        // flag before it looks for a call, so it then finds the new one.
        private void Loop()
        {
            while (true)
            {
                WaitUntil(_signal, _hasWork);
                _woken = false;
                RunParts(Volatile.Read(ref _claim) >> 32, onHelper: true);
            }
        }
    }
}
