using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace NanoLlm.Storage;

/// <summary>A safetensors file read into memory and validated: its metadata, its tensor names (in file order) and shapes.</summary>
public sealed class SafeTensorsFile
{
    private readonly string _path;
    private readonly Dictionary<string, Entry> _entries;
    private readonly byte[] _data;

    internal SafeTensorsFile(string path, Dictionary<string, string> metadata, List<Entry> entries, byte[] data)
    {
        _path = path;
        Metadata = metadata;
        Names = entries.Select(e => e.Name).ToList();
        _entries = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        _data = data;
    }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public IReadOnlyList<string> Names { get; }

    public bool Contains(string name) => _entries.ContainsKey(name);

    public int[] Shape(string name) => (int[])Find(name).Shape.Clone();

    /// <summary>
    /// Copies the tensor's values into <paramref name="destination"/>, which must hold exactly as many. A NaN or an
    /// infinity is refused: no weights or optimizer state NanoLlm writes holds one (a diverged run writes nothing).
    /// </summary>
    public void CopyTo(string name, Span<float> destination)
    {
        Copy(name, destination);
        for (var i = 0; i < destination.Length; i++)
        {
            if (!float.IsFinite(destination[i]))
            {
                throw new WeightsFileException(
                    $"{_path}: tensor {name} holds {destination[i].ToString(CultureInfo.InvariantCulture)} at index {i}: the file is corrupted or was saved from a diverged run");
            }
        }
    }

    private void Copy(string name, Span<float> destination)
    {
        var entry = Find(name);
        var bytes = _data.AsSpan((int)entry.Begin, (int)(entry.End - entry.Begin));
        if (destination.Length * sizeof(float) != bytes.Length)
        {
            throw new ArgumentException($"Tensor {name} has {bytes.Length / sizeof(float)} values, the destination {destination.Length}.", nameof(destination));
        }
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination);
            return;
        }
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * sizeof(float))..]);
        }
    }

    public float[] ToArray(string name)
    {
        var entry = Find(name);
        var values = new float[(entry.End - entry.Begin) / sizeof(float)];
        CopyTo(name, values);
        return values;
    }

    private Entry Find(string name) =>
        _entries.TryGetValue(name, out var entry) ? entry : throw new WeightsFileException($"{_path}: tensor {name} is missing");

    internal sealed record Entry(string Name, int[] Shape, long Begin, long End);
}
