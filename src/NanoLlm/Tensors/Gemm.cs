using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NanoLlm.Tensors;

/// <summary>
/// One strided matrix product C[M,N] = α·A[M,K]·B[K,N] + (C or bias or 0). Element (i, p) of A is at
/// <c>A[i·ARowStride + p·AColumnStride]</c>, so a transposed operand is the same matrix with its strides swapped.
/// </summary>
internal unsafe struct GemmOperands
{
    public float* A;
    public nint ARowStride;
    public nint AColumnStride;
    public float* B;
    public nint BRowStride;
    public nint BColumnStride;
    public float* C;
    public nint CRowStride;
    public float* Bias;
    public int M;
    public int K;
    public int N;
    public float Alpha;
    public bool Accumulate;
}

/// <summary>
/// The single-threaded core of every matrix product (the BLIS loop nest, Goto and van de Geijn 2008): for each block
/// of NC columns and KC depth, B is packed into NR-wide panels; for each block of MC rows, A is packed into MR-high
/// panels; the micro-kernel then multiplies one A panel by one B panel with the MR×NR tile of C in registers. Edge
/// tiles are padded with zeros in the packed panels and pass through a small scratch tile, so every element of C is
/// computed by the same instructions in the same order wherever the tile boundaries fall.
/// </summary>
internal static unsafe partial class Gemm
{
    // Depth of one packed block: the B panel (KC×NR) stays in L1 while the A panels stream from L2.
    private const int BlockDepth = 256;

    // Packed regions start on 64-byte boundaries so the B panel loads never split a cache line.
    private const int AlignmentFloats = 16;

    [ThreadStatic]
    private static float[]? _scratch;

    /// <summary>The tile the micro-kernel of a vector width computes, and the row and column blocks around it.</summary>
    public static (int Rows, int Columns, int BlockRows, int BlockColumns) TileFor(int width) => width switch
    {
        512 => (12, 32, 192, 2048),
        256 => (6, 16, 96, 2048),
        128 => (6, 8, 96, 2048),
        _ => (4, 4, 64, 1024),
    };

    // C[M,N] = α·A[M,K]·B[K,N] + (C when accumulating, else bias or 0)
    public static void Multiply(in GemmOperands g, int width)
    {
        if (g.M == 0 || g.N == 0)
        {
            return;
        }
        if (g.K == 0)
        {
            if (!g.Accumulate)
            {
                FillWithBias(g);
            }
            return;
        }

        var (mr, nr, blockRows, blockColumns) = TileFor(width);
        delegate*<int, float*, float*, float, float*, nint, float*, nint, void> kernel = width switch
        {
            512 => &Kernel512,
            256 => &Kernel256,
            128 => &Kernel128,
            _ => &KernelScalar,
        };
        var kcMax = Math.Min(BlockDepth, g.K);
        var mcMax = Math.Min(blockRows, RoundUp(g.M, mr));
        var ncMax = Math.Min(blockColumns, RoundUp(g.N, nr));
        var packedASize = RoundUp(mcMax * kcMax, AlignmentFloats);
        var packedBSize = RoundUp(kcMax * ncMax, AlignmentFloats);
        var tileSize = RoundUp(mr * nr, AlignmentFloats);
        var packedA = Scratch(packedASize + packedBSize + tileSize + nr);
        var packedB = packedA + packedASize;
        var tile = packedB + packedBSize;
        var zeros = tile + tileSize;
        new Span<float>(zeros, nr).Clear();

        for (var jc = 0; jc < g.N; jc += ncMax)
        {
            var nc = Math.Min(ncMax, g.N - jc);
            for (var pc = 0; pc < g.K; pc += kcMax)
            {
                var kc = Math.Min(kcMax, g.K - pc);
                Pack(packedB, g.B + (pc * g.BRowStride) + (jc * g.BColumnStride), g.BColumnStride, g.BRowStride, nc, kc, nr);
                var overwrite = pc == 0 && !g.Accumulate;
                for (var ic = 0; ic < g.M; ic += mcMax)
                {
                    var mc = Math.Min(mcMax, g.M - ic);
                    Pack(packedA, g.A + (ic * g.ARowStride) + (pc * g.AColumnStride), g.ARowStride, g.AColumnStride, mc, kc, mr);
                    for (var jr = 0; jr < nc; jr += nr)
                    {
                        var columns = Math.Min(nr, nc - jr);
                        var bias = g.Bias == null ? zeros : g.Bias + jc + jr;
                        for (var ir = 0; ir < mc; ir += mr)
                        {
                            var rows = Math.Min(mr, mc - ir);
                            var c = g.C + ((ic + ir) * g.CRowStride) + jc + jr;
                            var a = packedA + (ir * kc);
                            var b = packedB + (jr * kc);
                            if (rows == mr && columns == nr)
                            {
                                if (overwrite)
                                {
                                    kernel(kc, a, b, g.Alpha, bias, 0, c, g.CRowStride);
                                }
                                else
                                {
                                    kernel(kc, a, b, g.Alpha, c, g.CRowStride, c, g.CRowStride);
                                }
                            }
                            else
                            {
                                EdgeTile(kernel, kc, a, b, g.Alpha, overwrite, bias, c, g.CRowStride, rows, columns, tile, mr, nr);
                            }
                        }
                    }
                }
            }
        }
    }

    // A partial tile: C's valid part (or the bias) goes into a full scratch tile, the kernel updates it, the valid part goes back.
    private static void EdgeTile(
        delegate*<int, float*, float*, float, float*, nint, float*, nint, void> kernel, int kc, float* a, float* b, float alpha,
        bool overwrite, float* bias, float* c, nint cRowStride, int rows, int columns, float* tile, int mr, int nr)
    {
        new Span<float>(tile, mr * nr).Clear();
        for (var r = 0; r < rows; r++)
        {
            var source = overwrite ? bias : c + (r * cRowStride);
            new ReadOnlySpan<float>(source, columns).CopyTo(new Span<float>(tile + (r * nr), columns));
        }
        kernel(kc, a, b, alpha, tile, nr, tile, nr);
        for (var r = 0; r < rows; r++)
        {
            new ReadOnlySpan<float>(tile + (r * nr), columns).CopyTo(new Span<float>(c + (r * cRowStride), columns));
        }
    }

    // packed[line / width][p][line % width] = source[line·lineStride + p·depthStride], zero past the last line
    private static void Pack(float* packed, float* source, nint lineStride, nint depthStride, int lines, int depth, int width)
    {
        for (var line0 = 0; line0 < lines; line0 += width)
        {
            var count = Math.Min(width, lines - line0);
            var panel = source + (line0 * lineStride);
            if (lineStride == 1)
            {
                for (var p = 0; p < depth; p++)
                {
                    new ReadOnlySpan<float>(panel + (p * depthStride), count).CopyTo(new Span<float>(packed + (p * width), count));
                }
            }
            else
            {
                for (var line = 0; line < count; line++)
                {
                    var from = panel + (line * lineStride);
                    var to = packed + line;
                    for (var p = 0; p < depth; p++)
                    {
                        to[p * width] = from[p * depthStride];
                    }
                }
            }
            if (count < width)
            {
                for (var p = 0; p < depth; p++)
                {
                    new Span<float>(packed + (p * width) + count, width - count).Clear();
                }
            }
            packed += depth * width;
        }
    }

    private static void FillWithBias(in GemmOperands g)
    {
        for (var i = 0; i < g.M; i++)
        {
            var row = new Span<float>(g.C + (i * g.CRowStride), g.N);
            if (g.Bias == null)
            {
                row.Clear();
            }
            else
            {
                new ReadOnlySpan<float>(g.Bias, g.N).CopyTo(row);
            }
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    // The calling thread's packing buffer, grown on demand and kept: pinned, so its address stays valid.
    private static float* Scratch(int floats)
    {
        if (_scratch is null || _scratch.Length < floats + AlignmentFloats)
        {
            _scratch = GC.AllocateUninitializedArray<float>(floats + AlignmentFloats, pinned: true);
        }
        var start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_scratch));
        var aligned = (start + (AlignmentFloats * sizeof(float)) - 1) & ~((nint)AlignmentFloats * sizeof(float) - 1);
        return (float*)aligned;
    }
}
