using System.Runtime.Intrinsics;

namespace NanoLlm.Tensors;

/// <summary>
/// How the kernels may run: how many threads (<see cref="MaxThreads"/>) and the widest SIMD vector in bits
/// (<see cref="VectorWidth"/>: 512, 256, 128, or 0 for scalar code). The process-wide values start from the
/// environment (<c>NANOLLM_THREADS</c>, <c>NANOLLM_SIMD</c>) or the hardware; <see cref="Override"/> changes them for
/// the calling thread only, so a test can force a path without disturbing kernels running elsewhere.
/// </summary>
public static class KernelSettings
{
    public const string ThreadsVariable = "NANOLLM_THREADS";
    public const string SimdVariable = "NANOLLM_SIMD";

    private static int _maxThreads = ReadThreads();
    private static int _vectorWidth = ReadVectorWidth();

    [ThreadStatic]
    private static int _threadMaxThreads;

    [ThreadStatic]
    private static int _threadVectorWidth;

    [ThreadStatic]
    private static bool _threadOverride;

    /// <summary>The widest vector the hardware accelerates: 512, 256, 128 or 0.</summary>
    public static int HardwareVectorWidth { get; } =
        Vector512.IsHardwareAccelerated ? 512 :
        Vector256.IsHardwareAccelerated ? 256 :
        Vector128.IsHardwareAccelerated ? 128 : 0;

    /// <summary>Upper bound on the threads one kernel call uses (at least 1); the caller's thread is one of them.</summary>
    public static int MaxThreads
    {
        get => _threadOverride ? _threadMaxThreads : _maxThreads;
        set => _maxThreads = CheckThreads(value);
    }

    /// <summary>The widest vector, in bits, the kernels may use; capped by <see cref="HardwareVectorWidth"/> when read.</summary>
    public static int VectorWidth
    {
        get => Math.Min(_threadOverride ? _threadVectorWidth : _vectorWidth, HardwareVectorWidth);
        set => _vectorWidth = CheckWidth(value);
    }

    /// <summary>Sets both settings for the calling thread until the returned scope is disposed.</summary>
    public static Scope Override(int vectorWidth, int maxThreads)
    {
        var previous = new Scope(_threadOverride, _threadVectorWidth, _threadMaxThreads);
        _threadVectorWidth = CheckWidth(vectorWidth);
        _threadMaxThreads = CheckThreads(maxThreads);
        _threadOverride = true;
        return previous;
    }

    private static int CheckThreads(int threads) =>
        threads >= 1 ? threads : throw new ArgumentOutOfRangeException(nameof(threads), threads, "At least one thread is needed.");

    private static int CheckWidth(int width) =>
        width is 512 or 256 or 128 or 0 ? width : throw new ArgumentOutOfRangeException(nameof(width), width, "The vector width is 512, 256, 128 or 0 (scalar).");

    // An absent or unreadable value means "use the hardware".
    private static int ReadThreads() =>
        int.TryParse(Environment.GetEnvironmentVariable(ThreadsVariable), out var threads) && threads >= 1
            ? threads
            : Environment.ProcessorCount;

    private static int ReadVectorWidth() =>
        int.TryParse(Environment.GetEnvironmentVariable(SimdVariable), out var width) && width is 512 or 256 or 128 or 0
            ? width
            : 512;

    /// <summary>Restores the calling thread's previous settings when disposed.</summary>
    public readonly struct Scope(bool active, int vectorWidth, int maxThreads) : IDisposable
    {
        public void Dispose()
        {
            _threadOverride = active;
            _threadVectorWidth = vectorWidth;
            _threadMaxThreads = maxThreads;
        }
    }
}
