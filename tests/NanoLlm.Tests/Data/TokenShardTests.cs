using System.Buffers.Binary;
using NanoLlm.Data;
using NanoLlm.Tests.Support;

namespace NanoLlm.Tests.Data;

public sealed class TokenShardTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    // A shard exactly as llm.c's dev/data/data_common.py documents it: 256 int32 (magic, version, count, zeros), then the tokens.
    private string LlmcShard(string name, int magic, int version, int count, uint[] tokens, int width)
    {
        var bytes = new byte[1024 + (tokens.Length * width)];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, magic);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), version);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), count);
        for (var i = 0; i < tokens.Length; i++)
        {
            if (width == 2)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(1024 + (2 * i)), (ushort)tokens[i]);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(1024 + (4 * i)), tokens[i]);
            }
        }
        var path = _folder.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static int[] ReadAll(TokenShard shard)
    {
        var tokens = new int[shard.Length];
        shard.Read(0, tokens);
        return tokens;
    }

    [Fact]
    public void Reads_a_uint16_shard_built_to_llm_c_documented_header()
    {
        uint[] tokens = [50256, 15496, 995, 0, 13];
        var path = LlmcShard("llmc.bin", 20240520, 1, tokens.Length, tokens, width: 2);

        using var shard = TokenShard.Open(path, vocabSize: 50257, tokenizerFingerprint: 0);

        Assert.Null(shard.Header.Record);
        Assert.Equal(tokens.Select(t => (int)t), ReadAll(shard));
        var window = new int[2];
        shard.Read(1, window);
        Assert.Equal([15496, 995], window);
    }

    [Fact]
    public void Reads_a_uint32_shard_in_llm_c_llama_3_layout()
    {
        uint[] tokens = [128000, 9906, 1917, 70000];
        var path = LlmcShard("llama.bin", 20240801, 7, tokens.Length, tokens, width: 4);

        using var shard = TokenShard.Open(path, vocabSize: 128256, tokenizerFingerprint: 0);

        Assert.Equal(4, shard.Header.TokenWidth);
        Assert.Equal(tokens.Select(t => (int)t), ReadAll(shard));
    }

    [Fact]
    public void Wrong_magic_names_the_shard_in_one_line()
    {
        var path = LlmcShard("bad.bin", 20240521, 1, 2, [1, 2], width: 2);

        var error = Assert.Throws<ShardFileException>(() => TokenShard.Open(path, 256, 0));

        Assert.StartsWith($"{path}: wrong magic number 20240521", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Wrong_version_is_refused()
    {
        var path = LlmcShard("v2.bin", 20240520, 2, 2, [1, 2], width: 2);

        var error = Assert.Throws<ShardFileException>(() => TokenShard.Open(path, 256, 0));

        Assert.StartsWith($"{path}: token shard version 2 is not supported", error.Message);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(1)]
    public void A_token_count_that_does_not_match_the_file_size_is_refused(int count)
    {
        var path = LlmcShard("short.bin", 20240520, 1, count, [1, 2], width: 2);

        var error = Assert.Throws<ShardFileException>(() => TokenShard.Open(path, 256, 0));

        Assert.StartsWith($"{path}: the header says {count} tokens of 2 bytes", error.Message);
        Assert.Contains("the file has 1028 bytes", error.Message);
    }

    [Fact]
    public void A_token_id_not_below_the_vocabulary_size_is_refused_with_its_position()
    {
        var tokens = Enumerable.Range(0, 5000).Select(i => (uint)(i % 256)).ToArray();
        tokens[4321] = 256;
        var path = LlmcShard("ids.bin", 20240520, 1, tokens.Length, tokens, width: 2);

        var error = Assert.Throws<ShardFileException>(() => TokenShard.Open(path, 256, 0));

        Assert.StartsWith($"{path}: token 4321 has id 256, not below the vocabulary size 256", error.Message);
    }

    [Fact]
    public void A_file_shorter_than_the_header_is_not_a_shard()
    {
        var path = _folder.Write("tiny.bin", "hello");

        var error = Assert.Throws<ShardFileException>(() => TokenShard.Open(path, 256, 0));

        Assert.StartsWith($"{path}: 5 bytes is shorter than a token shard's 1024-byte header", error.Message);
    }

    [Fact]
    public void Header_round_trips_what_NanoLlm_records_in_the_spare_slots()
    {
        var record = new ShardRecord(4096, 0xDEADBEEF, 5_000_000_000, null, 0x12345678, new SourcePosition(3, 6_000_000_000, 17, true));
        var header = new ShardHeader(2, 1000) { Record = record };
        var bytes = new byte[ShardHeader.Bytes];

        header.WriteTo(bytes);
        var read = ShardHeader.Read(bytes, "x.bin");

        Assert.Equal(header, read);
        Assert.Equal(20240520, BinaryPrimitives.ReadInt32LittleEndian(bytes));
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4)));
        Assert.Equal(1000, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)));
    }

    [Fact]
    public void A_shard_of_another_vocabulary_or_tokenizer_is_refused()
    {
        var record = new ShardRecord(512, 0xAAAA0001, 10, null, 1, default);
        var header = new ShardHeader(2, 2) { Record = record };
        var bytes = new byte[ShardHeader.Bytes + 4];
        header.WriteTo(bytes);
        var path = _folder.File("other.bin");
        File.WriteAllBytes(path, bytes);

        var vocabulary = Assert.Throws<ShardFileException>(() => TokenShard.Open(path, 256, 0xAAAA0001));
        var tokenizer = Assert.Throws<ShardFileException>(() => TokenShard.Open(path, 512, 0xBBBB0002));

        Assert.StartsWith($"{path}: written for a vocabulary of 512 tokens, the run's has 256", vocabulary.Message);
        Assert.StartsWith($"{path}: written by another tokenizer (fingerprint aaaa0001, the run's is bbbb0002)", tokenizer.Message);
        using var shard = TokenShard.Open(path, 512, 0xAAAA0001);
        Assert.Equal(2, shard.Length);
    }
}
