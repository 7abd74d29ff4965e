namespace NanoLlm.Tensors;

/// <summary>
/// Where a batch of matrices sits in a flat buffer: element (r, c) of matrix (b, h) is at
/// <c>b·BatchStride + h·HeadStride + r·RowStride + c</c>, or at <c>… + c·RowStride + r</c> when <see cref="Transposed"/>
/// (the matrix is read as the transpose of what is stored). Attention's per-head views of a [B,T,C] buffer are
/// <c>new(RowStride: C, BatchStride: T·C, HeadStride: headSize)</c>.
/// </summary>
public readonly record struct MatrixLayout(int RowStride, bool Transposed = false, int BatchStride = 0, int HeadStride = 0);

/// <summary>
/// What a causal mask makes of a square batched product (M = K = T for the masked operand), so whole tiles and spans of
/// the sum can be skipped: attention computes half the products of a full square.
/// </summary>
public enum CausalMask
{
    /// <summary>Every element of C over the whole depth.</summary>
    None,

    /// <summary>Only C[i,j] with j ≤ i is needed (S = Q·Kᵀ, dP = dO·Vᵀ): tiles wholly above the diagonal are left as they were.</summary>
    LowerOutput,

    /// <summary>A[i,p] = 0 for p &gt; i (O = P·V, dQ = dS·K): a tile of rows sums over p up to its last row.</summary>
    LowerA,

    /// <summary>A[i,p] = 0 for p &lt; i (dV = Pᵀ·dO, dK = dSᵀ·Q): a tile of rows sums over p from its first row.</summary>
    UpperA,
}

/// <summary>
/// Matrix products. The layer forms use PyTorch's Linear layout (weights <c>W[N,K]</c>, one row per output);
/// <see cref="Batched"/> covers attention's per-(batch, head) products. All run on <see cref="Gemm"/>; threads take
/// chunks of output rows, columns or batch items from a shared counter, never a piece of a sum, so every element is
/// computed the same way whichever thread takes it and results do not depend on <see cref="KernelSettings.MaxThreads"/>.
/// </summary>
public static unsafe class MatMul
{
    // Below this many floating-point operations (about 25 µs of one core) a second thread does not pay for waking it.
    private const long MinFlopsPerThread = 1L << 22;

    // Columns of a bias gradient one thread sums at a time: four cache lines of each row.
    private const int BiasBlock = 64;

    // Y[M,N] = X[M,K]·W[N,K]ᵀ + b[N]   (overwrites Y; an empty b means no bias)
    public static void Forward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, int m, int k, int n)
    {
        CheckSizes(m, k, n);
        CheckLength(y, (long)m * n, nameof(y));
        CheckLength(x, (long)m * k, nameof(x));
        CheckLength(w, (long)n * k, nameof(w));
        if (!bias.IsEmpty)
        {
            CheckLength(bias, n, nameof(bias));
        }
        fixed (float* yp = y, xp = x, wp = w, bp = bias)
        {
            var job = new GemmJob
            {
                Operands = new GemmOperands
                {
                    A = xp,
                    ARowStride = k,
                    AColumnStride = 1,
                    B = wp,
                    BRowStride = 1,
                    BColumnStride = k,
                    C = yp,
                    CRowStride = n,
                    Bias = bias.IsEmpty ? null : bp,
                    M = m,
                    K = k,
                    N = n,
                    Alpha = 1f,
                    Accumulate = false,
                },
                Batches = 1,
                Heads = 1,
            };
            Run(ref job);
        }
    }

    /// <summary>W[N,K] packed once for <see cref="ForwardPacked"/>: weights that many products reuse (inference).</summary>
    internal static PackedMatrix PackWeights(ReadOnlySpan<float> w, int k, int n)
    {
        CheckSizes(1, k, n);
        CheckLength(w, (long)n * k, nameof(w));
        fixed (float* wp = w)
        {
            return Gemm.PackB(wp, rowStride: 1, columnStride: k, k, n, KernelSettings.VectorWidth);
        }
    }

    // Y[M,N] = X[M,K]·W[N,K]ᵀ + b[N] with W packed by PackWeights, on the calling thread; every element is the one
    // Forward computes, whatever M, so a row's result does not depend on the rows beside it
    internal static void ForwardPacked(Span<float> y, ReadOnlySpan<float> x, PackedMatrix w, ReadOnlySpan<float> bias, int m)
    {
        var (k, n) = (w.K, w.N);
        CheckSizes(m, k, n);
        CheckLength(y, (long)m * n, nameof(y));
        CheckLength(x, (long)m * k, nameof(x));
        if (!bias.IsEmpty)
        {
            CheckLength(bias, n, nameof(bias));
        }
        fixed (float* yp = y, xp = x, bp = bias)
        {
            var operands = new GemmOperands
            {
                A = xp,
                ARowStride = k,
                AColumnStride = 1,
                C = yp,
                CRowStride = n,
                Bias = bias.IsEmpty ? null : bp,
                M = m,
                K = k,
                N = n,
                Alpha = 1f,
                Accumulate = false,
            };
            Gemm.MultiplyPacked(operands, w);
        }
    }

    // dX[M,K] += dY[M,N]·W[N,K]   (dX = dY·W without accumulate: the same bits as accumulating into zeros, without clearing first)
    public static void BackwardInput(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, int m, int k, int n, bool accumulate = true)
    {
        CheckBackwardInput(dx, dy, w, m, k, n);
        fixed (float* dxp = dx, dyp = dy, wp = w)
        {
            var job = InputGradient(dxp, dyp, wp, m, k, n, accumulate);
            Run(ref job);
        }
    }

    // dW[N,K] += dY[M,N]ᵀ·X[M,K];  db[N] += Σ_rows dY   (an empty db is skipped)
    public static void BackwardWeight(Span<float> dw, Span<float> db, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int m, int k, int n)
    {
        CheckBackwardWeight(dw, db, dy, x, m, k, n);
        fixed (float* dwp = dw, dbp = db, dyp = dy, xp = x)
        {
            var job = WeightGradient(dwp, db.IsEmpty ? null : dbp, dyp, xp, m, k, n);
            Run(ref job);
        }
    }

    /// <summary>
    /// <see cref="BackwardWeight"/> and <see cref="BackwardInput"/> in one call: the threads take the bias gradient's
    /// blocks of columns, then the weight product's chunks, then the input product's, so one product's small or uneven
    /// share is made up by the other's and the threads meet once, not twice. The same bits as the two calls.
    /// </summary>
    // dW[N,K] += dY[M,N]ᵀ·X[M,K];  db[N] += Σ_rows dY;  dX[M,K] += dY·W[N,K] (dX = dY·W without accumulate)
    public static void Backward(
        Span<float> dw, Span<float> db, Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> w, int m, int k, int n,
        bool accumulate = true)
    {
        CheckBackwardWeight(dw, db, dy, x, m, k, n);
        CheckBackwardInput(dx, dy, w, m, k, n);
        fixed (float* dwp = dw, dbp = db, dxp = dx, dyp = dy, xp = x, wp = w)
        {
            var pair = new GemmPair { First = WeightGradient(dwp, db.IsEmpty ? null : dbp, dyp, xp, m, k, n), Second = InputGradient(dxp, dyp, wp, m, k, n, accumulate) };
            var parts = Math.Max(Prepare(ref pair.First), Prepare(ref pair.Second));
            if (parts > 0)
            {
                KernelThreads.Run(parts, &RunPairPart, &pair);
            }
        }
    }

    private static void CheckBackwardInput(ReadOnlySpan<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, int m, int k, int n)
    {
        CheckSizes(m, k, n);
        CheckLength(dx, (long)m * k, nameof(dx));
        CheckLength(dy, (long)m * n, nameof(dy));
        CheckLength(w, (long)n * k, nameof(w));
    }

    private static void CheckBackwardWeight(ReadOnlySpan<float> dw, ReadOnlySpan<float> db, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int m, int k, int n)
    {
        CheckSizes(m, k, n);
        CheckLength(dw, (long)n * k, nameof(dw));
        CheckLength(dy, (long)m * n, nameof(dy));
        CheckLength(x, (long)m * k, nameof(x));
        if (!db.IsEmpty)
        {
            CheckLength(db, n, nameof(db));
        }
    }

    // dX[M,K] (+)= dY[M,N]·W[N,K]
    private static GemmJob InputGradient(float* dx, float* dy, float* w, int m, int k, int n, bool accumulate) => new()
    {
        Operands = new GemmOperands
        {
            A = dy,
            ARowStride = n,
            AColumnStride = 1,
            B = w,
            BRowStride = k,
            BColumnStride = 1,
            C = dx,
            CRowStride = k,
            M = m,
            K = n,
            N = k,
            Alpha = 1f,
            Accumulate = accumulate,
        },
        Batches = 1,
        Heads = 1,
    };

    // dW[N,K] += dY[M,N]ᵀ·X[M,K], and db[N] += Σ_rows dY when db is not null (its blocks taken before the product's chunks)
    private static GemmJob WeightGradient(float* dw, float* db, float* dy, float* x, int m, int k, int n) => new()
    {
        Operands = new GemmOperands
        {
            A = dy,
            ARowStride = 1,
            AColumnStride = n,
            B = x,
            BRowStride = k,
            BColumnStride = 1,
            C = dw,
            CRowStride = k,
            M = n,
            K = m,
            N = k,
            Alpha = 1f,
            Accumulate = true,
        },
        Batches = 1,
        Heads = 1,
        Bias = new BiasSums { Db = db, Dy = dy, Rows = m, Columns = db == null ? 0 : n },
    };

    // C[b,h][M,N] = α·A[b,h][M,K]·B[b,h][K,N] (+ C[b,h] when accumulate) for b < batches, h < heads; with a causal
    // mask, the zeros of A are skipped (their products add nothing) or the unneeded tiles of C
    public static void Batched(
        Span<float> c, MatrixLayout cLayout, ReadOnlySpan<float> a, MatrixLayout aLayout, ReadOnlySpan<float> b, MatrixLayout bLayout,
        int batches, int heads, int m, int k, int n, float alpha = 1f, bool accumulate = false, CausalMask mask = CausalMask.None)
    {
        CheckSizes(m, k, n);
        if (mask is CausalMask.LowerA or CausalMask.UpperA && m != k)
        {
            throw new ArgumentException($"A causal mask on A needs a square A; it is {m}×{k}.", nameof(mask));
        }
        ArgumentOutOfRangeException.ThrowIfNegative(batches);
        ArgumentOutOfRangeException.ThrowIfNegative(heads);
        if (cLayout.Transposed)
        {
            throw new ArgumentException("The output matrix is written row by row; it cannot be transposed.", nameof(cLayout));
        }
        CheckLayout(c.Length, cLayout, batches, heads, m, n, nameof(c));
        CheckLayout(a.Length, aLayout, batches, heads, m, k, nameof(a));
        CheckLayout(b.Length, bLayout, batches, heads, k, n, nameof(b));
        fixed (float* cp = c, ap = a, bp = b)
        {
            var job = new GemmJob
            {
                Operands = new GemmOperands
                {
                    A = ap,
                    ARowStride = aLayout.Transposed ? 1 : aLayout.RowStride,
                    AColumnStride = aLayout.Transposed ? aLayout.RowStride : 1,
                    B = bp,
                    BRowStride = bLayout.Transposed ? 1 : bLayout.RowStride,
                    BColumnStride = bLayout.Transposed ? bLayout.RowStride : 1,
                    C = cp,
                    CRowStride = cLayout.RowStride,
                    M = m,
                    K = k,
                    N = n,
                    Alpha = alpha,
                    Accumulate = accumulate,
                    Mask = mask,
                },
                Batches = batches,
                Heads = heads,
                ABatchStride = aLayout.BatchStride,
                AHeadStride = aLayout.HeadStride,
                BBatchStride = bLayout.BatchStride,
                BHeadStride = bLayout.HeadStride,
                CBatchStride = cLayout.BatchStride,
                CHeadStride = cLayout.HeadStride,
            };
            Run(ref job);
        }
    }

    private static void Run(ref GemmJob job)
    {
        var parts = Prepare(ref job);
        if (parts > 0)
        {
            fixed (GemmJob* context = &job)
            {
                KernelThreads.Run(parts, &RunPart, context);
            }
        }
    }

    // Readies a job for its parts and returns how many threads it pays to use; 0 when no product is left to compute
    // (a bias gradient beside an empty product is summed here).
    private static int Prepare(ref GemmJob job)
    {
        job.Width = KernelSettings.VectorWidth;
        var g = job.Operands;
        var items = (long)job.Batches * job.Heads;
        if (items == 0 || g.M == 0 || g.N == 0)
        {
            SumBias(ref job.Bias, job.Width);
            job.Empty = true;
            return 0;
        }
        var flops = 2L * g.M * g.N * Math.Max(g.K, 1) * items;
        var parts = (int)Math.Clamp(flops / MinFlopsPerThread, 1, KernelSettings.MaxThreads);
        var (mr, nr, _) = Gemm.TileFor(job.Width);
        if (items > 1)
        {
            job.Items = (int)items;
            parts = Math.Min(parts, job.Items);
        }
        else
        {
            // Split the output the long way, unless packing all of A for a column split would not fit the budget.
            var rowTiles = (g.M + mr - 1) / mr;
            var columnTiles = (g.N + nr - 1) / nr;
            job.SplitRows = rowTiles >= columnTiles || (long)(rowTiles * mr) * g.K > Gemm.PackedBudget;
            parts = Math.Min(parts, job.SplitRows ? rowTiles : columnTiles);
        }
        job.NextChunk = 0;
        return parts;
    }

    private static void RunPairPart(void* context, int part)
    {
        var pair = (GemmPair*)context;
        RunPart(&pair->First, part);
        RunPart(&pair->Second, part);
    }

    // Every part takes work from the same counter: batch items, or chunks of one product, until none is left (after
    // the blocks of bias columns, when there is a bias gradient to sum).
    private static void RunPart(void* context, int part)
    {
        var job = (GemmJob*)context;
        if (job->Empty)
        {
            return;
        }
        SumBias(ref job->Bias, job->Width);
        if (job->Items > 1)
        {
            int item;
            while ((item = Interlocked.Increment(ref job->NextChunk) - 1) < job->Items)
            {
                var (batch, head) = Math.DivRem(item, job->Heads);
                var one = job->Operands;
                one.A += (batch * job->ABatchStride) + (head * job->AHeadStride);
                one.B += (batch * job->BBatchStride) + (head * job->BHeadStride);
                one.C += (batch * job->CBatchStride) + (head * job->CHeadStride);
                Gemm.Multiply(one, job->Width);
            }
            return;
        }
        Gemm.Multiply(job->Operands, job->Width, job->SplitRows, &job->NextChunk);
    }

    // db += Σ_rows dY, in blocks of columns taken from the counter; each column sums its rows in order, whoever takes it
    private static void SumBias(ref BiasSums bias, int width)
    {
        var blocks = (bias.Columns + BiasBlock - 1) / BiasBlock;
        int block;
        while ((block = Interlocked.Increment(ref bias.NextBlock) - 1) < blocks)
        {
            var start = block * BiasBlock;
            var db = new Span<float>(bias.Db + start, Math.Min(BiasBlock, bias.Columns - start));
            for (var i = 0; i < bias.Rows; i++)
            {
                VectorLoops.Map(width, db, new ReadOnlySpan<float>(bias.Dy + ((long)i * bias.Columns) + start, db.Length), db, default(ElementWise.AddOperator));
            }
        }
    }

    private static void CheckSizes(int m, int k, int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
    }

    // A span may be longer than its shape (a buffer sized for the largest batch); its leading elements are used.
    private static void CheckLength(ReadOnlySpan<float> span, long length, string name)
    {
        if (span.Length < length)
        {
            throw new ArgumentException($"{name} holds {span.Length} floats; the shape needs {length}.", name);
        }
    }

    // The last element any matrix of the batch touches must lie inside the buffer; strides are never negative.
    private static void CheckLayout(int length, MatrixLayout layout, int batches, int heads, int rows, int columns, string name)
    {
        if (layout.RowStride < 0 || layout.BatchStride < 0 || layout.HeadStride < 0)
        {
            throw new ArgumentException($"{name}: strides cannot be negative ({layout}).", name);
        }
        if (batches == 0 || heads == 0 || rows == 0 || columns == 0)
        {
            return;
        }
        var (storedRows, storedColumns) = layout.Transposed ? (columns, rows) : (rows, columns);
        if (storedColumns > layout.RowStride && storedRows > 1)
        {
            throw new ArgumentException($"{name}: rows of {storedColumns} floats overlap with a row stride of {layout.RowStride}.", name);
        }
        var end = ((long)(batches - 1) * layout.BatchStride) + ((long)(heads - 1) * layout.HeadStride)
            + ((long)(storedRows - 1) * layout.RowStride) + storedColumns;
        if (end > length)
        {
            throw new ArgumentException($"{name} holds {length} floats; the layout {layout} reaches {end}.", name);
        }
    }

    // A bias gradient summed in the same call as its weight gradient: db[Columns] += Σ_rows dY[Rows, Columns].
    private struct BiasSums
    {
        public float* Db;
        public float* Dy;
        public int Rows;
        public int Columns;
        public int NextBlock;
    }

    private struct GemmJob
    {
        public GemmOperands Operands;
        public int Batches;
        public int Heads;
        public int Items;
        public nint ABatchStride;
        public nint AHeadStride;
        public nint BBatchStride;
        public nint BHeadStride;
        public nint CBatchStride;
        public nint CHeadStride;
        public int Width;
        public bool SplitRows;
        public int NextChunk;
        public BiasSums Bias;
        public bool Empty;
    }

    // Two products one call runs (the threads take the first's work before the second's).
    private struct GemmPair
    {
        public GemmJob First;
        public GemmJob Second;
    }
}
