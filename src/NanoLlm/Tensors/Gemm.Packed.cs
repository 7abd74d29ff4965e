using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NanoLlm.Tensors;

/// <summary>
/// The B operand of a product packed once into the panels <see cref="Gemm.Multiply(in GemmOperands, int, bool, int*)"/>'s
/// row split reads (every block of columns, all of its depth), for a B used product after product: weights at inference.
/// A snapshot: later changes to the source are not seen.
/// </summary>
internal sealed class PackedMatrix(float[] buffer, int offset, int width, int k, int n, int blockColumns, int blockSize)
{
    public float[] Buffer { get; } = buffer;

    public int Offset { get; } = offset;

    /// <summary>The vector width it was packed for, which picks the micro-kernel.</summary>
    public int Width { get; } = width;

    public int K { get; } = k;

    public int N { get; } = n;

    public int BlockColumns { get; } = blockColumns;

    public int BlockSize { get; } = blockSize;
}

internal static unsafe partial class Gemm
{
    // packed[block][pc][…] = B[K,N] in the row split's panels, block by block of columns
    public static PackedMatrix PackB(float* b, nint rowStride, nint columnStride, int k, int n, int width)
    {
        var nr = TileFor(width).Columns;
        var kcMax = Math.Min(BlockDepth, k);
        var ncMax = RowSplitBlockColumns(k, n, width);
        var blockSize = RoundUp(k * ncMax, AlignmentFloats);
        var blocks = (n + ncMax - 1) / ncMax;
        var buffer = GC.AllocateArray<float>((blocks * blockSize) + AlignmentFloats, pinned: true);
        var start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        var aligned = (start + (AlignmentFloats * sizeof(float)) - 1) & ~((nint)AlignmentFloats * sizeof(float) - 1);
        var packed = (float*)aligned;
        for (var block = 0; block < blocks; block++)
        {
            var jc = block * ncMax;
            var nc = Math.Min(ncMax, n - jc);
            for (var pc = 0; pc < k; pc += kcMax)
            {
                Pack(packed + (block * blockSize) + (pc * ncMax), b + (pc * rowStride) + (jc * columnStride), columnStride, rowStride, nc, Math.Min(kcMax, k - pc), nr);
            }
        }
        return new PackedMatrix(buffer, (int)((aligned - start) / sizeof(float)), width, k, n, ncMax, blockSize);
    }

    // C[M,N] = α·A[M,K]·B + (bias or 0) with B packed by PackB, on the calling thread: Multiply's row split without its
    // packing of B, so every element is the chain of multiply-adds Multiply computes for it, whatever M.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyPacked(in GemmOperands g, PackedMatrix b)
    {
        if (g.M == 0 || g.N == 0)
        {
            return;
        }
        var width = b.Width;
        var (mr, nr, _) = TileFor(width);
        var kcMax = Math.Min(BlockDepth, g.K);
        var tileSize = RoundUp(mr * nr, AlignmentFloats);
        var chunkRows = ChunkTiles * mr;
        var packedASize = RoundUp(chunkRows * kcMax, AlignmentFloats) + AlignmentFloats;
        var packedA = Scratch(packedASize + tileSize + nr);
        var tile = packedA + packedASize;
        var zeros = tile + tileSize;
        new Span<float>(zeros, nr).Clear();
        fixed (float* buffer = b.Buffer)
        {
            var packedB = buffer + b.Offset;
            for (int jc = 0, block = 0; jc < g.N; jc += b.BlockColumns, block++)
            {
                var nc = Math.Min(b.BlockColumns, g.N - jc);
                for (var ic = 0; ic < g.M; ic += chunkRows)
                {
                    var mc = Math.Min(chunkRows, g.M - ic);
                    for (var pc = 0; pc < g.K; pc += kcMax)
                    {
                        var kc = Math.Min(kcMax, g.K - pc);
                        Pack(packedA, g.A + (ic * g.ARowStride) + (pc * g.AColumnStride), g.ARowStride, g.AColumnStride, mc, kc, mr);
                        Block(g, width, packedA, packedB + (block * b.BlockSize) + (pc * b.BlockColumns), ic, mc, jc, nc, pc, kc, pc == 0 && !g.Accumulate, tile, zeros);
                    }
                }
            }
        }
    }
}
