using System.Numerics;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Tensors;

namespace NanoLlm.Training;

/// <summary>
/// Muon (Jordan et al. 2024, as modded-nanogpt trains with it): each hidden weight matrix (<see cref="Parameter.HiddenMatrix"/>,
/// attention's query, key, value and output projections one by one, the feed-forward's two) moves by its Nesterov
/// momentum made orthogonal — every singular value set near 1 by five Newton–Schulz iterations — so no direction
/// of the update dominates the others. Everything else (embeddings, the output head, gains, biases) is updated by
/// <see cref="AdamW"/> at the schedule's rate. All buffers are allocated here; a step allocates nothing, and its
/// products run on <see cref="MatMul"/>, whose results do not depend on the thread count.
/// </summary>
public sealed class Muon : IOptimizer
{
    /// <summary>Newton–Schulz iterations per update (modded-nanogpt's).</summary>
    public const int NewtonSchulzSteps = 5;

    // The quintic's coefficients, modded-nanogpt's: chosen to raise small singular values fast, at the price of
    // leaving them anywhere in about [0.7, 1.2] instead of converging to exactly 1.
    private const float QuinticA = 3.4445f;
    private const float QuinticB = -4.7750f;
    private const float QuinticC = 2.0315f;
    private const double NormEpsilon = 1e-7;

    private readonly MuonSettings _settings;
    private readonly double _learningRate;
    private readonly AdamW _adamW;
    private readonly Block[] _blocks;
    private readonly float[] _update;
    private readonly float[] _x;
    private readonly float[] _next;
    private readonly float[] _gram;
    private readonly float[] _polynomial;

    /// <param name="settings">The run's <c>[training]</c>: Muon's constants, AdamW's for the rest, and <c>learning_rate</c> to scale Muon's rate by the schedule.</param>
    public Muon(TrainingSettings settings, ParameterSet parameters)
    {
        _settings = settings.Muon;
        _learningRate = settings.LearningRate;
        _adamW = new AdamW(settings.AdamW, parameters.Count);
        Momentum = new float[parameters.Count];
        var blocks = new List<Block>();
        foreach (var parameter in parameters.Parameters.Where(p => p.HiddenMatrix))
        {
            if (parameter.Shape is not [var rows, var columns] || rows % parameter.StackedMatrices != 0)
            {
                throw new ArgumentException($"{parameter.Name} is no stack of {parameter.StackedMatrices} matrices: [{string.Join(", ", parameter.Shape)}].", nameof(parameters));
            }
            var height = rows / parameter.StackedMatrices;
            for (var s = 0; s < parameter.StackedMatrices; s++)
            {
                blocks.Add(new Block(parameter.Offset + (s * height * columns), height, columns, parameter.Decay));
            }
        }
        _blocks = [.. blocks];
        var largest = _blocks.Length == 0 ? 0 : _blocks.Max(b => b.Rows * b.Columns);
        var side = _blocks.Length == 0 ? 0 : _blocks.Max(b => Math.Min(b.Rows, b.Columns));
        (_update, _x, _next) = (new float[largest], new float[largest], new float[largest]);
        (_gram, _polynomial) = (new float[side * side], new float[side * side]);
        State = [new("muon.momentum", Momentum), .. _adamW.State];
    }

    /// <summary>The momentum of every hidden matrix, at the parameters' offsets (zero elsewhere).</summary>
    public float[] Momentum { get; }

    /// <summary>Updates taken so far (also AdamW's t in its bias correction).</summary>
    public int UpdateCount
    {
        get => _adamW.UpdateCount;
        set => _adamW.UpdateCount = value;
    }

    public IReadOnlyList<KeyValuePair<string, float[]>> State { get; }

    /// <summary>Which matrices Muon orthogonalises, as (offset, rows, columns) in the parameter buffer.</summary>
    public IEnumerable<(int Offset, int Rows, int Columns)> Matrices => _blocks.Select(b => (b.Offset, b.Rows, b.Columns));

    // buf ← μ·buf + (1−μ)·g;  u = (1−μ)·g + μ·buf (Nesterov);  O = NS₅(u);  θ ← θ·(1 − η·λ) − η·√max(1, rows/cols)·O
    public void Update(ParameterSet parameters, float learningRate)
    {
        _adamW.Update(parameters, learningRate, skipHiddenMatrices: true);
        UpdateMatrices(parameters, learningRate);
    }

    /// <summary>The AdamW that updates everything but the hidden matrices.</summary>
    internal AdamW AdamW => _adamW;

    /// <summary>The hidden matrices' part of <see cref="Update"/>: momentum, orthogonalisation, decay and step.</summary>
    internal void UpdateMatrices(ParameterSet parameters, float learningRate)
    {
        var rate = (float)(_settings.LearningRate * learningRate / _learningRate);
        var momentum = (float)_settings.Momentum;
        var keep = 1 - (rate * (float)_settings.WeightDecay);
        for (var i = 0; i < _blocks.Length; i++)
        {
            var block = _blocks[i];
            var length = block.Rows * block.Columns;
            var update = _update.AsSpan(0, length);
            NesterovMomentum(parameters.Grads.AsSpan(block.Offset, length), Momentum.AsSpan(block.Offset, length), update, momentum);
            Orthogonalize(update, block.Rows, block.Columns);
            var values = parameters.Values.AsSpan(block.Offset, length);
            if (block.Decay && keep != 1)
            {
                ElementWise.Scale(values, keep);
            }
            // Rows longer than they are wide would each move less (their singular values are shared among more rows).
            ElementWise.Axpy(values, -rate * MathF.Sqrt(Math.Max(1f, block.Rows / (float)block.Columns)), update);
        }
    }

    /// <summary>
    /// The Newton–Schulz iterations alone, on a copy of every hidden matrix's momentum (weights and momentum stay as
    /// they are): the part of a step the step benchmark times apart.
    /// </summary>
    internal void OrthogonalizeMomenta()
    {
        foreach (var block in _blocks)
        {
            var update = _update.AsSpan(0, block.Rows * block.Columns);
            Momentum.AsSpan(block.Offset, update.Length).CopyTo(update);
            Orthogonalize(update, block.Rows, block.Columns);
        }
    }

    /// <summary>
    /// Replaces <paramref name="matrix"/> ([rows, columns], row-major) by its Newton–Schulz orthogonalisation: about
    /// U·Vᵀ of its singular value decomposition U·S·Vᵀ, with the singular values near 1 rather than exactly 1.
    /// </summary>
    public void Orthogonalize(Span<float> matrix, int rows, int columns)
    {
        // The iteration works on the wide orientation (m ≤ n), where X·Xᵀ is the smaller Gram matrix.
        var tall = rows > columns;
        var (m, n) = tall ? (columns, rows) : (rows, columns);
        var x = _x.AsSpan(0, m * n);
        var next = _next.AsSpan(0, m * n);
        if (tall)
        {
            Transpose(matrix, x, rows, columns);
        }
        else
        {
            matrix.CopyTo(x);
        }
        // X ← G / ‖G‖_F: every singular value at most 1, where the iteration converges.
        ElementWise.Scale(x, (float)(1 / (Math.Sqrt(ElementWise.SumOfSquares(x)) + NormEpsilon)));
        var gram = _gram.AsSpan(0, m * m);
        var polynomial = _polynomial.AsSpan(0, m * m);
        for (var step = 0; step < NewtonSchulzSteps; step++)
        {
            // A = X·Xᵀ;  B = b·A + c·A²;  X ← a·X + B·X   (σ ↦ aσ + bσ³ + cσ⁵ on every singular value)
            MatMul.Forward(gram, x, x, default, m, n, m);
            MatMul.Forward(polynomial, gram, gram, default, m, m, m);
            ElementWise.Scale(polynomial, QuinticC);
            ElementWise.Axpy(polynomial, QuinticB, gram);
            x.CopyTo(next);
            ElementWise.Scale(next, QuinticA);
            MatMul.BackwardInput(next, polynomial, x, m, n, m);
            next.CopyTo(x);
        }
        if (tall)
        {
            Transpose(x, matrix, columns, rows);
        }
        else
        {
            x.CopyTo(matrix);
        }
    }

    private static void NesterovMomentum(ReadOnlySpan<float> grads, Span<float> buffer, Span<float> update, float momentum)
    {
        var rest = 1 - momentum;
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var (mu, oneMinusMu) = (new Vector<float>(momentum), new Vector<float>(rest));
            for (; i <= grads.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var g = oneMinusMu * new Vector<float>(grads[i..]);
                var b = (mu * new Vector<float>(buffer[i..])) + g;
                b.CopyTo(buffer[i..]);
                (g + (mu * b)).CopyTo(update[i..]);
            }
        }
        for (; i < grads.Length; i++)
        {
            var g = rest * grads[i];
            buffer[i] = (momentum * buffer[i]) + g;
            update[i] = g + (momentum * buffer[i]);
        }
    }

    // to[c, r] = from[r, c] for from [rows, columns]
    private static void Transpose(ReadOnlySpan<float> from, Span<float> to, int rows, int columns)
    {
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                to[(c * rows) + r] = from[(r * columns) + c];
            }
        }
    }

    private readonly record struct Block(int Offset, int Rows, int Columns, bool Decay);
}
