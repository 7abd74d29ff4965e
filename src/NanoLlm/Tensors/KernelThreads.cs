using System.Diagnostics.CodeAnalysis;

namespace NanoLlm.Tensors;

/// <summary>
/// A few long-lived helper threads that run the parts of one kernel call: part 0 on the caller, the others on the
/// helpers, returning when all are done. The helpers run with the caller's vector width. Nothing is allocated per call (the work is a function pointer and a pointer
/// to the caller's context, which stays pinned on its stack while the call waits). When another call holds the
/// helpers, the parts run one after another on the caller: results never depend on how parts were scheduled.
/// </summary>
internal static unsafe class KernelThreads
{
    private static readonly Lock Gate = new();
    private static readonly ManualResetEventSlim AllDone = new(false, 1000);
    private static Worker[] _workers = [];
    private static int _pending;

    // body(context, part) for every part in [0, parts)
    public static void Run(int parts, delegate*<void*, int, void> body, void* context)
    {
        if (parts > 1 && Gate.TryEnter())
        {
            try
            {
                EnsureWorkers(parts - 1);
                AllDone.Reset();
                Volatile.Write(ref _pending, parts - 1);
                var width = KernelSettings.VectorWidth;
                for (var part = 1; part < parts; part++)
                {
                    _workers[part - 1].Start(body, context, part, width);
                }
                body(context, 0);
                AllDone.Wait();
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

    [SuppressMessage("Reliability", "CA1001", Justification = "Helpers and their events live as long as the process.")]
    private sealed class Worker
    {
        private readonly ManualResetEventSlim _start = new(false, 1000);
        private delegate*<void*, int, void> _body;
        private void* _context;
        private int _part;
        private int _vectorWidth;

        public Worker(int index)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"NanoLlm kernels {index}" };
            thread.Start();
        }

        public void Start(delegate*<void*, int, void> body, void* context, int part, int vectorWidth)
        {
            _body = body;
            _context = context;
            _part = part;
            _vectorWidth = vectorWidth;
            _start.Set();
        }

        private void Loop()
        {
            while (true)
            {
                _start.Wait();
                _start.Reset();
                using (KernelSettings.Override(_vectorWidth, 1))
                {
                    _body(_context, _part);
                }
                if (Interlocked.Decrement(ref _pending) == 0)
                {
                    AllDone.Set();
                }
            }
        }
    }
}
