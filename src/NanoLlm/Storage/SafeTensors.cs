using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;

namespace NanoLlm.Storage;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header that maps each tensor name to its
/// dtype, shape and byte range (<c>data_offsets</c>, relative to the data section) plus a <c>__metadata__</c> map of
/// strings, then the raw little-endian F32 data. The header is padded with spaces so the data starts 8-byte aligned.
/// </summary>
public static class SafeTensors
{
    internal const string MetadataKey = "__metadata__";

    /// <summary>Largest header read (as in the reference implementation): a bigger claim is a corrupt or foreign file.</summary>
    internal const long MaxHeaderBytes = 100L * 1024 * 1024;

    /// <summary>
    /// Writes the tensors in order, atomically (see <see cref="AtomicFile"/>). A disk that refuses the file (full,
    /// read-only, no permission) is a <see cref="WeightsFileException"/> naming the path and the cause; the file that
    /// was there is kept.
    /// </summary>
    public static void Write(string path, IReadOnlyList<NamedTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var header = Header(tensors, metadata);
        try
        {
            AtomicFile.Write(path, stream =>
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
                stream.Write(length);
                stream.Write(header);
                foreach (var tensor in tensors)
                {
                    WriteLittleEndian(stream, tensor.Data.Span);
                }
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WeightsFileException($"{path}: cannot write ({e.Message}): free some space or pick a writable [weights] path", e);
        }
    }

    /// <summary>Reads and validates a whole file; anything wrong is a <see cref="WeightsFileException"/> naming the path.</summary>
    public static SafeTensorsFile Read(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            return Read(stream, path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new WeightsFileException($"{path}: file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WeightsFileException($"{path}: cannot read ({e.Message})", e);
        }
    }

    /// <summary>Only the <c>__metadata__</c> map: the header is read, the tensors are not.</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            return ReadHeader(stream, path).Metadata;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new WeightsFileException($"{path}: file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WeightsFileException($"{path}: cannot read ({e.Message})", e);
        }
    }

    /// <summary>Reads and validates a whole file from <paramref name="stream"/>; <paramref name="path"/> names it in errors.</summary>
    internal static SafeTensorsFile Read(Stream stream, string path)
    {
        var (metadata, entries) = ReadHeader(stream, path);
        var data = new byte[stream.Length - stream.Position];
        stream.ReadExactly(data);
        CheckCoverage(entries, data.Length, path);
        return new SafeTensorsFile(path, metadata, entries, data);
    }

    private static (Dictionary<string, string> Metadata, List<SafeTensorsFile.Entry> Entries) ReadHeader(Stream stream, string path)
    {
        var fileLength = stream.Length;
        if (fileLength < 8)
        {
            throw new WeightsFileException($"{path}: not a safetensors file: {fileLength} bytes is too short for the 8-byte header length");
        }
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)(fileLength - 8) || headerLength > MaxHeaderBytes)
        {
            throw new WeightsFileException(
                $"{path}: not a safetensors file: its header length field says {headerLength} bytes, the file holds {fileLength} bytes in all");
        }

        var header = new byte[headerLength];
        stream.ReadExactly(header);
        return ParseHeader(header, path);
    }

    private static (Dictionary<string, string> Metadata, List<SafeTensorsFile.Entry> Entries) ParseHeader(byte[] header, string path)
    {
        // The JSON reader checks UTF-8 only when a string is read, and then throws an exception of its own.
        if (!Utf8.IsValid(header))
        {
            throw new WeightsFileException($"{path}: corrupted header: it is not valid UTF-8 text");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new WeightsFileException($"{path}: not a safetensors file: its header is not valid JSON ({JsonPosition(e)})", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new WeightsFileException($"{path}: not a safetensors file: its header is not a JSON object");
            }
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<SafeTensorsFile.Entry>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            try
            {
                foreach (var property in root.EnumerateObject())
                {
                    if (!names.Add(property.Name))
                    {
                        throw new WeightsFileException($"{path}: corrupted header: {property.Name} appears twice");
                    }
                    if (property.Name == MetadataKey)
                    {
                        metadata = ParseMetadata(property.Value, path);
                    }
                    else
                    {
                        entries.Add(ParseEntry(property, path));
                    }
                }
            }
            catch (InvalidOperationException e)
            {
                // A \u escape of half a surrogate pair is valid JSON but no .NET string: the reader refuses it here.
                throw new WeightsFileException($"{path}: corrupted header: a name or value in it is not valid text ({e.Message})", e);
            }
            return (metadata, entries);
        }
    }

    // Where the JSON broke, not the reader's message: that quotes the text, which may hold line breaks.
    private static string JsonPosition(JsonException e) => $"at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}";

    private static Dictionary<string, string> ParseMetadata(JsonElement element, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new WeightsFileException($"{path}: corrupted header: {MetadataKey} is not a JSON object");
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in element.EnumerateObject())
        {
            metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String
                ? item.Value.GetString()!
                : throw new WeightsFileException($"{path}: corrupted header: metadata value {item.Name} is not a string");
        }
        return metadata;
    }

    private static SafeTensorsFile.Entry ParseEntry(JsonProperty property, string path)
    {
        var name = property.Name;
        var value = property.Value;
        string Problem(string what) => $"{path}: corrupted header: tensor {name} {what}";

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new WeightsFileException(Problem("is not a JSON object"));
        }
        if (!value.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String)
        {
            throw new WeightsFileException(Problem("has no dtype"));
        }
        if (dtype.GetString() != "F32")
        {
            throw new WeightsFileException(Problem($"has dtype {dtype.GetString()}; NanoLlm reads F32 only"));
        }
        var shape = IntegerArray(value, "shape", Problem);
        var offsets = IntegerArray(value, "data_offsets", Problem);
        if (shape.Any(d => d < 0 || d > int.MaxValue))
        {
            throw new WeightsFileException(Problem($"has an invalid shape [{string.Join(", ", shape)}]"));
        }
        if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
        {
            throw new WeightsFileException(Problem($"has invalid data_offsets [{string.Join(", ", offsets)}]"));
        }
        long elements = 1;
        foreach (var dimension in shape)
        {
            elements = dimension == 0 || elements <= long.MaxValue / 4 / dimension ? elements * dimension : long.MaxValue / 4 + 1;
        }
        if (elements > long.MaxValue / 4 || elements * 4 != offsets[1] - offsets[0])
        {
            throw new WeightsFileException(
                Problem($"has shape [{string.Join(", ", shape)}], which needs {elements * 4} bytes, but its data_offsets [{offsets[0]}, {offsets[1]}] span {offsets[1] - offsets[0]}"));
        }
        return new SafeTensorsFile.Entry(name, shape.Select(d => (int)d).ToArray(), offsets[0], offsets[1]);
    }

    private static long[] IntegerArray(JsonElement value, string key, Func<string, string> problem)
    {
        if (!value.TryGetProperty(key, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            throw new WeightsFileException(problem($"has no {key} array"));
        }
        var result = new long[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            result[i++] = item.ValueKind == JsonValueKind.Number && item.TryGetInt64(out var number)
                ? number
                : throw new WeightsFileException(problem($"has a non-integer in {key}"));
        }
        return result;
    }

    // The byte ranges must tile the data section exactly: no holes, no overlaps, nothing past its end.
    private static void CheckCoverage(List<SafeTensorsFile.Entry> entries, long dataLength, string path)
    {
        long expectedBegin = 0;
        foreach (var entry in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (entry.End > dataLength)
            {
                throw new WeightsFileException(
                    $"{path}: truncated: tensor {entry.Name} data_offsets [{entry.Begin}, {entry.End}] run past the end of the data ({dataLength} bytes)");
            }
            if (entry.Begin != expectedBegin)
            {
                throw new WeightsFileException(
                    $"{path}: corrupted header: tensor {entry.Name} data_offsets [{entry.Begin}, {entry.End}] leave a gap or overlap at byte {expectedBegin}");
            }
            expectedBegin = entry.End;
        }
        if (expectedBegin != dataLength)
        {
            throw new WeightsFileException($"{path}: corrupted: {dataLength - expectedBegin} bytes of data after the last tensor's offsets");
        }
    }

    private static byte[] Header(IReadOnlyList<NamedTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject(MetadataKey);
            foreach (var (key, value) in metadata)
            {
                json.WriteString(key, value);
            }
            json.WriteEndObject();
            long offset = 0;
            foreach (var tensor in tensors)
            {
                var elements = tensor.Shape.Aggregate(1L, (product, dimension) => product * dimension);
                if (tensor.Shape.Any(d => d < 0) || elements != tensor.Data.Length)
                {
                    throw new ArgumentException(
                        $"Tensor {tensor.Name} has shape [{string.Join(", ", tensor.Shape)}] but {tensor.Data.Length} values.", nameof(tensors));
                }
                if (tensor.Name.Length == 0 || tensor.Name == MetadataKey || !names.Add(tensor.Name))
                {
                    throw new ArgumentException($"Tensor name '{tensor.Name}' is empty, reserved or repeated.", nameof(tensors));
                }
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (var dimension in tensor.Shape)
                {
                    json.WriteNumberValue(dimension);
                }
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + (elements * sizeof(float)));
                json.WriteEndArray();
                json.WriteEndObject();
                offset += elements * sizeof(float);
            }
            json.WriteEndObject();
        }
        var padded = (buffer.WrittenCount + 8 + 7) / 8 * 8 - 8;
        var header = new byte[padded];
        header.AsSpan().Fill((byte)' ');
        buffer.WrittenSpan.CopyTo(header);
        return header;
    }

    private static void WriteLittleEndian(Stream stream, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        Span<byte> bytes = stackalloc byte[4];
        foreach (var value in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
            stream.Write(bytes);
        }
    }
}
