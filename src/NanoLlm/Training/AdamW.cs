using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Tensors;

namespace NanoLlm.Training;

/// <summary>
/// Adam with decoupled weight decay (Loshchilov &amp; Hutter 2019), as PyTorch's <c>AdamW</c>: moments and bias
/// correction as in Adam (Kingma &amp; Ba 2015), and the decay shrinks the weights directly instead of entering the
/// gradient. Only parameters whose view says <see cref="Parameter.Decay"/> (matrices) are decayed, and the embedding
/// tables too with <see cref="OptimizerSettings.DecayEmbeddings"/> (every 2-D tensor, as nanoGPT). The moments are
/// two flat buffers beside the parameters, so a step is one vectorized pass, which threads share in fixed chunks of
/// the buffers (each element's arithmetic is its own, so the result does not depend on the thread count), with
/// gradient clipping's scale folded in.
/// </summary>
public sealed unsafe class AdamW : IOptimizer
{
    // Elements a thread updates at a time: 128 KiB of each of the four buffers.
    private const int ChunkSize = 1 << 15;

    private readonly OptimizerSettings _settings;

    // For the parameter set and skip choice of the last update: where each parameter ends in the flat buffers, and
    // how it is updated (ParameterKind).
    private ParameterSet? _layoutOf;
    private bool _layoutSkipsHiddenMatrices;
    private int[] _ends = [];
    private byte[] _kinds = [];

    public AdamW(OptimizerSettings settings, int parameterCount)
    {
        _settings = settings;
        FirstMoments = new float[parameterCount];
        SecondMoments = new float[parameterCount];
        State = [new("adamw.m", FirstMoments), new("adamw.v", SecondMoments)];
    }

    /// <summary>m: the running mean of gradients.</summary>
    public float[] FirstMoments { get; }

    /// <summary>v: the running mean of squared gradients.</summary>
    public float[] SecondMoments { get; }

    /// <summary>Updates taken so far (t in the bias correction).</summary>
    public int UpdateCount { get; set; }

    public IReadOnlyList<KeyValuePair<string, float[]>> State { get; }

    // m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  m̂ = m/(1−β₁ᵗ);  v̂ = v/(1−β₂ᵗ);  θ ← θ − η·λ·θ [decayed only] − η·m̂/(√v̂ + ε)
    public void Update(ParameterSet parameters, float learningRate) => Update(parameters, learningRate, skipHiddenMatrices: false, gradientScale: 1f);

    // The same with g = s·(the gradient): clipping's scale, applied as the gradient is read instead of in a pass of its own
    public void Update(ParameterSet parameters, float learningRate, float gradientScale) =>
        Update(parameters, learningRate, skipHiddenMatrices: false, gradientScale);

    /// <summary>One step; with <paramref name="skipHiddenMatrices"/> the hidden matrices are left to another optimizer (Muon).</summary>
    internal void Update(ParameterSet parameters, float learningRate, bool skipHiddenMatrices, float gradientScale = 1f)
    {
        UpdateCount++;
        var correction1 = 1 - Math.Pow(_settings.Beta1, UpdateCount);
        var correction2 = 1 - Math.Pow(_settings.Beta2, UpdateCount);
        DescribeLayout(parameters, skipHiddenMatrices);
        var (beta1, beta2) = ((float)_settings.Beta1, (float)_settings.Beta2);
        fixed (float* values = parameters.Values, grads = parameters.Grads, m = FirstMoments, v = SecondMoments)
        fixed (int* ends = _ends)
        fixed (byte* kinds = _kinds)
        {
            var job = new Job
            {
                Values = values,
                Grads = grads,
                M = m,
                V = v,
                Ends = ends,
                Kinds = kinds,
                Parameters = _ends.Length,
                Length = parameters.Count,
                Beta1 = beta1,
                Beta2 = beta2,
                // Folding the corrections into the step size: η·m̂/(√v̂+ε) = (η/c₁)·m / (√v/√c₂ + ε).
                StepSize = (float)(learningRate / correction1),
                InverseRootCorrection2 = (float)(1 / Math.Sqrt(correction2)),
                Epsilon = (float)_settings.Epsilon,
                DecayedKeep = 1 - (learningRate * (float)_settings.WeightDecay),
                GradientScale = gradientScale,
                Width = KernelSettings.VectorWidth,
            };
            ParallelRows.For((parameters.Count + ChunkSize - 1) / ChunkSize, ChunkSize * 8L, &UpdateChunks, &job);
        }
    }

    // Which parameters are decayed or skipped, worked out once per parameter set (an update allocates nothing after).
    private void DescribeLayout(ParameterSet parameters, bool skipHiddenMatrices)
    {
        if (_layoutOf == parameters && _layoutSkipsHiddenMatrices == skipHiddenMatrices)
        {
            return;
        }
        var count = parameters.Parameters.Count;
        var (ends, kinds) = (new int[count], new byte[count]);
        for (var p = 0; p < count; p++)
        {
            var parameter = parameters.Parameters[p];
            ends[p] = parameter.Offset + parameter.Length;
            var decayed = parameter.Decay || (_settings.DecayEmbeddings && parameter.Shape.Length == 2);
            kinds[p] = (byte)(skipHiddenMatrices && parameter.HiddenMatrix ? ParameterKind.Skipped : decayed ? ParameterKind.Decayed : ParameterKind.Plain);
        }
        (_ends, _kinds, _layoutOf, _layoutSkipsHiddenMatrices) = (ends, kinds, parameters, skipHiddenMatrices);
    }

    // Elements [first·ChunkSize, last·ChunkSize), parameter by parameter (a chunk may span several).
    private static void UpdateChunks(void* context, int first, int last)
    {
        var job = (Job*)context;
        var start = first * ChunkSize;
        var end = (int)Math.Min((long)last * ChunkSize, job->Length);
        var p = 0;
        while (p < job->Parameters && job->Ends[p] <= start)
        {
            p++;
        }
        for (; p < job->Parameters && start < end; p++)
        {
            var segmentEnd = Math.Min(end, job->Ends[p]);
            var kind = (ParameterKind)job->Kinds[p];
            if (kind != ParameterKind.Skipped)
            {
                UpdateRange(job, start, segmentEnd - start, kind == ParameterKind.Decayed ? job->DecayedKeep : 1f);
            }
            start = segmentEnd;
        }
    }

    // The update of elements [start, start + length), at the widest vector first; no fused multiply-adds, so every
    // width rounds as the scalar code does.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UpdateRange(Job* job, int start, int length, float keep)
    {
        var values = job->Values + start;
        var grads = job->Grads + start;
        var m = job->M + start;
        var v = job->V + start;
        var (beta1, beta2, stepSize, rootCorrection, epsilon, scale) = (job->Beta1, job->Beta2, job->StepSize, job->InverseRootCorrection2, job->Epsilon, job->GradientScale);
        var i = 0;
        if (job->Width >= 512)
        {
            var (b1, b2, c1, c2) = (Vector512.Create(beta1), Vector512.Create(beta2), Vector512.Create(1 - beta1), Vector512.Create(1 - beta2));
            var (size, correction, eps, decay, s) = (Vector512.Create(stepSize), Vector512.Create(rootCorrection), Vector512.Create(epsilon), Vector512.Create(keep), Vector512.Create(scale));
            for (; i + 16 <= length; i += 16)
            {
                var g = Vector512.Load(grads + i) * s;
                var mi = (b1 * Vector512.Load(m + i)) + (c1 * g);
                var vi = (b2 * Vector512.Load(v + i)) + (c2 * g * g);
                var denominator = (Vector512.Sqrt(vi) * correction) + eps;
                var theta = (Vector512.Load(values + i) * decay) - (size * mi / denominator);
                mi.Store(m + i);
                vi.Store(v + i);
                theta.Store(values + i);
            }
        }
        if (job->Width >= 256)
        {
            var (b1, b2, c1, c2) = (Vector256.Create(beta1), Vector256.Create(beta2), Vector256.Create(1 - beta1), Vector256.Create(1 - beta2));
            var (size, correction, eps, decay, s) = (Vector256.Create(stepSize), Vector256.Create(rootCorrection), Vector256.Create(epsilon), Vector256.Create(keep), Vector256.Create(scale));
            for (; i + 8 <= length; i += 8)
            {
                var g = Vector256.Load(grads + i) * s;
                var mi = (b1 * Vector256.Load(m + i)) + (c1 * g);
                var vi = (b2 * Vector256.Load(v + i)) + (c2 * g * g);
                var denominator = (Vector256.Sqrt(vi) * correction) + eps;
                var theta = (Vector256.Load(values + i) * decay) - (size * mi / denominator);
                mi.Store(m + i);
                vi.Store(v + i);
                theta.Store(values + i);
            }
        }
        for (; i < length; i++)
        {
            var g = grads[i] * scale;
            m[i] = (beta1 * m[i]) + ((1 - beta1) * g);
            v[i] = (beta2 * v[i]) + ((1 - beta2) * g * g);
            values[i] = (values[i] * keep) - (stepSize * m[i] / ((MathF.Sqrt(v[i]) * rootCorrection) + epsilon));
        }
    }

    private enum ParameterKind : byte
    {
        Plain,
        Decayed,
        Skipped,
    }

    private struct Job
    {
        public float* Values;
        public float* Grads;
        public float* M;
        public float* V;
        public int* Ends;
        public byte* Kinds;
        public int Parameters;
        public int Length;
        public float Beta1;
        public float Beta2;
        public float StepSize;
        public float InverseRootCorrection2;
        public float Epsilon;
        public float DecayedKeep;
        public float GradientScale;
        public int Width;
    }
}
