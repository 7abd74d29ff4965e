using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Interop;
using NanoLlm.Storage;
using NanoLlm.Training;

namespace NanoLlm.Convert;

/// <summary>
/// <c>convert import SOURCE WEIGHTS [--tokenizer FILE]</c>: a GPT-2 saved by another project — a Hugging Face directory
/// (config.json, model.safetensors, vocab.json, merges.txt) or llm.c's checkpoint (gpt2_124M.bin, its
/// gpt2_tokenizer.bin beside it unless <c>--tokenizer</c> names it) — becomes a NanoLlm weights file that chat and
/// training (<c>[training] init_from</c>) read.
/// <c>convert export WEIGHTS TARGET [--format hf|llmc]</c>: the reverse, for a GPT whose options GPT-2 can express: a
/// Hugging Face directory, or llm.c's checkpoint with gpt2_tokenizer.bin beside it (the default for a TARGET ending in
/// .bin). Exit codes: 0 done, 2 bad usage or an unusable or inconsistent file (one line naming it), 1 anything unexpected.
/// </summary>
public static class Program
{
    private const string Usage = "convert import SOURCE WEIGHTS [--tokenizer FILE] | convert export WEIGHTS TARGET [--format hf|llmc] [--verbose]";

    public static int Main(string[] args)
    {
        var verbose = args.Contains("--verbose");
        try
        {
            Console.Out.WriteLine(Run([.. args.Where(a => a != "--verbose")]));
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

    private static string Run(string[] args)
    {
        switch (args)
        {
            case ["import", var source, var weights, .. var options]:
                {
                    var tokenizer = Option(options, "--tokenizer");
                    var checkpoint = Gpt2Checkpoint.Read(source, tokenizer);
                    new Cortex(checkpoint.Model, checkpoint.Tokenizer).Save(weights);
                    var shape = Gpt2Shape.Of(checkpoint.Model, weights);
                    return string.Create(CultureInfo.InvariantCulture,
                        $"imported {source}: GPT-2 of {shape.Layers} layers, {shape.Heads} heads, {shape.Channels} wide, context {shape.ContextLength}, vocabulary {shape.VocabSize} (tokenizer {checkpoint.Tokenizer.PretrainedName ?? "from the source"}), {checkpoint.Model.Parameters.Count:N0} parameters -> {weights}");
                }
            case ["export", var weights, var target, .. var options]:
                {
                    var format = Option(options, "--format") ?? (target.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) ? "llmc" : "hf");
                    var cortex = Cortex.Load(weights);
                    var checkpoint = Gpt2Checkpoint.Of(cortex.Model, cortex.Tokenizer, weights);
                    switch (format)
                    {
                        case "hf":
                            checkpoint.WriteHuggingFace(target);
                            return $"exported {weights} as a Hugging Face GPT-2 directory: {target} (config.json, model.safetensors, generation_config.json, vocab.json, merges.txt)";
                        case "llmc":
                            checkpoint.WriteLlmc(target);
                            return $"exported {weights} as llm.c's checkpoint: {target} and {Path.Combine(Path.GetDirectoryName(Path.GetFullPath(target))!, Gpt2Checkpoint.LlmcTokenizerFile)}";
                        default:
                            throw new ConfigException($"--format {format}: the formats are hf (a Hugging Face directory) and llmc (llm.c's .bin)");
                    }
                }
            default:
                throw new ConfigException($"usage: {Usage}");
        }
    }

    // The value of option name in "--name value" pairs, null when absent; anything else is a usage error.
    private static string? Option(string[] options, string name)
    {
        if (options.Length == 0)
        {
            return null;
        }
        if (options.Length != 2 || options[0] != name)
        {
            throw new ConfigException($"unexpected {string.Join(" ", options)}: usage: {Usage}");
        }
        return options[1];
    }
}
