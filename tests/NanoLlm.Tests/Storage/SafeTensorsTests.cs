using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using NanoLlm.Storage;
using NanoLlm.Tests.Support;

namespace NanoLlm.Tests.Storage;

public sealed class SafeTensorsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Write_then_read_returns_the_same_tensors_shapes_and_metadata()
    {
        var path = _folder.File("model.weights");
        float[] embedding = [1f, -2.5f, 3.25f, float.Epsilon, float.MaxValue, -0f];
        float[] bias = [0.125f, 7f];
        var metadata = new Dictionary<string, string> { ["model"] = "bigram", ["tokenizer"] = "{\"merges\":[]}" };

        SafeTensors.Write(path, [new NamedTensor("embedding", [3, 2], embedding), new NamedTensor("bias", [2], bias)], metadata);
        var file = SafeTensors.Read(path);

        Assert.Equal(["embedding", "bias"], file.Names);
        Assert.Equal([3, 2], file.Shape("embedding"));
        Assert.Equal([2], file.Shape("bias"));
        Assert.Equal(embedding, file.ToArray("embedding"));
        Assert.Equal(bias, file.ToArray("bias"));
        Assert.Equal(metadata, file.Metadata);
    }

    [Fact]
    public void The_file_follows_the_safetensors_layout()
    {
        var path = _folder.File("model.weights");
        SafeTensors.Write(path, [new NamedTensor("w", [2], new float[] { 1f, 2f })], new Dictionary<string, string> { ["k"] = "v" });

        var bytes = File.ReadAllBytes(path);
        var headerLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        var w = header.RootElement.GetProperty("w");

        Assert.Equal(0, (8 + headerLength) % 8);
        Assert.Equal("F32", w.GetProperty("dtype").GetString());
        Assert.Equal([2], w.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([0, 8], w.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("v", header.RootElement.GetProperty("__metadata__").GetProperty("k").GetString());
        Assert.Equal(2f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + headerLength + 4)));
        Assert.Equal(8 + headerLength + 8, bytes.Length);
    }

    [Fact]
    public void Writing_replaces_an_existing_file_and_leaves_no_temporary_file()
    {
        var path = _folder.File("model.weights");
        File.WriteAllText(path, "old");

        SafeTensors.Write(path, [new NamedTensor("w", [1], new float[] { 4f })], new Dictionary<string, string>());

        Assert.Equal([4f], SafeTensors.Read(path).ToArray("w"));
        Assert.Equal([path], Directory.GetFiles(_folder.Path));
    }

    [Fact]
    public void A_failed_write_keeps_the_old_file_and_leaves_no_temporary_file()
    {
        var path = _folder.File("model.weights");
        SafeTensors.Write(path, [new NamedTensor("w", [1], new float[] { 4f })], new Dictionary<string, string>());

        Assert.Throws<ArgumentException>(() =>
            SafeTensors.Write(path, [new NamedTensor("w", [3], new float[] { 1f, 2f })], new Dictionary<string, string>()));

        Assert.Equal([4f], SafeTensors.Read(path).ToArray("w"));
        Assert.Equal([path], Directory.GetFiles(_folder.Path));
    }

    [Fact]
    public void Writing_creates_the_missing_folder()
    {
        var path = Path.Combine(_folder.Path, "nested", "deeper", "model.weights");

        SafeTensors.Write(path, [new NamedTensor("w", [1], new float[] { 4f })], new Dictionary<string, string>());

        Assert.Equal([4f], SafeTensors.Read(path).ToArray("w"));
    }

    [Fact]
    public void A_truncated_file_is_refused_with_a_clear_message()
    {
        var path = WriteSample();
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^3]);

        var message = Assert.Throws<WeightsFileException>(() => SafeTensors.Read(path)).Message;

        Assert.StartsWith(path, message);
        Assert.Contains("truncated", message);
    }

    [Fact]
    public void A_file_shorter_than_its_header_length_field_is_refused()
    {
        var path = _folder.File("tiny.weights");
        File.WriteAllBytes(path, [1, 2, 3]);

        var message = Assert.Throws<WeightsFileException>(() => SafeTensors.Read(path)).Message;

        Assert.Contains("not a safetensors file", message);
    }

    [Fact]
    public void A_header_claiming_10_GB_is_refused_without_allocating_it()
    {
        var path = _folder.File("huge.weights");
        var bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 10UL * 1024 * 1024 * 1024);
        File.WriteAllBytes(path, bytes);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var message = Assert.Throws<WeightsFileException>(() => SafeTensors.Read(path)).Message;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Contains("header", message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void A_text_file_is_refused_as_foreign()
    {
        var path = _folder.Write("notes.weights", "these are not weights, just some text that is long enough");

        var message = Assert.Throws<WeightsFileException>(() => SafeTensors.Read(path)).Message;

        Assert.Contains("not a safetensors file", message);
    }

    [Theory]
    [InlineData("{\"w\":", "header is not valid JSON")]
    [InlineData("{\"w\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}", "dtype F16")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", "shape [2], which needs 8 bytes")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "offsets")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "shape")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", "data_offsets")]
    [InlineData("[1, 2]", "JSON object")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "w appears twice")]
    [InlineData("{\"__metadata__\":{},\"__metadata__\":{},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "__metadata__ appears twice")]
    public void A_corrupted_header_is_refused_naming_the_problem(string header, string expected)
    {
        var path = _folder.File("bad.weights");
        File.WriteAllBytes(path, FileWith(header, dataBytes: 4));

        var message = Assert.Throws<WeightsFileException>(() => SafeTensors.Read(path)).Message;

        Assert.Contains(expected, message);
    }

    [Fact]
    public void A_header_that_is_not_json_is_refused_in_one_line_whatever_text_it_holds()
    {
        var path = _folder.File("bad.weights");
        File.WriteAllBytes(path, FileWith("{\"w\":tru\n\re,\n\"x\":1}", dataBytes: 4));

        var message = Assert.Throws<WeightsFileException>(() => SafeTensors.Read(path)).Message;

        Assert.Equal($"{path}: not a safetensors file: its header is not valid JSON (at line 1, byte 9)", message);
    }

    [Theory]
    [InlineData("metadata value", "{\"__metadata__\":{\"k\":\"\xff\"},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}")]
    [InlineData("metadata key", "{\"__metadata__\":{\"\xfe\":\"v\"},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}")]
    [InlineData("tensor name", "{\"w\xc3\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}")]
    [InlineData("dtype", "{\"w\":{\"dtype\":\"F\xff\",\"shape\":[1],\"data_offsets\":[0,4]}}")]
    public void A_header_with_invalid_utf8_is_refused_as_corrupted(string where, string latin1Header)
    {
        var path = _folder.File("bad.weights");
        File.WriteAllBytes(path, FileWith(Encoding.Latin1.GetBytes(latin1Header), dataBytes: 4));

        var message = Assert.Throws<WeightsFileException>(() => SafeTensors.Read(path)).Message;

        Assert.True(message.StartsWith($"{path}: ", StringComparison.Ordinal) && message.Contains("UTF-8", StringComparison.Ordinal), $"{where}: {message}");
    }

    [Theory]
    [InlineData("{\"__metadata__\":{\"k\":\"\\ud800\"},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}")]
    [InlineData("{\"\\udc00w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}")]
    public void A_header_escaping_half_a_surrogate_pair_is_refused(string header)
    {
        var path = _folder.File("bad.weights");
        File.WriteAllBytes(path, FileWith(header, dataBytes: 4));

        var message = Assert.Throws<WeightsFileException>(() => SafeTensors.Read(path)).Message;

        Assert.StartsWith($"{path}: ", message);
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "Infinity")]
    [InlineData(float.NegativeInfinity, "-Infinity")]
    public void A_tensor_holding_a_non_finite_value_is_refused_naming_it(float value, string shown)
    {
        var path = _folder.File("model.weights");
        SafeTensors.Write(path, [new NamedTensor("fine", [2], new float[] { 1, 2 }), new NamedTensor("h.0.w", [3], new float[] { 1, value, 3 })],
            new Dictionary<string, string>());
        var file = SafeTensors.Read(path);

        var message = Assert.Throws<WeightsFileException>(() => file.ToArray("h.0.w")).Message;

        Assert.Equal(2, file.ToArray("fine").Length);
        Assert.Equal($"{path}: tensor h.0.w holds {shown} at index 1: the file is corrupted or was saved from a diverged run", message);
    }

    [MountFact]
    public void Writing_to_a_full_disk_names_the_path_and_the_cause_and_keeps_the_old_file()
    {
        using var disk = MountedFolder.Tmpfs(kilobytes: 64);
        var path = disk.File("model.weights");
        SafeTensors.Write(path, [new NamedTensor("w", [2], new float[] { 1, 2 })], new Dictionary<string, string>());
        var old = File.ReadAllBytes(path);

        var message = Assert.Throws<WeightsFileException>(
            () => SafeTensors.Write(path, [new NamedTensor("w", [100_000], new float[100_000])], new Dictionary<string, string>())).Message;

        Assert.StartsWith($"{path}: cannot write", message);
        Assert.Contains("No space left on device", message);
        Assert.DoesNotContain('\n', message);
        Assert.Equal(old, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(disk.Path));
    }

    [MountFact]
    public void Writing_to_a_read_only_folder_names_the_path_and_the_cause_and_keeps_the_old_file()
    {
        using var disk = MountedFolder.Tmpfs(kilobytes: 64);
        var path = disk.File("model.weights");
        SafeTensors.Write(path, [new NamedTensor("w", [2], new float[] { 1, 2 })], new Dictionary<string, string>());
        var old = File.ReadAllBytes(path);
        disk.MakeReadOnly();

        var message = Assert.Throws<WeightsFileException>(
            () => SafeTensors.Write(path, [new NamedTensor("w", [3], new float[3])], new Dictionary<string, string>())).Message;

        Assert.StartsWith($"{path}: cannot write", message);
        Assert.Contains("Read-only file system", message);
        Assert.Equal(old, File.ReadAllBytes(path));
    }

    [Fact]
    public void A_missing_file_is_refused_with_its_path()
    {
        var path = _folder.File("absent.weights");

        var message = Assert.Throws<WeightsFileException>(() => SafeTensors.Read(path)).Message;

        Assert.Equal($"{path}: file not found", message);
    }

    [Fact]
    public void Copying_into_a_buffer_of_the_wrong_length_is_refused()
    {
        var file = SafeTensors.Read(WriteSample());

        Assert.Throws<ArgumentException>(() => file.CopyTo("w", new float[5]));
    }

    private string WriteSample()
    {
        var path = _folder.File("sample.weights");
        SafeTensors.Write(path, [new NamedTensor("w", [2, 3], new float[] { 1, 2, 3, 4, 5, 6 })], new Dictionary<string, string> { ["k"] = "v" });
        return path;
    }

    private static byte[] FileWith(string header, int dataBytes) => FileWith(Encoding.UTF8.GetBytes(header), dataBytes);

    private static byte[] FileWith(byte[] json, int dataBytes)
    {
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        return bytes;
    }
}
