using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Tensors;

namespace NanoLlm.Training;

/// <summary>
/// Muon (Jordan et al. 2024, as modded-nanogpt trains with it): each hidden weight matrix (<see cref="Parameter.HiddenMatrix"/>,
/// attention's query, key, value and output projections one by one, the feed-forward's two) moves by its Nesterov
/// momentum made orthogonal — every singular value set near 1 by five Newton–Schulz iterations — so no direction
/// of the update dominates the others. Everything else (embeddings, the output head, gains, biases) is updated by
/// <see cref="AdamW"/> at the schedule's rate. The matrices are small (a few hundred on a side), too small for a
/// product to keep two threads busy, so threads take whole matrices instead: the matrices are dealt to one part per
/// thread, each part with its own scratch, and a matrix is computed the same way whichever part has it (its products
/// run on <see cref="MatMul"/>, whose results do not depend on the thread count). All buffers are allocated here; a
/// step allocates nothing.
/// </summary>
public sealed unsafe class Muon : IOptimizer
{
    /// <summary>Newton–Schulz iterations per update (modded-nanogpt's).</summary>
    public const int NewtonSchulzSteps = 5;

    // The quintic's coefficients, modded-nanogpt's: chosen to raise small singular values fast, at the price of
    // leaving them anywhere in about [0.7, 1.2] instead of converging to exactly 1.
    private const float QuinticA = 3.4445f;
    private const float QuinticB = -4.7750f;
    private const float QuinticC = 2.0315f;
    private const double NormEpsilon = 1e-7;

    // Below this many floating-point operations a thread does not pay for waking it (MatMul's threshold).
    private const long MinFlopsPerThread = 1L << 23;

    private readonly MuonSettings _settings;
    private readonly double _learningRate;
    private readonly AdamW _adamW;
    private readonly Block[] _blocks;
    // The blocks' indices, costliest first: the order in which they are dealt to the parts.
    private readonly int[] _dealOrder;
    private readonly long _totalFlops;
    private readonly int _largest;
    private readonly int _side;
    // Each part's scratch, one after another: update, X and next (the largest matrix each), Gram and polynomial (side² each).
    private float[] _scratch = [];

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
        _dealOrder = [.. Enumerable.Range(0, _blocks.Length).OrderByDescending(i => _blocks[i].Flops)];
        _totalFlops = _blocks.Sum(b => b.Flops);
        _largest = _blocks.Length == 0 ? 0 : _blocks.Max(b => b.Rows * b.Columns);
        _side = _blocks.Length == 0 ? 0 : _blocks.Max(b => Math.Min(b.Rows, b.Columns));
        EnsureScratch(Math.Max(1, Parts()));
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

    /// <summary>The AdamW that updates everything but the hidden matrices.</summary>
    internal AdamW AdamW => _adamW;

    // buf ← μ·buf + (1−μ)·g;  u = (1−μ)·g + μ·buf (Nesterov);  O = NS₅(u);  θ ← θ·(1 − η·λ) − η·√max(1, rows/cols)·O
    public void Update(ParameterSet parameters, float learningRate)
    {
        _adamW.Update(parameters, learningRate, skipHiddenMatrices: true);
        UpdateMatrices(parameters, learningRate);
    }

    /// <summary>The hidden matrices' part of <see cref="Update"/>: momentum, orthogonalisation, decay and step.</summary>
    internal void UpdateMatrices(ParameterSet parameters, float learningRate)
    {
        var rate = (float)(_settings.LearningRate * learningRate / _learningRate);
        RunParts(parameters, new Job { Momentum = (float)_settings.Momentum, Rate = rate, Keep = 1 - (rate * (float)_settings.WeightDecay) });
    }

    /// <summary>
    /// The Newton–Schulz iterations alone, on a copy of every hidden matrix's momentum (weights and momentum stay as
    /// they are), in the parts <see cref="UpdateMatrices"/> runs: the part of a step the step benchmark times apart.
    /// </summary>
    internal void OrthogonalizeMomenta(ParameterSet parameters) => RunParts(parameters, new Job { NewtonSchulzOnly = true });

    /// <summary>
    /// Replaces <paramref name="matrix"/> ([rows, columns], row-major) by its Newton–Schulz orthogonalisation: about
    /// U·Vᵀ of its singular value decomposition U·S·Vᵀ, with the singular values near 1 rather than exactly 1. The
    /// matrix is one of this optimizer's shapes or smaller.
    /// </summary>
    public void Orthogonalize(Span<float> matrix, int rows, int columns)
    {
        var (m, n) = rows > columns ? (columns, rows) : (rows, columns);
        if ((long)m * n > _largest || m > _side)
        {
            throw new ArgumentException($"A [{rows}, {columns}] matrix is larger than this optimizer's matrices.", nameof(matrix));
        }
        fixed (float* scratch = _scratch)
        {
            var part = new PartScratch(scratch, _largest, _side);
            Orthogonalize(matrix, rows, columns, part);
        }
    }

    // One part per thread, none past the matrices' count, nor past one per MinFlopsPerThread of the whole work.
    private int Parts() => (int)Math.Clamp(_totalFlops / MinFlopsPerThread, 1, Math.Max(1, Math.Min(KernelSettings.MaxThreads, _blocks.Length)));

    // Scratch for `parts` parts: allocated again only when more threads are allowed than before.
    private void EnsureScratch(int parts)
    {
        var needed = parts * PartScratch.Length(_largest, _side);
        if (_scratch.Length < needed)
        {
            _scratch = new float[needed];
        }
    }

    private void RunParts(ParameterSet parameters, Job job)
    {
        if (_blocks.Length == 0)
        {
            return;
        }
        var parts = Parts();
        EnsureScratch(parts);
        fixed (float* values = parameters.Values, grads = parameters.Grads, momentum = Momentum, scratch = _scratch)
        fixed (Block* blocks = _blocks)
        fixed (int* order = _dealOrder)
        {
            job.Values = values;
            job.Grads = grads;
            job.MomentumBuffer = momentum;
            job.Scratch = scratch;
            job.Blocks = blocks;
            job.DealOrder = order;
            job.BlockCount = _blocks.Length;
            job.Largest = _largest;
            job.Side = _side;
            job.Parts = parts;
            KernelThreads.Run(parts, &RunPart, &job);
        }
    }

    // The blocks dealt to `part`: costliest first, each to the part with the least work so far (the lowest on a tie),
    // which every part works out alike.
    private static void RunPart(void* context, int part)
    {
        var job = (Job*)context;
        var scratch = new PartScratch(job->Scratch + (part * PartScratch.Length(job->Largest, job->Side)), job->Largest, job->Side);
        Span<long> loads = stackalloc long[job->Parts];
        for (var i = 0; i < job->BlockCount; i++)
        {
            var block = job->Blocks[job->DealOrder[i]];
            var least = 0;
            for (var p = 1; p < loads.Length; p++)
            {
                least = loads[p] < loads[least] ? p : least;
            }
            loads[least] += block.Flops;
            if (least == part)
            {
                UpdateBlock(job, block, scratch);
            }
        }
    }

    private static void UpdateBlock(Job* job, Block block, PartScratch scratch)
    {
        var length = block.Rows * block.Columns;
        var update = scratch.Update[..length];
        var momentum = new Span<float>(job->MomentumBuffer + block.Offset, length);
        if (job->NewtonSchulzOnly)
        {
            momentum.CopyTo(update);
            Orthogonalize(update, block.Rows, block.Columns, scratch);
            return;
        }
        NesterovMomentum(new ReadOnlySpan<float>(job->Grads + block.Offset, length), momentum, update, job->Momentum);
        Orthogonalize(update, block.Rows, block.Columns, scratch);
        var values = new Span<float>(job->Values + block.Offset, length);
        // Rows longer than they are wide would each move less (their singular values are shared among more rows).
        var step = -job->Rate * MathF.Sqrt(Math.Max(1f, block.Rows / (float)block.Columns));
        VectorLoops.Map(KernelSettings.VectorWidth, update, values, values, new DecayAndStep(block.Decay ? job->Keep : 1f, step));
    }

    private static void Orthogonalize(Span<float> matrix, int rows, int columns, PartScratch scratch)
    {
        // The iteration works on the wide orientation (m ≤ n), where X·Xᵀ is the smaller Gram matrix.
        var tall = rows > columns;
        var (m, n) = tall ? (columns, rows) : (rows, columns);
        var x = scratch.X[..(m * n)];
        var next = scratch.Next[..(m * n)];
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
        var gram = scratch.Gram[..(m * m)];
        var polynomial = scratch.Polynomial[..(m * m)];
        var width = KernelSettings.VectorWidth;
        for (var step = 0; step < NewtonSchulzSteps; step++)
        {
            // A = X·Xᵀ;  B = b·A + c·A²;  X ← a·X + B·X   (σ ↦ aσ + bσ³ + cσ⁵ on every singular value); the new X is
            // made in the other buffer, and the two swap.
            MatMul.Forward(gram, x, x, default, m, n, m);
            MatMul.Forward(polynomial, gram, gram, default, m, m, m);
            VectorLoops.Map(width, gram, polynomial, polynomial, default(QuinticPolynomial));
            VectorLoops.Map(width, x, next, new ElementWise.ScaleOperator(QuinticA));
            MatMul.BackwardInput(next, polynomial, x, m, n, m);
            var previous = x;
            x = next;
            next = previous;
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

    // (A, A²) → b·A + c·A², the product c·A² rounded before the fused multiply-add
    private readonly struct QuinticPolynomial : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float a, float square) => MathF.FusedMultiplyAdd(QuinticB, a, QuinticC * square);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> a, Vector128<float> square) => Vector128.FusedMultiplyAdd(Vector128.Create(QuinticB), a, QuinticC * square);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> a, Vector256<float> square) => Vector256.FusedMultiplyAdd(Vector256.Create(QuinticB), a, QuinticC * square);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> a, Vector512<float> square) => Vector512.FusedMultiplyAdd(Vector512.Create(QuinticB), a, QuinticC * square);
    }

    // (u, θ) → α·u + θ·keep, the decay θ·keep rounded before the fused multiply-add (keep = 1: no decay)
    private readonly struct DecayAndStep(float keep, float alpha) : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Invoke(float u, float theta) => MathF.FusedMultiplyAdd(alpha, u, keep * theta);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> u, Vector128<float> theta) => Vector128.FusedMultiplyAdd(Vector128.Create(alpha), u, keep * theta);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> u, Vector256<float> theta) => Vector256.FusedMultiplyAdd(Vector256.Create(alpha), u, keep * theta);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> u, Vector512<float> theta) => Vector512.FusedMultiplyAdd(Vector512.Create(alpha), u, keep * theta);
    }

    // One matrix of a hidden parameter; its Newton–Schulz work is 5 · (4·m²·n + 2·m³) flops, m ≤ n its sides.
    private readonly record struct Block(int Offset, int Rows, int Columns, bool Decay)
    {
        public long Flops
        {
            get
            {
                var (m, n) = ((long)Math.Min(Rows, Columns), (long)Math.Max(Rows, Columns));
                return NewtonSchulzSteps * ((4 * m * m * n) + (2 * m * m * m));
            }
        }
    }

    // One part's scratch at `start`: the update, X and next (the largest matrix each), then the Gram matrix and the
    // polynomial (side² each).
    private readonly ref struct PartScratch(float* start, int largest, int side)
    {
        public Span<float> Update => new(start, largest);

        public Span<float> X => new(start + largest, largest);

        public Span<float> Next => new(start + (2L * largest), largest);

        public Span<float> Gram => new(start + (3L * largest), side * side);

        public Span<float> Polynomial => new(start + (3L * largest) + ((long)side * side), side * side);

        public static long Length(int largest, int side) => (3L * largest) + (2L * side * side);
    }

    // An update for the parts: the buffers (pinned by the caller), the blocks and how to deal them, and the step's constants.
    private struct Job
    {
        public float* Values;
        public float* Grads;
        public float* MomentumBuffer;
        public float* Scratch;
        public Block* Blocks;
        public int* DealOrder;
        public int BlockCount;
        public int Largest;
        public int Side;
        public int Parts;
        public float Momentum;
        public float Rate;
        public float Keep;
        public bool NewtonSchulzOnly;
    }
}
