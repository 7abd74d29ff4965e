using System.Buffers.Binary;
using System.Runtime.InteropServices;
using NanoLlm.Model;
using NanoLlm.Storage;

namespace NanoLlm.Interop;

/// <summary>
/// llm.c's GPT-2 checkpoint (<c>gpt2_124M.bin</c>, written by its <c>train_gpt2.py</c>): a header of 256 int32s — magic
/// 20240326, version (3: float32, 5: bfloat16, both with the vocabulary padded), max positions T, vocabulary V,
/// layers L, heads H, channels C, padded vocabulary Vp — then the parameters grouped by kind across layers: wte[Vp,C],
/// wpe[T,C], ln_1 γ[L,C] and β[L,C], c_attn W[L,3C,C] and b[L,3C], attn c_proj W[L,C,C] and b[L,C], ln_2 γ and β,
/// c_fc W[L,4C,C] and b[L,4C], mlp c_proj W[L,C,4C] and b[L,C], ln_f γ[C] and β[C]. Weights are in Linear's [out, in]
/// layout, as NanoLlm's; the head is tied; the Vp − V padding rows of wte are zero and never used.
/// </summary>
public static class LlmcGpt2
{
    public const int Magic = 20240326;
    public const int Float32Version = 3;
    public const int BFloat16Version = 5;
    public const int HeaderInts = 256;

    /// <summary>llm.c pads the vocabulary to a multiple of 128 (50,257 → 50,304) for friendlier matrix shapes.</summary>
    public const int VocabularyMultiple = 128;

    /// <summary>Whether the file starts with llm.c's checkpoint magic.</summary>
    public static bool IsCheckpoint(string path) => StartsWith(path, Magic);

    /// <summary>Reads a float32 or bfloat16 checkpoint; anything inconsistent is a <see cref="WeightsFileException"/> naming it.</summary>
    public static GptModel ReadModel(string path)
    {
        var bytes = ReadAll(path);
        if (bytes.Length < HeaderInts * sizeof(int))
        {
            throw new WeightsFileException($"{path}: {bytes.Length} bytes is too short for llm.c's 1,024-byte header");
        }
        var header = MemoryMarshal.Cast<byte, int>(bytes.AsSpan(0, HeaderInts * sizeof(int))).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.ReverseEndianness(header, header);
        }
        if (header[0] != Magic)
        {
            throw new WeightsFileException($"{path}: not an llm.c GPT-2 checkpoint (magic {header[0]}, expected {Magic})");
        }
        var version = header[1];
        if (version is not (Float32Version or BFloat16Version))
        {
            throw new WeightsFileException(
                $"{path}: llm.c checkpoint version {version} is not supported (NanoLlm reads {Float32Version}, float32, and {BFloat16Version}, bfloat16, both with a padded vocabulary): write it again with llm.c's current train_gpt2.py");
        }
        var (positions, vocabSize, layers, heads, channels, paddedVocab) = (header[2], header[3], header[4], header[5], header[6], header[7]);
        Check(path, "max positions (header[2])", positions, 1, 8192);
        Check(path, "vocabulary size (header[3])", vocabSize, 1, 65_536);
        Check(path, "layers (header[4])", layers, 1, 256);
        Check(path, "heads (header[5])", heads, 1, 1024);
        Check(path, "channels (header[6])", channels, 1, 16_384);
        Check(path, "padded vocabulary size (header[7])", paddedVocab, vocabSize, 1 << 20);
        if (channels % heads != 0)
        {
            throw new WeightsFileException($"{path}: heads (header[5]) {heads} does not divide channels (header[6]) {channels}");
        }

        var shape = new Gpt2Shape(layers, heads, channels, positions, vocabSize, 4 * channels);
        var sizes = Sizes(shape, paddedVocab);
        var elementSize = version == Float32Version ? sizeof(float) : sizeof(ushort);
        var expectedBytes = (HeaderInts * (long)sizeof(int)) + (sizes.Sum(s => s.Count) * elementSize);
        if (bytes.Length != expectedBytes)
        {
            throw new WeightsFileException(
                $"{path}: {bytes.Length} bytes, but the header (T={positions}, V={vocabSize}, Vp={paddedVocab}, L={layers}, H={heads}, C={channels}, {(elementSize == 4 ? "float32" : "bfloat16")}) needs {expectedBytes}");
        }

        var values = new float[sizes.Sum(s => s.Count)];
        var data = bytes.AsSpan(HeaderInts * sizeof(int));
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = elementSize == sizeof(float)
                ? BinaryPrimitives.ReadSingleLittleEndian(data[(i * 4)..])
                : BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(data[(i * 2)..]) << 16);
        }
        var model = shape.CreateModel(path);
        var offset = 0L;
        foreach (var (names, count) in sizes)
        {
            var perLayer = count / names.Length;
            for (var l = 0; l < names.Length; l++)
            {
                var parameter = model.Parameters[names[l]];
                values.AsSpan((int)(offset + (l * perLayer)), parameter.Length).CopyTo(parameter.Values);
            }
            offset += count;
        }
        return model;
    }

    /// <summary>Writes a float32 (version 3) checkpoint; the model must be GPT-2's shape with a tied head and a 4·C feed-forward.</summary>
    public static void WriteModel(string path, GptModel model, Gpt2Shape shape)
    {
        if (!shape.TiedHead || shape.FeedForwardSize != 4 * shape.Channels)
        {
            throw new ArgumentException("llm.c's GPT-2 has a tied head and a feed-forward of 4·C.", nameof(shape));
        }
        var paddedVocab = (shape.VocabSize + VocabularyMultiple - 1) / VocabularyMultiple * VocabularyMultiple;
        var header = new int[HeaderInts];
        (header[0], header[1], header[2], header[3], header[4], header[5], header[6], header[7]) =
            (Magic, Float32Version, shape.ContextLength, shape.VocabSize, shape.Layers, shape.Heads, shape.Channels, paddedVocab);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> word = stackalloc byte[4];
            foreach (var value in header)
            {
                BinaryPrimitives.WriteInt32LittleEndian(word, value);
                stream.Write(word);
            }
            foreach (var (names, count) in Sizes(shape, paddedVocab))
            {
                var written = 0L;
                foreach (var name in names)
                {
                    var values = model.Parameters[name].Values;
                    WriteFloats(stream, values);
                    written += values.Length;
                }
                WriteFloats(stream, new float[count - written]);
            }
        });
    }

    // The parameter groups in file order: the NanoLlm parameters of each (one per layer, or one), and the group's size
    // in values (wte's includes the Vp − V zero rows after the V real ones).
    private static List<(string[] Names, long Count)> Sizes(Gpt2Shape shape, int paddedVocab)
    {
        var (l, c) = (shape.Layers, (long)shape.Channels);
        string[] PerLayer(string name) => [.. Enumerable.Range(0, l).Select(i => $"h.{i}.{name}")];
        return
        [
            (["wte"], paddedVocab * c),
            (["wpe"], shape.ContextLength * c),
            (PerLayer("ln_1.weight"), l * c),
            (PerLayer("ln_1.bias"), l * c),
            (PerLayer("attn.c_attn.weight"), l * 3 * c * c),
            (PerLayer("attn.c_attn.bias"), l * 3 * c),
            (PerLayer("attn.c_proj.weight"), l * c * c),
            (PerLayer("attn.c_proj.bias"), l * c),
            (PerLayer("ln_2.weight"), l * c),
            (PerLayer("ln_2.bias"), l * c),
            (PerLayer("mlp.c_fc.weight"), l * 4 * c * c),
            (PerLayer("mlp.c_fc.bias"), l * 4 * c),
            (PerLayer("mlp.c_proj.weight"), l * c * 4 * c),
            (PerLayer("mlp.c_proj.bias"), l * c),
            (["ln_f.weight"], c),
            (["ln_f.bias"], c),
        ];
    }

    private static void WriteFloats(Stream stream, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        Span<byte> word = stackalloc byte[4];
        foreach (var value in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(word, value);
            stream.Write(word);
        }
    }

    private static void Check(string path, string what, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new WeightsFileException($"{path}: {what} is {value}: expected {min} to {max}");
        }
    }

    internal static byte[] ReadAll(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
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

    internal static bool StartsWith(string path, int magic)
    {
        try
        {
            using var stream = File.OpenRead(path);
            Span<byte> first = stackalloc byte[4];
            return stream.Length >= 4 && stream.ReadAtLeast(first, 4, throwOnEndOfStream: false) == 4
                && BinaryPrimitives.ReadInt32LittleEndian(first) == magic;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
