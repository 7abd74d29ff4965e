using System.Globalization;
using System.Text;
using NanoLlm.Config;
using NanoLlm.Storage;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.Tokenize;

/// <summary>
/// <c>tokenize CONFIG --text TEXT [--set section.key=value …] [--verbose]</c>: shows what the run file's tokenizer
/// does to a text: the pieces its split pattern cuts, then the token ids, then each token with the text it spells.
/// A learned vocabulary comes from the weights file when there is one (the tokenizer the model was trained with),
/// else it is learned on the corpus as training would. Special tokens in the text are matched. Exit codes: 0 done,
/// 2 bad usage, run file or weights file, 1 anything unexpected.
/// </summary>
public static class Program
{
    private const string Usage = "tokenize CONFIG --text TEXT [--set section.key=value ...] [--verbose]";

    public static int Main(string[] args)
    {
        var verbose = args.Contains("--verbose");
        try
        {
            var commandLine = CommandLine.Parse(args, Usage, "--text");
            if (!commandLine.Options.TryGetValue("--text", out var text))
            {
                throw new ConfigException($"no text given. Usage: {Usage}");
            }
            var config = RunConfigLoader.Load(commandLine.ConfigPath, commandLine.Overrides);
            var learned = config.Tokenizer.Kind == TokenizerSettings.BpeKind && config.Tokenizer.Pretrained is null;
            var tokenizer = learned && File.Exists(config.Weights.Path)
                ? Cortex.Load(config.Weights.Path).Tokenizer
                : Cortex.BuildTokenizer(config);

            var pieces = tokenizer.SplitIntoPieces(text, SpecialTokenHandling.Allow);
            var ids = tokenizer.Encode(text, SpecialTokenHandling.Allow);
            var output = new StringBuilder();
            output.Append(CultureInfo.InvariantCulture, $"pieces ({pieces.Count}): ").AppendJoin(" ", pieces.Select(p => Quote(Encoding.UTF8.GetBytes(p)))).Append('\n');
            output.Append(CultureInfo.InvariantCulture, $"ids ({ids.Length}): ").AppendJoin(" ", ids).Append('\n');
            foreach (var id in ids)
            {
                output.Append(CultureInfo.InvariantCulture, $"{id,8}  {Quote(tokenizer.TokenBytes(id))}\n");
            }
            Console.Out.Write(output);
            return 0;
        }
        catch (Exception e) when (e is ConfigException or WeightsFileException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: unexpected failure: {e.Message}{(verbose ? Environment.NewLine + e : " (run with --verbose for details)")}");
            return 1;
        }
    }

    /// <summary>The bytes as a quoted string: control characters escaped, bytes that are not whole UTF-8 as \xNN.</summary>
    private static string Quote(ReadOnlySpan<byte> bytes)
    {
        var quoted = new StringBuilder("\"");
        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out var rune, out var length) != System.Buffers.OperationStatus.Done)
            {
                quoted.Append(CultureInfo.InvariantCulture, $"\\x{bytes[0]:X2}");
                bytes = bytes[1..];
                continue;
            }
            quoted.Append(rune.Value switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '"' => "\\\"",
                '\\' => "\\\\",
                _ when Rune.IsControl(rune) => $"\\u{rune.Value:X4}",
                _ => rune.ToString(),
            });
            bytes = bytes[length..];
        }
        return quoted.Append('"').ToString();
    }
}
