using NanoLlm.Config;
using NanoLlm.Tensors;

namespace NanoLlm.Model;

/// <summary>What a model declares about one of its parameters.</summary>
/// <param name="Shape">Row-major, e.g. <c>[V, C]</c> for an embedding table.</param>
/// <param name="Decay">Whether weight decay applies: matrices yes; biases, norms and (by default) embeddings no.</param>
public sealed record ParameterSpec(string Name, int[] Shape, bool Decay)
{
    /// <summary>
    /// A weight matrix inside the network, between the embeddings and the output head (attention's and the
    /// feed-forward's): what Muon orthogonalises. Embedding tables, the head, gains and biases are not.
    /// </summary>
    public bool HiddenMatrix { get; init; }

    /// <summary>
    /// How many matrices of equal height are stacked along the rows (3 for attention's fused query, key and value
    /// projections): an optimizer that treats each matrix as a whole (Muon) takes them one at a time.
    /// </summary>
    public int StackedMatrices { get; init; } = 1;
}

/// <summary>One named view of a <see cref="ParameterSet"/>: its values and gradients are slices of the set's two buffers.</summary>
public sealed class Parameter
{
    private readonly ParameterSet _set;

    internal Parameter(ParameterSet set, ParameterSpec spec, int offset)
    {
        _set = set;
        Name = spec.Name;
        Shape = spec.Shape;
        Decay = spec.Decay;
        HiddenMatrix = spec.HiddenMatrix;
        StackedMatrices = spec.StackedMatrices;
        Offset = offset;
        Length = ElementCount(spec.Shape);
    }

    public string Name { get; }
    public int[] Shape { get; }
    public bool Decay { get; }

    /// <inheritdoc cref="ParameterSpec.HiddenMatrix"/>
    public bool HiddenMatrix { get; }

    /// <inheritdoc cref="ParameterSpec.StackedMatrices"/>
    public int StackedMatrices { get; }

    public int Offset { get; }
    public int Length { get; }

    public Span<float> Values => _set.Values.AsSpan(Offset, Length);
    public Span<float> Grads => _set.Grads.AsSpan(Offset, Length);

    internal static int ElementCount(int[] shape)
    {
        long count = 1;
        foreach (var dimension in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(dimension);
            count *= dimension;
        }
        return checked((int)count);
    }
}

/// <summary>
/// All parameters of a model in one contiguous buffer, their gradients in a second of the same size (llm.c's layout):
/// zeroing gradients is one clear, an optimizer step is one pass, saving writes the named views.
/// </summary>
public sealed class ParameterSet
{
    // The ceiling ModelRegistry sets around building a model (see Ceiling); none outside it.
    [ThreadStatic]
    private static (long MaxCount, string Origin, string Reason)? _ceiling;

    private readonly Dictionary<string, Parameter> _byName = new(StringComparer.Ordinal);

    /// <exception cref="ConfigException">The specs hold more parameters than the ceiling in force allows.</exception>
    public ParameterSet(IReadOnlyList<ParameterSpec> specs)
    {
        var count = specs.Sum(spec => spec.Shape.Aggregate(1L, (product, dimension) => product * Math.Max(dimension, 0)));
        if (_ceiling is var (maxCount, origin, reason) && count > maxCount)
        {
            throw new ConfigException($"{origin}: [model] describes a model of {count} parameters, more than {maxCount}: {reason}");
        }
        var parameters = new Parameter[specs.Count];
        var offset = 0;
        for (var i = 0; i < specs.Count; i++)
        {
            parameters[i] = new Parameter(this, specs[i], offset);
            if (!_byName.TryAdd(specs[i].Name, parameters[i]))
            {
                throw new ArgumentException($"Two parameters are named {specs[i].Name}.", nameof(specs));
            }
            offset = checked(offset + parameters[i].Length);
        }
        Parameters = parameters;
        Values = new float[offset];
        Grads = new float[offset];
    }

    /// <summary>In declaration order, which is also the order of the buffers and of the weights file.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    public float[] Values { get; }
    public float[] Grads { get; }
    public int Count => Values.Length;

    public Parameter this[string name] => _byName[name];

    public bool TryGet(string name, out Parameter parameter) => _byName.TryGetValue(name, out parameter!);

    public void ZeroGrads() => ElementWise.Clear(Grads);

    /// <summary>
    /// Until disposed, a set of more than <paramref name="maxCount"/> parameters on this thread is refused before
    /// anything is allocated, with <paramref name="reason"/>: a weights file's metadata cannot ask for a model larger
    /// than its tensors, and no run file for one larger than a buffer holds.
    /// </summary>
    internal static Ceiling LimitTo(long maxCount, string origin, string reason)
    {
        var previous = _ceiling;
        _ceiling = (maxCount, origin, reason);
        return new Ceiling(previous);
    }

    internal readonly struct Ceiling((long, string, string)? previous) : IDisposable
    {
        public void Dispose() => _ceiling = previous;
    }
}
