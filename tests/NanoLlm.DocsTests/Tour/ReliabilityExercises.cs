using System.Buffers.Binary;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Storage;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.DocsTests.Tour;

/// <summary>The answers to the exercises of docs/15-reliability.md.</summary>
public sealed class ReliabilityExercises : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("nanollm-docs-reliability-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_nan_written_into_a_weights_file_is_refused_naming_the_tensor_and_index()
    {
        var path = Path.Combine(_folder, "bigram.weights");
        var model = ModelRegistry.Create("bigram", 256, SettingsSection.FromJson("model", "exercise", "{}"));
        new Cortex(model, Tokenizer.ByteLevel).Save(path);
        var bytes = File.ReadAllBytes(path);
        var dataStart = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);

        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(dataStart + (300 * sizeof(float))), float.NaN);
        File.WriteAllBytes(path, bytes);

        var message = Assert.Throws<WeightsFileException>(() => Cortex.Load(path)).Message;
        Assert.Contains("tensor token_logits holds NaN at index 300", message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void A_write_that_fails_halfway_leaves_the_old_file_whole()
    {
        var path = Path.Combine(_folder, "model.weights");
        AtomicFile.Write(path, stream => stream.Write("old, whole"u8));

        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("new, half"u8);
            throw new IOException("No space left on device");
        }));

        Assert.Equal("old, whole", File.ReadAllText(path));
        Assert.Equal(["model.weights"], Directory.GetFiles(_folder).Select(Path.GetFileName));
    }
}
