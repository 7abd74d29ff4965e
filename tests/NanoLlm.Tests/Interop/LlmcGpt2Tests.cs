using System.Buffers.Binary;
using NanoLlm.Interop;
using NanoLlm.Storage;
using NanoLlm.Tests.Support;

namespace NanoLlm.Tests.Interop;

public sealed class LlmcGpt2Tests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly Gpt2Reference _reference = new();

    public void Dispose() => _folder.Dispose();

    // llm.c's train_gpt2.py write_model, from the reference's tensors: Linear layout (Conv1D transposed), grouped by
    // kind across layers, wte padded with zero rows to a multiple of 128, as float32 (version 3) or bfloat16 (5).
    private byte[] LlmcCheckpoint(int version = 3)
    {
        var (l, c, v) = (_reference.Layers, _reference.Channels, _reference.VocabSize);
        var padded = (v + 127) / 128 * 128;
        var values = new List<float>();
        values.AddRange(_reference["wte.weight"]);
        values.AddRange(new float[(padded - v) * c]);
        values.AddRange(_reference["wpe.weight"]);
        foreach (var kind in (string[])["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias",
            "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"])
        {
            for (var i = 0; i < l; i++)
            {
                var (name, shape, tensor) = _reference.Tensors.First(t => t.Name == $"h.{i}.{kind}");
                values.AddRange(shape.Length == 2 ? Transposed(tensor, shape[0], shape[1]) : tensor);
            }
        }
        values.AddRange(_reference["ln_f.weight"]);
        values.AddRange(_reference["ln_f.bias"]);

        var elementSize = version == 3 ? 4 : 2;
        var bytes = new byte[1024 + (values.Count * elementSize)];
        int[] header = [20240326, version, _reference.Positions, v, l, _reference.Heads, c, padded];
        for (var i = 0; i < header.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), header[i]);
        }
        for (var i = 0; i < values.Count; i++)
        {
            if (version == 3)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(1024 + (i * 4)), values[i]);
            }
            else
            {
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(1024 + (i * 2)), (ushort)(BitConverter.SingleToInt32Bits(values[i]) >> 16));
            }
        }
        return bytes;
    }

    private static float[] Transposed(float[] a, int rows, int cols)
    {
        var b = new float[a.Length];
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < cols; j++)
            {
                b[(j * rows) + i] = a[(i * cols) + j];
            }
        }
        return b;
    }

    [Fact]
    public void Import_gives_the_logits_of_the_documented_layout()
    {
        File.WriteAllBytes(_folder.File("gpt2.bin"), LlmcCheckpoint());

        var model = LlmcGpt2.ReadModel(_folder.File("gpt2.bin"));

        Assert.True(LlmcGpt2.IsCheckpoint(_folder.File("gpt2.bin")));
        Assert.Equal(_reference.VocabSize, model.Spec.VocabSize);
        Assert.InRange(HuggingFaceGpt2Tests.MaxLogitDifference(model, _reference, HuggingFaceGpt2Tests.FixedBatch), 0, 1e-4);
    }

    [Fact]
    public void A_bfloat16_checkpoint_reads_as_its_values_widened()
    {
        File.WriteAllBytes(_folder.File("gpt2_bf16.bin"), LlmcCheckpoint(version: 5));

        var model = LlmcGpt2.ReadModel(_folder.File("gpt2_bf16.bin"));

        var expected = _reference["h.1.ln_2.bias"].Select(v => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(v) & unchecked((int)0xFFFF0000)));
        Assert.Equal(expected, model.Parameters["h.1.ln_2.bias"].Values.ToArray());
    }

    [Fact]
    public void Export_writes_the_file_llm_c_writes_and_reads_back_bit_identical()
    {
        File.WriteAllBytes(_folder.File("gpt2.bin"), LlmcCheckpoint());
        var model = LlmcGpt2.ReadModel(_folder.File("gpt2.bin"));

        LlmcGpt2.WriteModel(_folder.File("again.bin"), model, Gpt2Shape.Of(model, "test"));

        Assert.Equal(File.ReadAllBytes(_folder.File("gpt2.bin")), File.ReadAllBytes(_folder.File("again.bin")));
        Assert.Equal(model.Parameters.Values, LlmcGpt2.ReadModel(_folder.File("again.bin")).Parameters.Values);
    }

    [Theory]
    [InlineData(0, 20240327, "not an llm.c GPT-2 checkpoint (magic 20240327, expected 20240326)")]
    [InlineData(1, 2, "llm.c checkpoint version 2 is not supported")]
    [InlineData(6, 9, "heads (header[5]) 2 does not divide channels (header[6]) 9")]
    [InlineData(7, 512, "needs")]
    [InlineData(7, 200, "padded vocabulary size (header[7]) is 200: expected 300")]
    public void A_header_that_disagrees_is_named(int field, int value, string message)
    {
        var bytes = LlmcCheckpoint();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(field * 4), value);
        File.WriteAllBytes(_folder.File("bad.bin"), bytes);

        var error = Assert.Throws<WeightsFileException>(() => LlmcGpt2.ReadModel(_folder.File("bad.bin")));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.StartsWith(_folder.File("bad.bin"), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_checkpoint_is_refused_with_the_size_it_needs()
    {
        var bytes = LlmcCheckpoint();
        File.WriteAllBytes(_folder.File("short.bin"), bytes[..^4]);

        var error = Assert.Throws<WeightsFileException>(() => LlmcGpt2.ReadModel(_folder.File("short.bin")));

        Assert.Contains($"{bytes.Length - 4} bytes, but the header", error.Message, StringComparison.Ordinal);
        Assert.Contains($"needs {bytes.Length}", error.Message, StringComparison.Ordinal);
    }
}
