using System.Buffers.Binary;
using System.Text;
using NanoLlm.Interop;
using NanoLlm.Storage;
using NanoLlm.Tests.Support;
using NanoLlm.Tokenization;

namespace NanoLlm.Tests.Interop;

public sealed class Gpt2TokenizersTests : IDisposable
{
    private const string Sample = "ROMEO: But soft, what light through yonder window breaks?\n  It's the east, and Juliet is the sun!";
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void The_gpt2_vocabulary_round_trips_through_llm_c_and_Hugging_Face_files_as_the_shipped_one()
    {
        var gpt2 = Tokenizer.Pretrained("gpt2");

        Gpt2Tokenizers.WriteLlmc(_folder.File("gpt2_tokenizer.bin"), gpt2);
        Gpt2Tokenizers.WriteHuggingFace(_folder.File("hf"), gpt2);
        var fromLlmc = Gpt2Tokenizers.ReadLlmc(_folder.File("gpt2_tokenizer.bin"));
        var fromHuggingFace = Gpt2Tokenizers.ReadHuggingFace(_folder.File("hf"));

        Assert.Equal("gpt2", fromLlmc.PretrainedName);
        Assert.Equal("gpt2", fromHuggingFace.PretrainedName);
        Assert.Equal(50_000, File.ReadLines(_folder.File("hf/merges.txt")).Count() - 1);
        Assert.Equal("Ġ t", File.ReadLines(_folder.File("hf/merges.txt")).ElementAt(1));
        var bytes = File.ReadAllBytes(_folder.File("gpt2_tokenizer.bin"));
        Assert.Equal([20240328, 2, 50257, 50256], [.. Enumerable.Range(0, 4).Select(i => BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(i * 4)))]);
    }

    [Fact]
    public void A_vocabulary_that_is_not_gpt2s_reads_back_token_for_token()
    {
        var text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(Sample, 20)));
        var trained = Tokenizer.Train(text, 300, SplitPattern.Gpt2, [Tokenizer.EndOfTextSpelling]);

        Gpt2Tokenizers.WriteLlmc(_folder.File("tokenizer.bin"), trained);
        Gpt2Tokenizers.WriteHuggingFace(_folder.File("hf"), trained);
        var fromLlmc = Gpt2Tokenizers.ReadLlmc(_folder.File("tokenizer.bin"));
        var fromHuggingFace = Gpt2Tokenizers.ReadHuggingFace(_folder.File("hf"));

        foreach (var tokenizer in (Tokenizer[])[fromLlmc, fromHuggingFace])
        {
            Assert.Null(tokenizer.PretrainedName);
            Assert.Equal(trained.VocabSize, tokenizer.VocabSize);
            Assert.Equal(trained.EndOfText, tokenizer.EndOfText);
            Assert.Equal(trained.Encode(Sample), tokenizer.Encode(Sample));
        }
    }

    [Fact]
    public void Tokenizer_files_written_for_another_split_are_refused()
    {
        var trained = Tokenizer.Train(Encoding.UTF8.GetBytes(Sample), 270);

        var error = Assert.Throws<ArgumentException>(() => Gpt2Tokenizers.WriteHuggingFace(_folder.File("hf"), trained));

        Assert.Contains("split", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_llm_c_tokenizer_is_named()
    {
        Gpt2Tokenizers.WriteLlmc(_folder.File("tokenizer.bin"), Tokenizer.Pretrained("gpt2"));
        var bytes = File.ReadAllBytes(_folder.File("tokenizer.bin"));
        File.WriteAllBytes(_folder.File("short.bin"), bytes[..^3]);

        var error = Assert.Throws<WeightsFileException>(() => Gpt2Tokenizers.ReadLlmc(_folder.File("short.bin")));

        Assert.Contains("truncated: token 50256 of 50257", error.Message, StringComparison.Ordinal);
    }
}
