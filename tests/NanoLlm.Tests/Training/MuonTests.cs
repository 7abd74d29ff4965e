using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Tensors;
using NanoLlm.Training;

namespace NanoLlm.Tests.Training;

public sealed class MuonTests
{
    private static TrainingSettings Settings(double learningRate = 1e-3, double muonLearningRate = 0.02, double muonWeightDecay = 0) =>
        new("corpus", 100, 0, learningRate, BatchSize: 4, Seed: 1, ValFraction: 0.1, EvalInterval: 0, EvalBatches: 0)
        {
            Optimizer = TrainingSettings.MuonName,
            Muon = new MuonSettings(LearningRate: muonLearningRate, Momentum: 0.95, WeightDecay: muonWeightDecay),
        };

    private static GptModel TinyGpt(bool tied = false, int channels = 8)
    {
        var settings = new SettingsSection("model", "test", new Dictionary<string, SettingValue>
        {
            ["context_length"] = new(8L, "test"),
            ["embedding_size"] = new((long)channels, "test"),
            ["layers"] = new(2L, "test"),
            ["heads"] = new(2L, "test"),
            ["positional"] = new("learned", "test"),
            ["tie_embeddings"] = new(tied, "test"),
        });
        var model = new GptModel(16, settings);
        model.Initialize(new Random(3));
        return model;
    }

    private static void RandomGrads(ParameterSet parameters, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < parameters.Count; i++)
        {
            parameters.Grads[i] = (float)((random.NextDouble() * 2) - 1);
        }
    }

    // A matrix whose singular values spread over two orders of magnitude: the short side's rows (or columns) scaled
    // from 1 down to 1e-2.
    private static float[] IllConditioned(int rows, int columns, int seed)
    {
        var random = new Random(seed);
        var side = Math.Min(rows, columns);
        var matrix = new float[rows * columns];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                var scale = Math.Pow(1e-2, (rows <= columns ? r : c) / (double)Math.Max(1, side - 1));
                matrix[(r * columns) + c] = (float)(scale * ((random.NextDouble() * 2) - 1));
            }
        }
        return matrix;
    }

    // The eigenvalues of the smaller Gram matrix (M·Mᵀ or Mᵀ·M): the squared singular values of M.
    private static double[] SquaredSingularValues(float[] matrix, int rows, int columns)
    {
        var side = Math.Min(rows, columns);
        var gram = new double[side, side];
        for (var i = 0; i < side; i++)
        {
            for (var j = 0; j < side; j++)
            {
                double sum = 0;
                for (var k = 0; k < Math.Max(rows, columns); k++)
                {
                    sum += rows <= columns
                        ? (double)matrix[(i * columns) + k] * matrix[(j * columns) + k]
                        : (double)matrix[(k * columns) + i] * matrix[(k * columns) + j];
                }
                gram[i, j] = sum;
            }
        }
        return JacobiEigenvalues(gram);
    }

    // Cyclic Jacobi rotations (Golub & Van Loan §8.5) until the off-diagonal part vanishes; the diagonal is left.
    private static double[] JacobiEigenvalues(double[,] a)
    {
        var n = a.GetLength(0);
        for (var sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (var p = 0; p < n; p++)
            {
                for (var q = p + 1; q < n; q++)
                {
                    off += a[p, q] * a[p, q];
                }
            }
            if (off < 1e-24)
            {
                break;
            }
            for (var p = 0; p < n; p++)
            {
                for (var q = p + 1; q < n; q++)
                {
                    if (Math.Abs(a[p, q]) < 1e-300)
                    {
                        continue;
                    }
                    var theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    var t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt((theta * theta) + 1));
                    var c = 1 / Math.Sqrt((t * t) + 1);
                    var s = t * c;
                    for (var k = 0; k < n; k++)
                    {
                        var (akp, akq) = (a[k, p], a[k, q]);
                        (a[k, p], a[k, q]) = ((c * akp) - (s * akq), (s * akp) + (c * akq));
                    }
                    for (var k = 0; k < n; k++)
                    {
                        var (apk, aqk) = (a[p, k], a[q, k]);
                        (a[p, k], a[q, k]) = ((c * apk) - (s * aqk), (s * apk) + (c * aqk));
                    }
                }
            }
        }
        return [.. Enumerable.Range(0, n).Select(i => a[i, i])];
    }

    [Theory]
    [InlineData(12, 40)]
    [InlineData(40, 12)]
    [InlineData(24, 24)]
    public void Orthogonalisation_sets_every_singular_value_near_one_for_wide_tall_and_square_matrices(int rows, int columns)
    {
        var matrix = IllConditioned(rows, columns, seed: rows + columns);
        var before = SquaredSingularValues(matrix, rows, columns);
        var muon = new Muon(Settings(), new ParameterSet([new("w", [rows, columns], Decay: true) { HiddenMatrix = true }]));

        muon.Orthogonalize(matrix, rows, columns);

        // Before: σ² spread over four orders of magnitude. After: U·Uᵀ (wide) or Uᵀ·U (tall) close to the identity, within
        // the band modded-nanogpt's quintic leaves singular values in (σ in about [0.7, 1.2]).
        Assert.True(before.Max() / before.Min() > 1e3, $"the test matrix is not ill-conditioned: {before.Max() / before.Min():G3}");
        var after = SquaredSingularValues(matrix, rows, columns);
        Assert.All(after, s => Assert.InRange(Math.Sqrt(s), 0.6, 1.25));
    }

    [Fact]
    public void Orthogonalisation_keeps_the_singular_vectors_it_is_the_polar_factor_up_to_the_iterations_tolerance()
    {
        // A diagonal matrix with positive entries has U·Vᵀ = the same pattern with ones: the polar factor is sign(G).
        const int n = 16;
        var matrix = new float[n * n];
        for (var i = 0; i < n; i++)
        {
            matrix[(i * n) + i] = (float)Math.Pow(10, -2.0 * i / n) * (i % 2 == 0 ? 1 : -1);
        }
        var muon = new Muon(Settings(), new ParameterSet([new("w", [n, n], Decay: true) { HiddenMatrix = true }]));

        muon.Orthogonalize(matrix, n, n);

        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var value = matrix[(i * n) + j];
                if (i == j)
                {
                    Assert.InRange(value * (i % 2 == 0 ? 1 : -1), 0.6f, 1.25f);
                }
                else
                {
                    Assert.Equal(0f, value);
                }
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_hidden_matrices_go_to_muon_query_key_and_value_each_alone_and_the_rest_to_adamw(bool tied)
    {
        var model = TinyGpt(tied);
        var parameters = model.Parameters;
        var muon = new Muon(Settings(), parameters);

        var expected = new List<(int, int, int)>();
        for (var l = 0; l < 2; l++)
        {
            var attention = parameters[$"h.{l}.attn.c_attn.weight"].Offset;
            expected.AddRange([(attention, 8, 8), (attention + 64, 8, 8), (attention + 128, 8, 8)]);
            expected.Add((parameters[$"h.{l}.attn.c_proj.weight"].Offset, 8, 8));
            expected.Add((parameters[$"h.{l}.mlp.c_fc.weight"].Offset, 32, 8));
            expected.Add((parameters[$"h.{l}.mlp.c_proj.weight"].Offset, 8, 32));
        }
        Assert.Equal(expected, muon.Matrices);
        string[] adamW = ["wte", "wpe", "ln_f.weight", "ln_f.bias", "h.0.attn.c_attn.bias", "h.1.ln_2.weight", .. tied ? Array.Empty<string>() : ["lm_head.weight"]];
        Assert.All(adamW, name => Assert.False(parameters[name].HiddenMatrix, name));

        // Behaviour, not only the flags: every parameter outside the hidden matrices moves exactly as AdamW alone moves it.
        RandomGrads(parameters, seed: 5);
        var reference = TinyGpt(tied);
        parameters.Grads.CopyTo(reference.Parameters.Grads, 0);
        muon.Update(parameters, 1e-3f);
        new AdamW(new OptimizerSettings(), parameters.Count).Update(reference.Parameters, 1e-3f);
        foreach (var parameter in parameters.Parameters)
        {
            var same = parameter.Values.SequenceEqual(reference.Parameters[parameter.Name].Values);
            Assert.True(same != parameter.HiddenMatrix, parameter.Name);
        }
    }

    [Fact]
    public void A_hidden_matrix_moves_by_the_orthogonalised_nesterov_momentum_at_muons_rate_scaled_for_tall_matrices()
    {
        var model = TinyGpt();
        var parameters = model.Parameters;
        var muon = new Muon(Settings(learningRate: 1e-3, muonLearningRate: 0.05), parameters);
        var fc = parameters["h.0.mlp.c_fc.weight"];
        var before = fc.Values.ToArray();
        RandomGrads(parameters, seed: 7);
        var first = fc.Grads.ToArray();
        muon.Update(parameters, 1e-3f);
        RandomGrads(parameters, seed: 8);
        var second = fc.Grads.ToArray();
        var afterFirst = fc.Values.ToArray();

        // Half the schedule's rate: Muon's rate halves too.
        muon.Update(parameters, 5e-4f);

        // buf₂ = μ·(1−μ)·g₁ + (1−μ)·g₂ and the update is NS(μ·buf₂ + (1−μ)·g₂), [32, 8] scaled by √(32/8) = 2.
        var buffer = first.Select((g, i) => (0.95 * 0.05 * g) + (0.05 * second[i])).ToArray();
        Assert.Equal(buffer, muon.Momentum.AsSpan(fc.Offset, fc.Length).ToArray().Select(v => (double)v), new DoubleTolerance(1e-6));
        var nesterov = buffer.Select((b, i) => (float)((0.95 * b) + (0.05 * second[i]))).ToArray();
        muon.Orthogonalize(nesterov, 32, 8);
        var step = afterFirst.Select((v, i) => v - fc.Values[i]).ToArray();
        for (var i = 0; i < step.Length; i++)
        {
            Assert.Equal(0.025 * 2 * nesterov[i], step[i], 1e-6);
        }
        var singular = SquaredSingularValues([.. step.Select(s => s / (0.025f * 2))], 32, 8);
        Assert.All(singular, s => Assert.InRange(Math.Sqrt(s), 0.6, 1.25));
        Assert.NotEqual(before, afterFirst);
    }

    [Fact]
    public void Muon_weight_decay_shrinks_the_hidden_matrices_before_the_update()
    {
        var parameters = TinyGpt().Parameters;
        var proj = parameters["h.1.attn.c_proj.weight"];
        var before = proj.Values.ToArray();
        Array.Clear(parameters.Grads);

        new Muon(Settings(learningRate: 1e-3, muonLearningRate: 0.1, muonWeightDecay: 0.5), parameters).Update(parameters, 1e-3f);

        // A zero gradient orthogonalises to zero: only the decay, θ·(1 − 0.1·0.5), is left.
        Assert.Equal(before.Select(v => v * 0.95f), proj.Values.ToArray(), new Support.ToleranceComparer(1e-7f));
    }

    [Fact]
    public void Steps_are_identical_on_one_and_two_threads()
    {
        float[] Run(int threads)
        {
            using var scope = KernelSettings.Override(KernelSettings.VectorWidth, threads);
            var parameters = TinyGpt(channels: 64).Parameters;
            var muon = new Muon(Settings(), parameters);
            for (var step = 0; step < 3; step++)
            {
                RandomGrads(parameters, seed: 10 + step);
                muon.Update(parameters, 1e-3f);
            }
            return parameters.Values;
        }

        Assert.Equal(Run(1), Run(2));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Each_matrix_moves_as_its_update_alone_defines_whichever_part_of_the_threads_has_it(int threads)
    {
        using var scope = KernelSettings.Override(KernelSettings.VectorWidth, threads);
        const float rate = 1e-3f;
        var settings = Settings(learningRate: rate, muonLearningRate: 0.05, muonWeightDecay: 0.1);
        var parameters = TinyGpt(channels: 64).Parameters;
        var muon = new Muon(settings, parameters);
        RandomGrads(parameters, seed: 4);
        muon.Update(parameters, rate);
        RandomGrads(parameters, seed: 5);
        var (values, grads, momentum) = (parameters.Values.ToArray(), parameters.Grads.ToArray(), muon.Momentum.ToArray());

        muon.Update(parameters, rate);

        // Matrix by matrix, in order, on one thread: buf ← μ·buf + (1−μ)·g;  u = (1−μ)·g + μ·buf;  NS₅(u);  θ ← θ·(1 − η·λ) + (−η·scale)·u.
        var single = new Muon(settings, parameters);
        var (mu, eta) = (0.95f, (float)(0.05 * rate / (double)rate));
        foreach (var (offset, rows, columns) in muon.Matrices)
        {
            var update = new float[rows * columns];
            for (var i = 0; i < update.Length; i++)
            {
                var g = (1 - mu) * grads[offset + i];
                momentum[offset + i] = (mu * momentum[offset + i]) + g;
                update[i] = g + (mu * momentum[offset + i]);
            }
            single.Orthogonalize(update, rows, columns);
            var alpha = -eta * MathF.Sqrt(Math.Max(1f, rows / (float)columns));
            for (var i = 0; i < update.Length; i++)
            {
                values[offset + i] = MathF.FusedMultiplyAdd(alpha, update[i], values[offset + i] * (1 - (eta * 0.1f)));
            }
        }
        Assert.Equal(momentum, muon.Momentum);
        foreach (var (offset, rows, columns) in muon.Matrices)
        {
            Assert.Equal(values.AsSpan(offset, rows * columns).ToArray(), parameters.Values.AsSpan(offset, rows * columns).ToArray());
        }
    }

    [Fact]
    public void A_step_allocates_nothing()
    {
        var parameters = TinyGpt().Parameters;
        var muon = new Muon(Settings(), parameters);
        RandomGrads(parameters, seed: 2);
        muon.Update(parameters, 1e-3f);

        var before = GC.GetAllocatedBytesForCurrentThread();
        muon.Update(parameters, 1e-3f);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Its_state_is_the_momentum_and_adamws_moments_and_its_count_is_adamws()
    {
        var parameters = TinyGpt().Parameters;
        var muon = new Muon(Settings(), parameters);

        Assert.Equal(["muon.momentum", "adamw.m", "adamw.v"], muon.State.Select(s => s.Key));
        Assert.All(muon.State, s => Assert.Equal(parameters.Count, s.Value.Length));
        muon.UpdateCount = 7;
        Assert.Equal(7, muon.UpdateCount);
    }

    private sealed class DoubleTolerance(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }
}
