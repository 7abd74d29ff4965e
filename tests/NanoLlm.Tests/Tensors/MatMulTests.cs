using NanoLlm.Tensors;
using static NanoLlm.Tests.Tensors.KernelTestData;

namespace NanoLlm.Tests.Tensors;

/// <summary>
/// MatMul against naive twins that sum in double. A float sum of K products, each rounded once by a fused
/// multiply-add, is within (K + 2)·u·Σ|aᵢ·bᵢ| of the exact value (Higham, Accuracy and Stability of Numerical
/// Algorithms, §3.1; the +2 covers adding the bias or the previous C), so that is the tolerance per element.
/// </summary>
public sealed class MatMulTests
{
    public static TheoryData<int, int, int, int> OddShapesAllWidths()
    {
        var data = new TheoryData<int, int, int, int>();
        int[][] shapes = [[1, 1, 1], [3, 7, 5], [7, 17, 65], [17, 65, 3], [65, 129, 7], [13, 1000, 17], [1000, 3, 7], [13, 3, 2100], [200, 33, 40], [12, 5, 48], [25, 9, 36]];
        foreach (var width in new[] { 512, 256, 128, 0 })
        {
            foreach (var shape in shapes)
            {
                data.Add(width, shape[0], shape[1], shape[2]);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(OddShapesAllWidths))]
    public void Forward_matches_naive_on_odd_shapes(int width, int m, int k, int n)
    {
        var x = RandomArray(m * k, 1);
        var w = RandomArray(n * k, 2);
        var bias = RandomArray(n, 3);
        var y = RandomArray(m * n, 4);
        With(width, 1, () => MatMul.Forward(y, x, w, bias, m, k, n));

        var (expected, bound) = NaiveProduct(m, k, n, (i, p) => x[(i * k) + p], (p, j) => w[(j * k) + p], (_, j) => bias[j]);
        AssertClose(expected, y, e => (k + 2) * Unit * bound[e], "y");
    }

    [Theory]
    [MemberData(nameof(OddShapesAllWidths))]
    public void ForwardPacked_gives_the_bits_of_Forward_for_every_row_alone_or_together(int width, int m, int k, int n)
    {
        var x = RandomArray(m * k, 1);
        var w = RandomArray(n * k, 2);
        var bias = RandomArray(n, 3);
        var expected = new float[m * n];
        var together = new float[m * n];
        var alone = new float[m * n];
        With(width, 2, () =>
        {
            MatMul.Forward(expected, x, w, bias, m, k, n);
            var packed = MatMul.PackWeights(w, k, n);
            MatMul.ForwardPacked(together, x, packed, bias, m);
            for (var i = 0; i < m; i++)
            {
                MatMul.ForwardPacked(alone.AsSpan(i * n, n), x.AsSpan(i * k, k), packed, bias, 1);
            }
        });

        Assert.Equal(expected, together);
        Assert.Equal(expected, alone);
    }

    [Theory]
    [MemberData(nameof(OddShapesAllWidths))]
    public void Forward_without_bias_matches_naive(int width, int m, int k, int n)
    {
        var x = RandomArray(m * k, 5);
        var w = RandomArray(n * k, 6);
        var y = RandomArray(m * n, 7);
        With(width, 1, () => MatMul.Forward(y, x, w, [], m, k, n));

        var (expected, bound) = NaiveProduct(m, k, n, (i, p) => x[(i * k) + p], (p, j) => w[(j * k) + p], (_, _) => 0f);
        AssertClose(expected, y, e => (k + 2) * Unit * bound[e], "y");
    }

    [Theory]
    [MemberData(nameof(OddShapesAllWidths))]
    public void BackwardInput_adds_dy_times_w_to_dx(int width, int m, int k, int n)
    {
        var dy = RandomArray(m * n, 8);
        var w = RandomArray(n * k, 9);
        var dx = RandomArray(m * k, 10);
        var before = (float[])dx.Clone();
        With(width, 1, () => MatMul.BackwardInput(dx, dy, w, m, k, n));

        var (expected, bound) = NaiveProduct(m, n, k, (i, p) => dy[(i * n) + p], (p, j) => w[(p * k) + j], (i, j) => before[(i * k) + j]);
        AssertClose(expected, dx, e => (n + 2) * Unit * bound[e], "dx");
    }

    [Theory]
    [MemberData(nameof(OddShapesAllWidths))]
    public void BackwardWeight_adds_dy_transposed_times_x_to_dw_and_row_sums_to_db(int width, int m, int k, int n)
    {
        var dy = RandomArray(m * n, 11);
        var x = RandomArray(m * k, 12);
        var dw = RandomArray(n * k, 13);
        var db = RandomArray(n, 14);
        var (dwBefore, dbBefore) = ((float[])dw.Clone(), (float[])db.Clone());
        With(width, 1, () => MatMul.BackwardWeight(dw, db, dy, x, m, k, n));

        var (expected, bound) = NaiveProduct(n, m, k, (i, p) => dy[(p * n) + i], (p, j) => x[(p * k) + j], (i, j) => dwBefore[(i * k) + j]);
        AssertClose(expected, dw, e => (m + 2) * Unit * bound[e], "dw");
        var (expectedBias, biasBound) = NaiveProduct(1, m, n, (_, p) => 1f, (p, j) => dy[(p * n) + j], (_, j) => dbBefore[j]);
        AssertClose(expectedBias, db, e => (m + 2) * Unit * biasBound[e], "db");
    }

    // dY·W summed over a depth so long that B cannot be packed whole for more than a few panels (the head's dX sums over
    // the vocabulary): the product is taken in chunks of rows × columns, both operands packed a block of depth at a time.
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(128)]
    [InlineData(0)]
    public void BackwardInput_over_a_long_depth_matches_naive(int width)
    {
        const int m = 120, k = 200, n = 9000;
        var dy = RandomArray(m * n, 34);
        var w = RandomArray(n * k, 35);
        var dx = RandomArray(m * k, 36);
        var before = (float[])dx.Clone();
        With(width, 2, () => MatMul.BackwardInput(dx, dy, w, m, k, n));

        var (expected, bound) = NaiveProduct(m, n, k, (i, p) => dy[(i * n) + p], (p, j) => w[(p * k) + j], (i, j) => before[(i * k) + j]);
        AssertClose(expected, dx, e => (n + 2) * Unit * bound[e], "dx");
    }

    [Fact]
    public void Backward_forms_match_finite_differences_of_the_forward()
    {
        const int m = 3, k = 5, n = 4;
        var x = RandomArray(m * k, 15);
        var w = RandomArray(n * k, 16);
        var bias = RandomArray(n, 17);
        var projection = RandomArray(m * n, 18);
        var y = new float[m * n];
        double Loss()
        {
            MatMul.Forward(y, x, w, bias, m, k, n);
            double sum = 0;
            for (var i = 0; i < y.Length; i++)
            {
                sum += (double)y[i] * projection[i];
            }
            return sum;
        }

        // L = Σ y⊙R, so dL/dy = R; L is linear in each input, so central differences are exact but for float rounding.
        var (dx, dw, db) = (new float[x.Length], new float[w.Length], new float[bias.Length]);
        MatMul.BackwardInput(dx, projection, w, m, k, n);
        MatMul.BackwardWeight(dw, db, projection, x, m, k, n);
        foreach (var (values, gradient, name) in new[] { (x, dx, "x"), (w, dw, "w"), (bias, db, "b") })
        {
            for (var i = 0; i < values.Length; i++)
            {
                const float epsilon = 1e-2f;
                var original = values[i];
                values[i] = original + epsilon;
                var plus = Loss();
                values[i] = original - epsilon;
                var minus = Loss();
                values[i] = original;
                var numeric = (plus - minus) / (2 * epsilon);
                Assert.True(Math.Abs(numeric - gradient[i]) <= 1e-3 * Math.Max(1, Math.Abs(numeric)), $"{name}[{i}]: analytic {gradient[i]}, numeric {numeric}");
            }
        }
    }

    public static TheoryData<int, bool, bool, bool> BatchedCases()
    {
        var data = new TheoryData<int, bool, bool, bool>();
        foreach (var width in new[] { 512, 256, 128, 0 })
        {
            foreach (var (transposeA, transposeB, accumulate) in new[] { (false, false, false), (false, true, false), (true, false, true), (true, true, true) })
            {
                data.Add(width, transposeA, transposeB, accumulate);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(BatchedCases))]
    public void Batched_matches_naive_for_every_transposition(int width, bool transposeA, bool transposeB, bool accumulate)
    {
        const int batches = 2, heads = 3, m = 7, k = 5, n = 17;
        const float alpha = 0.5f;
        var aLayout = new MatrixLayout(RowStride: (transposeA ? m : k) + 2, transposeA, BatchStride: 200, HeadStride: 60);
        var bLayout = new MatrixLayout(RowStride: (transposeB ? k : n) + 1, transposeB, BatchStride: 400, HeadStride: 120);
        var cLayout = new MatrixLayout(RowStride: n * heads, BatchStride: m * n * heads, HeadStride: n);
        var a = RandomArray(400, 19);
        var b = RandomArray(800, 20);
        var c = RandomArray(batches * m * n * heads, 21);
        var before = (float[])c.Clone();
        With(width, 1, () => MatMul.Batched(c, cLayout, a, aLayout, b, bLayout, batches, heads, m, k, n, alpha, accumulate));

        var expected = new double[c.Length];
        var bound = new double[c.Length];
        for (var batch = 0; batch < batches; batch++)
        {
            for (var head = 0; head < heads; head++)
            {
                var (product, productBound) = NaiveProduct(
                    m, k, n, (i, p) => alpha * Element(a, aLayout, batch, head, i, p), (p, j) => Element(b, bLayout, batch, head, p, j),
                    (i, j) => accumulate ? Element(before, cLayout, batch, head, i, j) : 0f);
                for (var i = 0; i < m; i++)
                {
                    for (var j = 0; j < n; j++)
                    {
                        var at = (batch * cLayout.BatchStride) + (head * cLayout.HeadStride) + (i * cLayout.RowStride) + j;
                        expected[at] = product[(i * n) + j];
                        bound[at] = productBound[(i * n) + j];
                    }
                }
            }
        }
        AssertClose(expected, c, e => ((k + 3) * Unit * bound[e]) + 1e-30, "c");
    }

    public static TheoryData<int, int, int> AttentionShapes()
    {
        var data = new TheoryData<int, int, int>();
        foreach (var width in new[] { 512, 256, 128, 0 })
        {
            data.Add(width, 40, 16);
            data.Add(width, 13, 7);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(AttentionShapes))]
    public void Batched_attention_products_and_their_backward_match_naive(int width, int t, int d)
    {
        // The six products of causal self-attention on a fused qkv[B,T,3C] buffer, C = H·D, as the layer calls them.
        const int b = 2, h = 4;
        var c = h * d;
        var qkvLayout = new MatrixLayout(RowStride: 3 * c, BatchStride: t * 3 * c, HeadStride: d);
        var square = new MatrixLayout(RowStride: t, BatchStride: h * t * t, HeadStride: t * t);
        var heads = new MatrixLayout(RowStride: c, BatchStride: t * c, HeadStride: d);
        var qkv = RandomArray(b * t * 3 * c, 34);
        var squareData = RandomArray(b * h * t * t, 35);
        var headData = RandomArray(b * t * c, 36);
        (string Name, int Size, MatrixLayout C, float[] A, int AOffset, MatrixLayout ALayout, float[] B, int BOffset, MatrixLayout BLayout, int M, int K, int N, bool Accumulate)[] products =
        [
            ("S = Q·Kᵀ", b * h * t * t, square, qkv, 0, qkvLayout, qkv, c, qkvLayout with { Transposed = true }, t, d, t, false),
            ("O = P·V", b * t * c, heads, squareData, 0, square, qkv, 2 * c, qkvLayout, t, t, d, false),
            ("dP = dO·Vᵀ", b * h * t * t, square, headData, 0, heads, qkv, 2 * c, qkvLayout with { Transposed = true }, t, d, t, false),
            ("dV = Pᵀ·dO", b * t * 3 * c, qkvLayout, squareData, 0, square with { Transposed = true }, headData, 0, heads, t, t, d, false),
            ("dQ += dS·K", b * t * 3 * c, qkvLayout, squareData, 0, square, qkv, c, qkvLayout, t, t, d, true),
            ("dK += dSᵀ·Q", b * t * 3 * c, qkvLayout, squareData, 0, square with { Transposed = true }, qkv, 0, qkvLayout, t, t, d, true),
        ];
        foreach (var (name, size, cLayout, a, aOffset, aLayout, bData, bOffset, bLayout, m, k, n, accumulate) in products)
        {
            var output = RandomArray(size, 37);
            var before = (float[])output.Clone();
            With(width, 1, () => MatMul.Batched(output, cLayout, a.AsSpan(aOffset), aLayout, bData.AsSpan(bOffset), bLayout, b, h, m, k, n, 0.25f, accumulate));
            for (var batch = 0; batch < b; batch++)
            {
                for (var head = 0; head < h; head++)
                {
                    var (expected, bound) = NaiveProduct(
                        m, k, n, (i, p) => 0.25f * Element(a, aLayout, batch, head, i, p, aOffset), (p, j) => Element(bData, bLayout, batch, head, p, j, bOffset),
                        (i, j) => accumulate ? Element(before, cLayout, batch, head, i, j) : 0f);
                    for (var i = 0; i < m; i++)
                    {
                        for (var j = 0; j < n; j++)
                        {
                            var got = Element(output, cLayout, batch, head, i, j);
                            var error = Math.Abs(got - expected[(i * n) + j]);
                            Assert.True(error <= ((k + 3) * Unit * bound[(i * n) + j]) + 1e-30, $"{name} [{batch},{head}][{i},{j}]: expected {expected[(i * n) + j]}, got {got}");
                        }
                    }
                }
            }
        }
    }

    public static TheoryData<int, int, int> CausalAttentionShapes()
    {
        var data = new TheoryData<int, int, int>();
        foreach (var width in new[] { 512, 256, 128, 0 })
        {
            data.Add(width, 40, 16);
            data.Add(width, 13, 7);
            data.Add(width, 300, 5);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CausalAttentionShapes))]
    public void Batched_causal_products_skip_only_what_the_mask_makes_zero_or_unneeded(int width, int t, int d)
    {
        // The six products with P and dS zero above the diagonal: scores and dP are needed on and below it only, and
        // P·V, dS·K sum over p ≤ i, Pᵀ·dO, dSᵀ·Q over p ≥ i; the same bits on one and two threads.
        const int b = 2, h = 3;
        var c = h * d;
        var qkvLayout = new MatrixLayout(RowStride: 3 * c, BatchStride: t * 3 * c, HeadStride: d);
        var square = new MatrixLayout(RowStride: t, BatchStride: h * t * t, HeadStride: t * t);
        var heads = new MatrixLayout(RowStride: c, BatchStride: t * c, HeadStride: d);
        var qkv = RandomArray(b * t * 3 * c, 38);
        var causal = RandomArray(b * h * t * t, 39);
        for (var e = 0; e < causal.Length; e++)
        {
            if (e % t > e / t % t)
            {
                causal[e] = 0f;
            }
        }
        var headData = RandomArray(b * t * c, 40);
        (string Name, CausalMask Mask, int Size, MatrixLayout C, float[] A, int AOffset, MatrixLayout ALayout, float[] B, int BOffset, MatrixLayout BLayout, int M, int K, int N, bool Accumulate)[] products =
        [
            ("S = Q·Kᵀ", CausalMask.LowerOutput, b * h * t * t, square, qkv, 0, qkvLayout, qkv, c, qkvLayout with { Transposed = true }, t, d, t, false),
            ("O = P·V", CausalMask.LowerA, b * t * c, heads, causal, 0, square, qkv, 2 * c, qkvLayout, t, t, d, false),
            ("dP = dO·Vᵀ", CausalMask.LowerOutput, b * h * t * t, square, headData, 0, heads, qkv, 2 * c, qkvLayout with { Transposed = true }, t, d, t, false),
            ("dV = Pᵀ·dO", CausalMask.UpperA, b * t * 3 * c, qkvLayout, causal, 0, square with { Transposed = true }, headData, 0, heads, t, t, d, false),
            ("dQ += dS·K", CausalMask.LowerA, b * t * 3 * c, qkvLayout, causal, 0, square, qkv, c, qkvLayout, t, t, d, true),
            ("dK += dSᵀ·Q", CausalMask.UpperA, b * t * 3 * c, qkvLayout, causal, 0, square with { Transposed = true }, qkv, 0, qkvLayout, t, t, d, true),
        ];
        foreach (var (name, mask, size, cLayout, a, aOffset, aLayout, bData, bOffset, bLayout, m, k, n, accumulate) in products)
        {
            var before = RandomArray(size, 41);
            var (one, two) = ((float[])before.Clone(), (float[])before.Clone());
            With(width, 1, () => MatMul.Batched(one, cLayout, a.AsSpan(aOffset), aLayout, bData.AsSpan(bOffset), bLayout, b, h, m, k, n, 0.25f, accumulate, mask));
            With(width, 2, () => MatMul.Batched(two, cLayout, a.AsSpan(aOffset), aLayout, bData.AsSpan(bOffset), bLayout, b, h, m, k, n, 0.25f, accumulate, mask));
            AssertBitIdentical(one, two);
            for (var batch = 0; batch < b; batch++)
            {
                for (var head = 0; head < h; head++)
                {
                    var (expected, bound) = NaiveProduct(
                        m, k, n, (i, p) => 0.25f * Element(a, aLayout, batch, head, i, p, aOffset), (p, j) => Element(bData, bLayout, batch, head, p, j, bOffset),
                        (i, j) => accumulate ? Element(before, cLayout, batch, head, i, j) : 0f);
                    for (var i = 0; i < m; i++)
                    {
                        for (var j = 0; j < (mask == CausalMask.LowerOutput ? i + 1 : n); j++)
                        {
                            var got = Element(one, cLayout, batch, head, i, j);
                            var error = Math.Abs(got - expected[(i * n) + j]);
                            Assert.True(error <= ((k + 3) * Unit * bound[(i * n) + j]) + 1e-30, $"{name} [{batch},{head}][{i},{j}]: expected {expected[(i * n) + j]}, got {got}");
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void Batched_computes_attention_scores_from_a_fused_qkv_buffer()
    {
        // qkv[B,T,3C] with C = H·hs: Q is columns [0, C), K is [C, 2C); scores[B,H,T,T] = Q·Kᵀ / √hs.
        const int b = 2, t = 7, h = 3, hs = 5, c = h * hs;
        var qkv = RandomArray(b * t * 3 * c, 22);
        var scores = new float[b * h * t * t];
        var alpha = 1f / MathF.Sqrt(hs);
        var view = new MatrixLayout(RowStride: 3 * c, BatchStride: t * 3 * c, HeadStride: hs);
        MatMul.Batched(
            scores, new MatrixLayout(RowStride: t, BatchStride: h * t * t, HeadStride: t * t), qkv, view, qkv.AsSpan(c), view with { Transposed = true },
            b, h, t, hs, t, alpha);

        for (var batch = 0; batch < b; batch++)
        {
            for (var head = 0; head < h; head++)
            {
                for (var query = 0; query < t; query++)
                {
                    for (var key = 0; key < t; key++)
                    {
                        double dot = 0;
                        for (var d = 0; d < hs; d++)
                        {
                            dot += (double)qkv[(((batch * t) + query) * 3 * c) + (head * hs) + d] * qkv[(((batch * t) + key) * 3 * c) + c + (head * hs) + d];
                        }
                        Assert.Equal(dot * alpha, scores[(((batch * h) + head) * t * t) + (query * t) + key], 1e-5);
                    }
                }
            }
        }
    }

    // dYᵀ·X summed over many rows (the weight gradient of a large batch): the packed block of X outgrows L2, so the row
    // split hands out chunks of up to 16 row tiles, the last one partial; on two threads each element is still the sum
    // the naive product gives.
    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(128)]
    [InlineData(0)]
    public void BackwardWeight_over_many_rows_matches_naive(int width)
    {
        const int m = 1500, k = 300, n = 200;
        var dy = RandomArray(m * n, 37);
        var x = RandomArray(m * k, 38);
        var dw = RandomArray(n * k, 39);
        var before = (float[])dw.Clone();
        With(width, 2, () => MatMul.BackwardWeight(dw, [], dy, x, m, k, n));

        var (expected, bound) = NaiveProduct(n, m, k, (i, p) => dy[(p * n) + i], (p, j) => x[(p * k) + j], (i, j) => before[(i * k) + j]);
        AssertClose(expected, dw, e => (m + 2) * Unit * bound[e], "dw");
    }

    // The weight gradient of a 10M-sized layer sums over 16 × 256 rows: its B (X, 384 columns) is packed whole in one
    // block, so its A (dY read across rows, from memory) is packed once rather than once per block of columns.
    [Theory]
    [InlineData(512, 4096, 384, 384)]
    [InlineData(256, 4096, 384, 384)]
    [InlineData(512, 4096, 768, 384)]
    [InlineData(512, 256, 3072, 2048)]
    [InlineData(512, 50304, 768, 32)]
    public void The_row_split_packs_a_block_of_columns_within_the_budget(int width, int k, int n, int expectedColumns)
    {
        var columns = Gemm.RowSplitBlockColumns(k, n, width);

        Assert.Equal(expectedColumns, columns);
        Assert.True(columns == Gemm.TileFor(width).Columns || (long)k * columns <= Gemm.PackedBudget);
    }

    [Theory]
    [InlineData(200, 257, 200)]
    [InlineData(260, 520, 65)]
    [InlineData(120, 200, 9000)]
    public void One_and_two_threads_give_identical_bits(int m, int k, int n)
    {
        var x = RandomArray(m * k, 23);
        var w = RandomArray(n * k, 24);
        var bias = RandomArray(n, 25);
        var dy = RandomArray(m * n, 26);
        float[][] Run(int threads)
        {
            var (y, dx, dw, db) = (new float[m * n], new float[m * k], new float[n * k], new float[n]);
            With(KernelSettings.HardwareVectorWidth, threads, () =>
            {
                MatMul.Forward(y, x, w, bias, m, k, n);
                MatMul.BackwardInput(dx, dy, w, m, k, n);
                MatMul.BackwardWeight(dw, db, dy, x, m, k, n);
            });
            return [y, dx, dw, db];
        }

        var (one, two) = (Run(1), Run(2));
        for (var i = 0; i < one.Length; i++)
        {
            AssertBitIdentical(one[i], two[i]);
        }
    }

    [Theory]
    [InlineData(512, 1)]
    [InlineData(512, 2)]
    [InlineData(0, 2)]
    public void The_bias_gradient_is_the_sum_over_rows_in_order_on_any_thread_count(int width, int threads)
    {
        const int m = 700, k = 64, n = 203;
        var (x, dy) = (RandomArray(m * k, 32), RandomArray(m * n, 33));
        var db = RandomArray(n, 34);
        var expected = (float[])db.Clone();
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                expected[j] += dy[(i * n) + j];
            }
        }

        With(width, threads, () => MatMul.BackwardWeight(new float[n * k], db, dy, x, m, k, n));

        AssertBitIdentical(expected, db);
    }

    [Theory]
    [InlineData(512, 1, 13, 300, 21)]
    [InlineData(512, 2, 200, 520, 65)]
    [InlineData(256, 2, 7, 3, 5)]
    [InlineData(0, 1, 7, 3, 5)]
    public void BackwardInput_without_accumulating_gives_the_bits_of_accumulating_into_zeros(int width, int threads, int m, int k, int n)
    {
        var (dy, w) = (RandomArray(m * n, 35), RandomArray(n * k, 36));
        var expected = new float[m * k];
        var actual = RandomArray(m * k, 37);

        With(width, threads, () =>
        {
            MatMul.BackwardInput(expected, dy, w, m, k, n);
            MatMul.BackwardInput(actual, dy, w, m, k, n, accumulate: false);
        });

        AssertBitIdentical(expected, actual);
    }

    [Theory]
    [InlineData(512, 1, 768, 128, 128, true)]
    [InlineData(512, 2, 768, 128, 128, true)]
    [InlineData(512, 2, 768, 512, 128, false)]
    [InlineData(256, 2, 300, 97, 45, true)]
    [InlineData(0, 2, 7, 3, 5, false)]
    [InlineData(512, 2, 0, 3, 5, true)]
    public void Backward_gives_the_bits_of_the_weight_and_input_calls(int width, int threads, int m, int k, int n, bool accumulate)
    {
        var (x, w, dy) = (RandomArray(m * k, 38), RandomArray(n * k, 39), RandomArray(m * n, 40));
        var (dw, db, dx) = (RandomArray(n * k, 41), RandomArray(n, 42), RandomArray(m * k, 43));
        var (expectedDw, expectedDb, expectedDx) = ((float[])dw.Clone(), (float[])db.Clone(), (float[])dx.Clone());

        With(width, threads, () =>
        {
            MatMul.BackwardWeight(expectedDw, expectedDb, dy, x, m, k, n);
            MatMul.BackwardInput(expectedDx, dy, w, m, k, n, accumulate);
            MatMul.Backward(dw, db, dx, dy, x, w, m, k, n, accumulate);
        });

        AssertBitIdentical(expectedDw, dw);
        AssertBitIdentical(expectedDb, db);
        AssertBitIdentical(expectedDx, dx);
    }

    [Fact]
    public void Batched_gives_identical_bits_on_one_and_two_threads()
    {
        const int items = 32, t = 65, hs = 64;
        var layout = new MatrixLayout(RowStride: hs, BatchStride: t * hs);
        var scoresLayout = new MatrixLayout(RowStride: t, BatchStride: t * t);
        var q = RandomArray(items * t * hs, 27);
        var k = RandomArray(items * t * hs, 28);
        float[] Run(int threads)
        {
            var scores = new float[items * t * t];
            With(KernelSettings.HardwareVectorWidth, threads, () => MatMul.Batched(scores, scoresLayout, q, layout, k, layout with { Transposed = true }, items, 1, t, hs, t));
            return scores;
        }

        AssertBitIdentical(Run(1), Run(2));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_call_allocates_nothing(int threads)
    {
        const int m = 200, k = 257, n = 200;
        var (x, w, bias, y) = (RandomArray(m * k, 29), RandomArray(n * k, 30), RandomArray(n, 31), new float[m * n]);
        var (dx, dw, db) = (new float[m * k], new float[n * k], new float[n]);
        var bytes = AllocatedBytes(() => With(KernelSettings.HardwareVectorWidth, threads, () =>
        {
            MatMul.Forward(y, x, w, bias, m, k, n);
            MatMul.BackwardInput(dx, y, w, m, k, n);
            MatMul.BackwardWeight(dw, db, y, x, m, k, n);
            MatMul.Backward(dw, db, dx, y, x, w, m, k, n);
        }));
        Assert.Equal(0, bytes);
    }

    [Fact]
    public void Forward_rejects_spans_shorter_than_the_shape()
    {
        var error = Assert.Throws<ArgumentException>(() => MatMul.Forward(new float[6], new float[6], new float[5], [], 2, 3, 3));
        Assert.Contains("w holds 5 floats", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Forward_uses_the_leading_rows_of_longer_buffers()
    {
        const int m = 3, k = 4, n = 5;
        var (x, w) = (RandomArray(2 * m * k, 32), RandomArray(n * k, 33));
        var (exact, longer) = (new float[m * n], Enumerable.Repeat(7f, 2 * m * n).ToArray());
        MatMul.Forward(exact, x.AsSpan(0, m * k), w, [], m, k, n);
        MatMul.Forward(longer, x, w, [], m, k, n);
        Assert.Equal(exact, longer[..(m * n)]);
        Assert.All(longer[(m * n)..], v => Assert.Equal(7f, v));
    }

    private static float Element(float[] data, MatrixLayout layout, int batch, int head, int row, int column, int offset = 0) =>
        data[offset + (batch * layout.BatchStride) + (head * layout.HeadStride) + (layout.Transposed ? (column * layout.RowStride) + row : (row * layout.RowStride) + column)];

    // C[i,j] = initial(i,j) + Σ_p A(i,p)·B(p,j) in double, and Σ |terms| for the error bound
    private static (double[] Values, double[] Bound) NaiveProduct(int m, int k, int n, Func<int, int, float> a, Func<int, int, float> b, Func<int, int, float> initial)
    {
        var values = new double[m * n];
        var bound = new double[m * n];
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                double sum = initial(i, j);
                double magnitude = Math.Abs(initial(i, j));
                for (var p = 0; p < k; p++)
                {
                    var term = (double)a(i, p) * b(p, j);
                    sum += term;
                    magnitude += Math.Abs(term);
                }
                values[(i * n) + j] = sum;
                bound[(i * n) + j] = magnitude;
            }
        }
        return (values, bound);
    }
}
