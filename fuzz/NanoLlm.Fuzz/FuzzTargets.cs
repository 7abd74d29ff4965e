using System.Text;
using NanoLlm.Chat.Tui;
using NanoLlm.Config;
using NanoLlm.Storage;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.Fuzz;

/// <summary>Every entry point that reads outside input, one line each: adding a reader means adding its line here.</summary>
public static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("safetensors", SafeTensorsFile, Seeds.WeightsFiles, typeof(WeightsFileException)),
        new("weights", WeightsFile, Seeds.WeightsFiles, typeof(WeightsFileException)),
        new("checkpoint", CheckpointFile, Seeds.Checkpoints, typeof(WeightsFileException), typeof(ConfigException)),
        new("run-file", RunFile, Seeds.RunFiles, typeof(ConfigException)),
        new("tokenizer", TokenizerMetadata, Seeds.TokenizerMetadata, typeof(FormatException)),
        new("tiktoken", TiktokenFile, Seeds.TiktokenFiles, typeof(FormatException)),
        new("hf-vocab", HuggingFaceFiles, Seeds.HuggingFaceFiles, typeof(FormatException)),
        new("hf-tokenizer-json", HuggingFaceTokenizerJson, Seeds.HuggingFaceTokenizerJson, typeof(FormatException)),
        new("slash-command", SlashCommandLine, Seeds.SlashCommands),
        new("decode", DecodeIds, Seeds.TokenIds),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);

    private const string InputName = "input.safetensors";

    private static void SafeTensorsFile(byte[] input)
    {
        var file = SafeTensors.Read(new MemoryStream(input, writable: false), InputName);
        foreach (var name in file.Names)
        {
            _ = file.Shape(name);
            _ = file.ToArray(name);
        }
    }

    // A file that loads must also generate: its parameters are finite and its tokenizer spells every token.
    private static void WeightsFile(byte[] input)
    {
        var cortex = Cortex.FromFile(SafeTensors.Read(new MemoryStream(input, writable: false), InputName), InputName);
        _ = string.Concat(cortex.Generate("a", new SamplingSettings(MaxNewTokens: 4, Temperature: 0)));
    }

    private static void CheckpointFile(byte[] input) =>
        Checkpoint.Read(SafeTensors.Read(new MemoryStream(input, writable: false), InputName), InputName, Seeds.CheckpointRunConfig);

    // The run file's text, then optionally a NUL and one --set override a line.
    private static void RunFile(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        var split = text.IndexOf('\0', StringComparison.Ordinal);
        var overrides = split < 0 ? [] : text[(split + 1)..].Split('\n');
        RunConfigLoader.Parse(split < 0 ? text : text[..split], "input.toml", overrides);
    }

    private static void TokenizerMetadata(byte[] input)
    {
        var tokenizer = Tokenizer.FromMetadata(Encoding.UTF8.GetString(input));
        _ = tokenizer.Decode([tokenizer.VocabSize - 1]);
    }

    // A ranks file that reads must also encode: every rank's spelling is a token of its own.
    private static void TiktokenFile(byte[] input)
    {
        var ranks = TiktokenRanks.Read(new MemoryStream(input, writable: false), "input.tiktoken");
        var tokenizer = Tokenizer.FromRanks(SplitPattern.Gpt2, ranks, null, []);
        _ = tokenizer.Decode(tokenizer.Encode("ab ab"));
    }

    // vocab.json, a NUL, merges.txt: written to a temporary folder, since the reader takes paths. A special token of the
    // file may spell part of the text: it is allowed there, since refusing such text is the caller's choice.
    private static void HuggingFaceFiles(byte[] input)
    {
        var split = Array.IndexOf(input, (byte)0);
        var folder = Directory.CreateTempSubdirectory("nanollm-fuzz-");
        try
        {
            var vocab = Path.Combine(folder.FullName, "vocab.json");
            var merges = Path.Combine(folder.FullName, "merges.txt");
            File.WriteAllBytes(vocab, split < 0 ? input : input[..split]);
            File.WriteAllBytes(merges, split < 0 ? [] : input[(split + 1)..]);
            var tokenizer = Tokenizer.FromHuggingFaceFiles(vocab, merges);
            _ = tokenizer.Decode(tokenizer.Encode("ab ab", SpecialTokenHandling.Allow));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    // A tokenizer.json, written to a temporary folder, since the reader takes a path; special tokens allowed, as above.
    private static void HuggingFaceTokenizerJson(byte[] input)
    {
        var folder = Directory.CreateTempSubdirectory("nanollm-fuzz-");
        try
        {
            var path = Path.Combine(folder.FullName, "tokenizer.json");
            File.WriteAllBytes(path, input);
            var tokenizer = Tokenizer.FromHuggingFaceTokenizerFile(path);
            _ = tokenizer.Decode(tokenizer.Encode("ab ab", SpecialTokenHandling.Allow));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    // Never throws: every line is a command, or a refusal with its reason.
    private static void SlashCommandLine(byte[] input)
    {
        var command = SlashCommand.Parse(Encoding.UTF8.GetString(input), new SamplingSettings());
        if (command.Message.Length == 0)
        {
            throw new FuzzContractException("slash-command: a command answered with no message");
        }
    }

    // The ids as 16-bit then as 32-bit little-endian numbers, on a tokenizer with merges: the one exception allowed is
    // ArgumentOutOfRangeException, and only when an id is out of range.
    private static void DecodeIds(byte[] input)
    {
        var tokenizer = Seeds.Tokenizer;
        var shorts = new ushort[input.Length / 2];
        Buffer.BlockCopy(input, 0, shorts, 0, shorts.Length * 2);
        try
        {
            _ = tokenizer.Decode(shorts);
        }
        catch (ArgumentOutOfRangeException) when (shorts.Any(id => id >= tokenizer.VocabSize))
        {
        }
        var ints = new int[input.Length / 4];
        Buffer.BlockCopy(input, 0, ints, 0, ints.Length * 4);
        try
        {
            _ = tokenizer.Decode(ints);
        }
        catch (ArgumentOutOfRangeException) when (ints.Any(id => (uint)id >= (uint)tokenizer.VocabSize))
        {
        }
    }
}
