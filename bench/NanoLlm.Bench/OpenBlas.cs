using System.Runtime.InteropServices;

namespace NanoLlm.Bench;

/// <summary>
/// OpenBLAS's cblas_sgemm as the reference the MatMul figures are compared with, loaded at run time from
/// libopenblas.so.0 when it is installed (Debian: libopenblas0-openmp). Only the benchmarks use it.
/// </summary>
public sealed unsafe class OpenBlas
{
    private const int RowMajor = 101;
    private const int NoTranspose = 111;
    private const int Transpose = 112;

    private readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> _sgemm;
    private readonly delegate* unmanaged<int, void> _setThreads;
    private readonly delegate* unmanaged<int> _getThreads;
    private readonly delegate* unmanaged<sbyte*> _getConfig;

    private OpenBlas(nint library)
    {
        _sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)NativeLibrary.GetExport(library, "cblas_sgemm");
        _setThreads = (delegate* unmanaged<int, void>)NativeLibrary.GetExport(library, "openblas_set_num_threads");
        _getThreads = (delegate* unmanaged<int>)NativeLibrary.GetExport(library, "openblas_get_num_threads");
        _getConfig = (delegate* unmanaged<sbyte*>)NativeLibrary.GetExport(library, "openblas_get_config");
    }

    public const string LibraryName = "libopenblas.so.0";

    /// <summary>The library, or null when it is not installed.</summary>
    public static OpenBlas? TryLoad() => NativeLibrary.TryLoad(LibraryName, out var library) ? new OpenBlas(library) : null;

    public string Configuration => new(_getConfig());

    /// <summary>Sets the thread count and returns the one OpenBLAS reports it will use.</summary>
    public int SetThreads(int threads)
    {
        _setThreads(threads);
        return _getThreads();
    }

    // Y[M,N] = X[M,K]·W[N,K]ᵀ
    public void Forward(float[] y, float[] x, float[] w, int m, int k, int n)
    {
        fixed (float* yp = y, xp = x, wp = w)
        {
            _sgemm(RowMajor, NoTranspose, Transpose, m, n, k, 1f, xp, k, wp, k, 0f, yp, n);
        }
    }

    // dX[M,K] += dY[M,N]·W[N,K]
    public void BackwardInput(float[] dx, float[] dy, float[] w, int m, int k, int n)
    {
        fixed (float* dxp = dx, dyp = dy, wp = w)
        {
            _sgemm(RowMajor, NoTranspose, NoTranspose, m, k, n, 1f, dyp, n, wp, k, 1f, dxp, k);
        }
    }

    // dW[N,K] += dY[M,N]ᵀ·X[M,K]
    public void BackwardWeight(float[] dw, float[] dy, float[] x, int m, int k, int n)
    {
        fixed (float* dwp = dw, dyp = dy, xp = x)
        {
            _sgemm(RowMajor, Transpose, NoTranspose, n, k, m, 1f, dyp, n, xp, k, 1f, dwp, k);
        }
    }
}
