using System.Runtime.CompilerServices;

namespace NanoLlm.Tensors;

/// <summary>
/// Causal multi-head attention's core, over a [B, T, 3C] buffer of <c>[q|k|v]</c> rows (head h of each third is
/// columns h·D.., C = H·D), one (batch, head) pair at a time: a pair's scores, masked softmax and weighted values are
/// made together while its T×T block is in cache, and threads take whole pairs from a counter, one call each way
/// instead of one per product and softmax. The products skip what the causal mask zeroes: a block of rows multiplies
/// only the keys up to its last row, and a block of key columns only the rows from its first. The skipped terms are
/// exact zeros (each block of a product's sum starts from +0, which adding ±0 leaves +0), so every element is the
/// chain of fused multiply-adds <see cref="MatMul.Batched"/> gives it, and the softmax rows are
/// <see cref="Softmax.CausalForward"/>'s: the same bits as those calls, whatever the thread count.
/// </summary>
public static unsafe class CausalAttention
{
    // Below this many floating-point operations (about 10 µs of one core) a thread does not pay for waking it; a pair
    // is never split, so a thread's share packs nothing twice.
    private const long MinFlopsPerThread = 1L << 21;

    // S = α·Q·Kᵀ;  P = causal softmax(S) (row i over columns 0..i, zeros after);  O = P·V   (per batch and head)
    public static void Forward(
        Span<float> probabilities, Span<float> output, ReadOnlySpan<float> qkv, int batches, int heads, int length, int headSize, float scale)
    {
        var (c, items) = CheckShapes(qkv.Length, batches, heads, length, headSize);
        Softmax.CheckShape(probabilities.Length, items * length, length, nameof(probabilities));
        Softmax.CheckShape(output.Length, batches * length, c, nameof(output));
        fixed (float* pp = probabilities, op = output, qp = qkv)
        {
            var job = new Job
            {
                Qkv = qp,
                Probabilities = pp,
                Output = op,
                Heads = heads,
                Length = length,
                HeadSize = headSize,
                Scale = scale,
                Width = KernelSettings.VectorWidth,
            };
            Run(&ForwardPart, &job, items, 4L * length * length * headSize);
        }
    }

    // dP = dO·Vᵀ;  dV = Pᵀ·dO;  dS = P⊙(dP − rowsum(dP⊙P)) (zero where masked);  dQ = α·dS·K;  dK = α·dSᵀ·Q
    // dQ, dK and dV overwrite their thirds of qkvGrads; scoreGrads holds dS on return.
    public static void Backward(
        Span<float> qkvGrads, Span<float> scoreGrads, ReadOnlySpan<float> outputGrads, ReadOnlySpan<float> qkv, ReadOnlySpan<float> probabilities,
        int batches, int heads, int length, int headSize, float scale)
    {
        var (c, items) = CheckShapes(qkv.Length, batches, heads, length, headSize);
        Softmax.CheckShape(qkvGrads.Length, batches * length, 3 * c, nameof(qkvGrads));
        Softmax.CheckShape(scoreGrads.Length, items * length, length, nameof(scoreGrads));
        Softmax.CheckShape(probabilities.Length, items * length, length, nameof(probabilities));
        Softmax.CheckShape(outputGrads.Length, batches * length, c, nameof(outputGrads));
        fixed (float* gp = qkvGrads, sp = scoreGrads, dop = outputGrads, qp = qkv, pp = probabilities)
        {
            var job = new Job
            {
                Qkv = qp,
                Probabilities = pp,
                OutputGrads = dop,
                QkvGrads = gp,
                ScoreGrads = sp,
                Heads = heads,
                Length = length,
                HeadSize = headSize,
                Scale = scale,
                Width = KernelSettings.VectorWidth,
            };
            Run(&BackwardPart, &job, items, 8L * length * length * headSize);
        }
    }

    private static (int Channels, int Items) CheckShapes(int qkvLength, int batches, int heads, int length, int headSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batches);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heads);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headSize);
        var c = heads * headSize;
        Softmax.CheckShape(qkvLength, batches * length, 3 * c, "qkv");
        return (c, batches * heads);
    }

    private static void Run(delegate*<void*, int, void> part, Job* job, int items, long flopsPerItem)
    {
        if (items == 0 || job->Length == 0)
        {
            return;
        }
        job->Items = items;
        job->NextItem = 0;
        var parts = (int)Math.Clamp(items * flopsPerItem / MinFlopsPerThread, 1, Math.Min(KernelSettings.MaxThreads, items));
        KernelThreads.Run(parts, part, job);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardPart(void* context, int part)
    {
        var job = (Job*)context;
        var (t, d, width) = (job->Length, job->HeadSize, job->Width);
        var c = job->Heads * d;
        var block = RowBlock(t, width);
        int item;
        while ((item = Interlocked.Increment(ref job->NextItem) - 1) < job->Items)
        {
            var (batch, head) = Math.DivRem(item, job->Heads);
            var q = job->Qkv + ((long)batch * t * 3 * c) + (head * d);
            var k = q + c;
            var v = q + (2 * c);
            var p = job->Probabilities + ((long)item * t * t);
            var o = job->Output + ((long)batch * t * c) + (head * d);
            for (var r0 = 0; r0 < t; r0 += block)
            {
                var r1 = Math.Min(t, r0 + block);
                // S[r0:r1, 0:r1] = α·Q[r0:r1]·K[0:r1]ᵀ (K read transposed where it lies; the later columns are masked)
                Gemm.Multiply(Operands(q + (r0 * 3 * c), 3 * c, 1, k, 1, 3 * c, p + (r0 * t), t, r1 - r0, d, r1, job->Scale), width);
                for (var r = r0; r < r1; r++)
                {
                    Softmax.CausalForwardRow(new Span<float>(p + ((long)r * t), t), r + 1, width);
                }
                // O[r0:r1] = P[r0:r1, 0:r1]·V[0:r1]
                Gemm.Multiply(Operands(p + (r0 * t), t, 1, v, 3 * c, 1, o + (r0 * c), c, r1 - r0, r1, d, 1f), width);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardPart(void* context, int part)
    {
        var job = (Job*)context;
        var (t, d, width) = (job->Length, job->HeadSize, job->Width);
        var c = job->Heads * d;
        var block = RowBlock(t, width);
        int item;
        while ((item = Interlocked.Increment(ref job->NextItem) - 1) < job->Items)
        {
            var (batch, head) = Math.DivRem(item, job->Heads);
            var rowsOffset = (long)batch * t * 3 * c;
            var q = job->Qkv + rowsOffset + (head * d);
            var k = q + c;
            var v = q + (2 * c);
            var dq = job->QkvGrads + rowsOffset + (head * d);
            var dk = dq + c;
            var dv = dq + (2 * c);
            var p = job->Probabilities + ((long)item * t * t);
            var ds = job->ScoreGrads + ((long)item * t * t);
            var outputGrad = job->OutputGrads + ((long)batch * t * c) + (head * d);
            for (var r0 = 0; r0 < t; r0 += block)
            {
                var r1 = Math.Min(t, r0 + block);
                // dP[r0:r1, 0:r1] = dO[r0:r1]·V[0:r1]ᵀ;  dS = P⊙(dP − rowsum(dP⊙P));  dQ[r0:r1] = α·dS[r0:r1, 0:r1]·K[0:r1]
                Gemm.Multiply(Operands(outputGrad + (r0 * c), c, 1, v, 1, 3 * c, ds + (r0 * t), t, r1 - r0, d, r1, 1f), width);
                for (var r = r0; r < r1; r++)
                {
                    Softmax.CausalBackwardRow(new Span<float>(ds + ((long)r * t), t), new ReadOnlySpan<float>(p + ((long)r * t), t), r + 1, width);
                }
                Gemm.Multiply(Operands(ds + (r0 * t), t, 1, k, 3 * c, 1, dq + (r0 * 3 * c), 3 * c, r1 - r0, r1, d, job->Scale), width);
            }
            for (var j0 = 0; j0 < t; j0 += block)
            {
                var j1 = Math.Min(t, j0 + block);
                // dV[j0:j1] = P[s:T, j0:j1]ᵀ·dO[s:T];  dK[j0:j1] = α·dS[s:T, j0:j1]ᵀ·Q[s:T]   (rows above j0 are masked)
                var s = FirstUnmaskedDepth(j0, t);
                Gemm.Multiply(Operands(p + ((long)s * t) + j0, 1, t, outputGrad + (s * c), c, 1, dv + (j0 * 3 * c), 3 * c, j1 - j0, t - s, d, 1f), width);
                Gemm.Multiply(Operands(ds + ((long)s * t) + j0, 1, t, q + (s * 3 * c), 3 * c, 1, dk + (j0 * 3 * c), 3 * c, j1 - j0, t - s, d, job->Scale), width);
            }
        }
    }

    // Rows of a pair's T×T block computed at a time: row block i needs only the first (i + 1)·block columns of S (and
    // depth of P·V), the rest being masked, so about 8 blocks skip nearly half the work; whole tiles of the kernel.
    private static int RowBlock(int t, int width)
    {
        var tileRows = Gemm.TileFor(width).Rows;
        return Math.Max(2 * tileRows, (t / 8) + tileRows - 1) / tileRows * tileRows;
    }

    // Where a product over the rows of P or dS below row j0 may start (every earlier row is masked there, an exact
    // zero): at j0 when the whole depth is one of Gemm's blocks, else at the start of j0's block, so the products'
    // blocks, and with them their rounding, stay those of the full product.
    private static int FirstUnmaskedDepth(int j0, int t) => t <= Gemm.BlockDepth ? j0 : j0 / Gemm.BlockDepth * Gemm.BlockDepth;

    // C[M,N] = α·A[M,K]·B[K,N], overwriting C; element (i, p) of A at a[i·aRowStride + p·aColumnStride], B alike
    private static GemmOperands Operands(
        float* a, nint aRowStride, nint aColumnStride, float* b, nint bRowStride, nint bColumnStride, float* c, nint cRowStride, int m, int k, int n, float alpha)
    {
        return new GemmOperands
        {
            A = a,
            ARowStride = aRowStride,
            AColumnStride = aColumnStride,
            B = b,
            BRowStride = bRowStride,
            BColumnStride = bColumnStride,
            C = c,
            CRowStride = cRowStride,
            M = m,
            K = k,
            N = n,
            Alpha = alpha,
            Accumulate = false,
        };
    }

    private struct Job
    {
        public float* Qkv;
        public float* Probabilities;
        public float* Output;
        public float* OutputGrads;
        public float* QkvGrads;
        public float* ScoreGrads;
        public int Heads;
        public int Length;
        public int HeadSize;
        public float Scale;
        public int Width;
        public int Items;
        public int NextItem;
    }
}
