using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
    public CausalMask Mask;
}

/// <summary>
/// The core of every matrix product (after BLIS, Goto and van de Geijn 2008): B is packed into NR-wide panels and A
/// into MR-high panels, KC deep at a time; the micro-kernel multiplies one A panel by one B panel with the MR×NR tile
/// of C in registers. Threads share a product by taking chunks of output rows (or columns) from a counter. Edge
/// tiles are padded with zeros in the packed panels and pass through a small scratch tile; with AVX-512 a last
/// column panel of at most 16 columns runs a half-width kernel, and one of at most 4 a kernel turned around (rows in
/// the vector). At a given vector width every element of C is the same chain of fused multiply-adds over p, rounded
/// the same way, whichever kernel and thread compute it and wherever the tile boundaries fall. The hot methods skip tiered compilation
/// (AggressiveOptimization), so the first training steps do not run unoptimized loops.
/// </summary>
internal static unsafe partial class Gemm
{
    // Depth of one packed block: the B panel (KC×NR) stays in L1 while the A panels stream from L2. Each block's sum
    // starts from zero and is added to C, so a product's rounding depends on where its blocks start.
    public const int BlockDepth = 256;

    // Packed regions start on 64-byte boundaries so the B panel loads never split a cache line.
    private const int AlignmentFloats = 16;

    // The operand packed whole (all of its depth) may take this many floats per thread: 6 MiB, so the weight gradient
    // of a layer 384 columns wide over 16 × 256 rows packs its B (X) in one block of columns. Its A (dY, read across
    // rows from memory at about 10 GB/s) is then packed once, not once per block: +10 % on that product at 1 and 2 threads.
    public const int PackedBudget = 3 << 19;

    // The row split packs B a whole block of columns deep; when the depth leaves a block narrower than blockColumns / 8
    // (and than N), it takes chunks of at most DeepRows rows × half the columns instead (MultiplyDeep).
    private const int DeepColumnsDivisor = 8;
    private const int DeepRows = 512;

    // Rows or columns are handed out in chunks of this many tiles, so a thread that falls behind (a busy core) takes fewer.
    private const int ChunkTiles = 4;

    // When the row split's packed block of B outgrows L2 (more than L2BlockFloats: 256 KiB), every B panel the
    // micro-kernel reads comes from L3, and a chunk of 4 row tiles reads each panel for 4 tiles only. Such a chunk
    // takes up to 16 row tiles while its block of C (rows × block columns, updated once per depth block) stays within
    // ChunkOutputFloats (128 KiB): dW += dYᵀ·X, whose blocks are a few panels wide and hundreds deep, gains the most.
    private const int L2BlockFloats = 1 << 16;
    private const int ChunkOutputFloats = 1 << 15;
    private const int WideChunkTiles = 16;

    [ThreadStatic]
    private static float[]? _scratch;

    /// <summary>The tile the micro-kernel of a vector width computes, and the widest block of columns packed at once.</summary>
    public static (int Rows, int Columns, int BlockColumns) TileFor(int width) => width switch
    {
        512 => (12, 32, 2048),
        256 => (6, 16, 2048),
        128 => (6, 8, 2048),
        _ => (4, 4, 1024),
    };

    // The row split's block of B: as many columns as the budget holds at this depth, whole panels, at most blockColumns
    public static int RowSplitBlockColumns(int k, int n, int width)
    {
        var (_, nr, blockColumns) = TileFor(width);
        return Math.Clamp(PackedBudget / k / nr * nr, nr, Math.Min(blockColumns, RoundUp(n, nr)));
    }

    // C[M,N] = α·A[M,K]·B[K,N] + (C when accumulating, else bias or 0), on the calling thread alone
    public static void Multiply(in GemmOperands g, int width)
    {
        var next = 0;
        Multiply(g, width, splitRows: true, &next);
    }

    // The same, sharing the work with other threads that run this with the same operands and counter: each takes
    // the next chunk of rows (or columns) until none is left. Each thread packs the operand that is not split whole,
    // once, and the chunks of the other as it takes them; a chunk computes every element it owns over the full depth.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(in GemmOperands g, int width, bool splitRows, int* nextChunk)
    {
        if (g.M == 0 || g.N == 0 || g.K == 0)
        {
            if (g.M > 0 && g.N > 0 && !g.Accumulate && Interlocked.Increment(ref *nextChunk) == 1)
            {
                FillWithBias(g);
            }
            return;
        }
        var (mr, nr, blockColumns) = TileFor(width);
        var kcMax = Math.Min(BlockDepth, g.K);
        var tileSize = RoundUp(mr * nr, AlignmentFloats);
        if (splitRows)
        {
            // B for one block of columns, all of its depth: pc block at packedB + pc·ncMax.
            var ncMax = RowSplitBlockColumns(g.K, g.N, width);
            if (ncMax < Math.Min(RoundUp(g.N, nr), blockColumns / DeepColumnsDivisor))
            {
                MultiplyDeep(g, width, nextChunk);
                return;
            }
            var packedBSize = RoundUp(g.K * ncMax, AlignmentFloats);
            var chunkRows = (packedBSize > L2BlockFloats ? Math.Clamp(ChunkOutputFloats / (mr * ncMax), ChunkTiles, WideChunkTiles) : ChunkTiles) * mr;
            var packedASize = RoundUp(chunkRows * kcMax, AlignmentFloats) + AlignmentFloats;
            var packedA = Scratch(packedASize + packedBSize + tileSize + nr);
            var packedB = packedA + packedASize;
            var tile = packedB + packedBSize;
            var zeros = tile + tileSize;
            new Span<float>(zeros, nr).Clear();
            var rowChunks = (g.M + chunkRows - 1) / chunkRows;
            var chunks = rowChunks * ((g.N + ncMax - 1) / ncMax);
            var packedBlock = -1;
            int chunk;
            while ((chunk = Interlocked.Increment(ref *nextChunk) - 1) < chunks)
            {
                var (block, rowChunk) = Math.DivRem(chunk, rowChunks);
                var (jc, ic) = (block * ncMax, rowChunk * chunkRows);
                var (nc, mc) = (Math.Min(ncMax, g.N - jc), Math.Min(chunkRows, g.M - ic));
                if (block != packedBlock)
                {
                    for (var pc = 0; pc < g.K; pc += kcMax)
                    {
                        Pack(packedB + (pc * ncMax), g.B + (pc * g.BRowStride) + (jc * g.BColumnStride), g.BColumnStride, g.BRowStride, nc, Math.Min(kcMax, g.K - pc), nr);
                    }
                    packedBlock = block;
                }
                for (var pc = 0; pc < g.K; pc += kcMax)
                {
                    var kc = Math.Min(kcMax, g.K - pc);
                    Pack(packedA, g.A + (ic * g.ARowStride) + (pc * g.AColumnStride), g.ARowStride, g.AColumnStride, mc, kc, mr);
                    Block(g, width, packedA, packedB + (pc * ncMax), ic, mc, jc, nc, pc, kc, pc == 0 && !g.Accumulate, tile, zeros);
                }
            }
        }
        else
        {
            // A whole, all of its depth: pc block at packedA + pc·mPadded.
            var mPadded = RoundUp(g.M, mr);
            var chunkColumns = ChunkTiles * nr;
            var packedASize = RoundUp(mPadded * g.K, AlignmentFloats) + AlignmentFloats;
            var packedBSize = RoundUp(kcMax * chunkColumns, AlignmentFloats);
            var packedA = Scratch(packedASize + packedBSize + tileSize + nr);
            var packedB = packedA + packedASize;
            var tile = packedB + packedBSize;
            var zeros = tile + tileSize;
            new Span<float>(zeros, nr).Clear();
            var chunks = (g.N + chunkColumns - 1) / chunkColumns;
            var packedWhole = false;
            int chunk;
            while ((chunk = Interlocked.Increment(ref *nextChunk) - 1) < chunks)
            {
                if (!packedWhole)
                {
                    for (var pc = 0; pc < g.K; pc += kcMax)
                    {
                        Pack(packedA + (pc * mPadded), g.A + (pc * g.AColumnStride), g.ARowStride, g.AColumnStride, g.M, Math.Min(kcMax, g.K - pc), mr);
                    }
                    packedWhole = true;
                }
                var jc = chunk * chunkColumns;
                var nc = Math.Min(chunkColumns, g.N - jc);
                for (var pc = 0; pc < g.K; pc += kcMax)
                {
                    var kc = Math.Min(kcMax, g.K - pc);
                    Pack(packedB, g.B + (pc * g.BRowStride) + (jc * g.BColumnStride), g.BColumnStride, g.BRowStride, nc, kc, nr);
                    Block(g, width, packedA + (pc * mPadded), packedB, 0, g.M, jc, nc, pc, kc, pc == 0 && !g.Accumulate, tile, zeros);
                }
            }
        }
    }

    // The row split for a depth too long to pack B whole in blocks of useful width (the head's dX = dY·W sums over the
    // vocabulary): there a block of B would be a few panels wide and every row chunk's A would be packed again for each.
    // Here a chunk is a block of rows × a block of columns, both operands packed KC deep at a time inside it, so A is
    // packed once per block of columns and B once per block of rows. Each packing of a long A (dY, transposed into
    // panels) costs about 5 % of the product, so the columns come in two halves: A is packed twice, and two threads
    // take one half each.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyDeep(in GemmOperands g, int width, int* nextChunk)
    {
        var (mr, nr, blockColumns) = TileFor(width);
        var kcMax = Math.Min(BlockDepth, g.K);
        var tileSize = RoundUp(mr * nr, AlignmentFloats);
        var rowChunks = (RoundUp(g.M, mr) + DeepRows - 1) / DeepRows;
        var chunkRows = RoundUp((g.M + rowChunks - 1) / rowChunks, mr);
        var chunkColumns = Math.Clamp(RoundUp((g.N + 1) / 2, nr), ChunkTiles * nr, blockColumns);
        var packedASize = RoundUp(chunkRows * kcMax, AlignmentFloats) + AlignmentFloats;
        var packedBSize = RoundUp(kcMax * chunkColumns, AlignmentFloats);
        var packedA = Scratch(packedASize + packedBSize + tileSize + nr);
        var packedB = packedA + packedASize;
        var tile = packedB + packedBSize;
        var zeros = tile + tileSize;
        new Span<float>(zeros, nr).Clear();
        rowChunks = (g.M + chunkRows - 1) / chunkRows;
        var chunks = rowChunks * ((g.N + chunkColumns - 1) / chunkColumns);
        int chunk;
        while ((chunk = Interlocked.Increment(ref *nextChunk) - 1) < chunks)
        {
            var (block, rowChunk) = Math.DivRem(chunk, rowChunks);
            var (jc, ic) = (block * chunkColumns, rowChunk * chunkRows);
            var (nc, mc) = (Math.Min(chunkColumns, g.N - jc), Math.Min(chunkRows, g.M - ic));
            for (var pc = 0; pc < g.K; pc += kcMax)
            {
                var kc = Math.Min(kcMax, g.K - pc);
                Pack(packedB, g.B + (pc * g.BRowStride) + (jc * g.BColumnStride), g.BColumnStride, g.BRowStride, nc, kc, nr);
                Pack(packedA, g.A + (ic * g.ARowStride) + (pc * g.AColumnStride), g.ARowStride, g.AColumnStride, mc, kc, mr);
                Block(g, width, packedA, packedB, ic, mc, jc, nc, pc, kc, pc == 0 && !g.Accumulate, tile, zeros);
            }
        }
    }

    // C[ic:ic+mc, jc:jc+nc] = α·(packed A panels)·(packed B panels) + (C, or the bias when overwriting), tile by tile
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block(
        in GemmOperands g, int width, float* packedA, float* packedB, int ic, int mc, int jc, int nc, int pc, int kc, bool overwrite, float* tile, float* zeros)
    {
        var (mr, nr, _) = TileFor(width);
        delegate*<int, float*, float*, float, float*, nint, float*, nint, void> kernel = width switch
        {
            512 => &Kernel512,
            256 => &Kernel256,
            128 => &Kernel128,
            _ => &KernelScalar,
        };
        for (var jr = 0; jr < nc; jr += nr)
        {
            var columns = Math.Min(nr, nc - jr);
            var bias = g.Bias == null ? zeros : g.Bias + jc + jr;
            for (var ir = 0; ir < mc; ir += mr)
            {
                var rows = Math.Min(mr, mc - ir);
                var (first, depth) = TileDepth(g.Mask, ic + ir, rows, jc + jr, pc, kc);
                if (depth < 0 || (depth == 0 && !overwrite))
                {
                    continue;
                }
                var c = g.C + ((ic + ir) * g.CRowStride) + jc + jr;
                var a = packedA + (ir * kc) + (first * mr);
                var b = packedB + (jr * kc) + (first * nr);
                var source = overwrite ? bias : c;
                var sourceStride = overwrite ? 0 : g.CRowStride;
                if (rows == mr && columns == nr)
                {
                    kernel(depth, a, b, g.Alpha, source, sourceStride, c, g.CRowStride);
                }
                else if (width == 512 && columns <= 4)
                {
                    Columns512(depth, a, b, rows, columns, g.Alpha, source, sourceStride, c, g.CRowStride, tile);
                }
                else if (width == 512 && columns <= 16)
                {
                    if (rows == mr && columns == 16)
                    {
                        Kernel512Narrow(depth, a, b, g.Alpha, source, sourceStride, c, g.CRowStride);
                    }
                    else
                    {
                        EdgeTile(&Kernel512Narrow, depth, a, b, g.Alpha, overwrite, bias, c, g.CRowStride, rows, columns, tile, mr, 16);
                    }
                }
                else
                {
                    EdgeTile(kernel, depth, a, b, g.Alpha, overwrite, bias, c, g.CRowStride, rows, columns, tile, mr, nr);
                }
            }
        }
    }

    // The span [pc + first, pc + first + depth) of the block [pc, pc + kc) a tile of rows [row, row + rows) starting at
    // column `column` sums over: under a causal mask the products outside it are zero, or the whole tile is unneeded
    // (depth −1). It depends only on where the tile sits, so every element is the same chain whichever thread computes it.
    private static (int First, int Depth) TileDepth(CausalMask mask, int row, int rows, int column, int pc, int kc) => mask switch
    {
        CausalMask.LowerOutput => column > row + rows - 1 ? (0, -1) : (0, kc),
        CausalMask.LowerA => (0, Math.Clamp(row + rows - pc, 0, kc)),
        CausalMask.UpperA => (Math.Clamp(row - pc, 0, kc), kc - Math.Clamp(row - pc, 0, kc)),
        _ => (0, kc),
    };

    // A partial tile: C's valid part (or the bias) goes into a full scratch tile of the kernel's width, the kernel
    // updates it, the valid part goes back.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void EdgeTile(
        delegate*<int, float*, float*, float, float*, nint, float*, nint, void> kernel, int kc, float* a, float* b, float alpha,
        bool overwrite, float* bias, float* c, nint cRowStride, int rows, int columns, float* tile, int mr, int tileColumns)
    {
        new Span<float>(tile, mr * tileColumns).Clear();
        for (var r = 0; r < rows; r++)
        {
            var source = overwrite ? bias : c + (r * cRowStride);
            new ReadOnlySpan<float>(source, columns).CopyTo(new Span<float>(tile + (r * tileColumns), columns));
        }
        kernel(kc, a, b, alpha, tile, tileColumns, tile, tileColumns);
        for (var r = 0; r < rows; r++)
        {
            new ReadOnlySpan<float>(tile + (r * tileColumns), columns).CopyTo(new Span<float>(c + (r * cRowStride), columns));
        }
    }

    // packed[line / width][p][line % width] = source[line·lineStride + p·depthStride], zero past the last line
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
                    CopyShort(panel + (p * depthStride), packed + (p * width), count);
                }
            }
            else
            {
                var line = 0;
                if (depthStride == 1 && Sse.IsSupported)
                {
                    for (; line + 4 <= count; line += 4)
                    {
                        PackTransposed4(packed + line, panel + (line * lineStride), lineStride, depth, width);
                    }
                }
                for (; line < count; line++)
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

    // to[0:count] = from[0:count] for the few floats of one depth step of a panel (12 or 32 with AVX-512): inline vector
    // moves, where a memmove call per step cost as much as a fifth of dW += dYᵀ·X (its A, dY read across its rows)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyShort(float* from, float* to, int count)
    {
        var i = 0;
        for (; i + 8 <= count; i += 8)
        {
            Vector256.Store(Vector256.Load(from + i), to + i);
        }
        if (i + 4 <= count)
        {
            Vector128.Store(Vector128.Load(from + i), to + i);
            i += 4;
        }
        for (; i < count; i++)
        {
            to[i] = from[i];
        }
    }

    // to[p·width + r] = from[r·lineStride + p] for 4 lines r, 4×4 blocks at a time: a matrix stored along the depth
    // (X[M,K] as A, or W[N,K] as B in the forward form) is transposed into its panel with shuffles, not float by float
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackTransposed4(float* to, float* from, nint lineStride, int depth, int width)
    {
        var p = 0;
        for (; p + 4 <= depth; p += 4)
        {
            var row0 = Sse.LoadVector128(from + p);
            var row1 = Sse.LoadVector128(from + lineStride + p);
            var row2 = Sse.LoadVector128(from + (2 * lineStride) + p);
            var row3 = Sse.LoadVector128(from + (3 * lineStride) + p);
            var low01 = Sse.UnpackLow(row0, row1);
            var high01 = Sse.UnpackHigh(row0, row1);
            var low23 = Sse.UnpackLow(row2, row3);
            var high23 = Sse.UnpackHigh(row2, row3);
            Sse.Store(to + (p * width), Sse.MoveLowToHigh(low01, low23));
            Sse.Store(to + ((p + 1) * width), Sse.MoveHighToLow(low23, low01));
            Sse.Store(to + ((p + 2) * width), Sse.MoveLowToHigh(high01, high23));
            Sse.Store(to + ((p + 3) * width), Sse.MoveHighToLow(high23, high01));
        }
        for (; p < depth; p++)
        {
            for (var r = 0; r < 4; r++)
            {
                to[(p * width) + r] = from[(r * lineStride) + p];
            }
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
