using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Storage;
using NanoLlm.Tokenization;

namespace NanoLlm.Interop;

/// <summary>
/// A GPT-2 as other projects save it, with its tokenizer: what <c>import</c> reads and <c>export</c> writes. The
/// source is told apart by what it is: a directory with <c>config.json</c> is Hugging Face's; a file starting with
/// llm.c's magic is llm.c's checkpoint, its tokenizer <c>gpt2_tokenizer.bin</c> beside it unless given.
/// </summary>
public sealed record Gpt2Checkpoint(GptModel Model, Tokenizer Tokenizer)
{
    public const string LlmcTokenizerFile = "gpt2_tokenizer.bin";

    /// <summary>Reads <paramref name="source"/>; anything unusable or inconsistent is a <see cref="WeightsFileException"/> naming it.</summary>
    /// <param name="tokenizerPath">llm.c's tokenizer file when not <c>gpt2_tokenizer.bin</c> beside the checkpoint.</param>
    public static Gpt2Checkpoint Read(string source, string? tokenizerPath = null)
    {
        GptModel model;
        Tokenizer tokenizer;
        if (Directory.Exists(source))
        {
            if (!HuggingFaceGpt2.IsModelDirectory(source))
            {
                throw new WeightsFileException($"{source}: a directory without {HuggingFaceGpt2.ConfigFile}: NanoLlm imports Hugging Face GPT-2 directories (config.json, model.safetensors, vocab.json + merges.txt or tokenizer.json)");
            }
            model = HuggingFaceGpt2.ReadModel(source);
            tokenizer = Gpt2Tokenizers.ReadHuggingFace(source);
        }
        else if (LlmcGpt2.IsCheckpoint(source))
        {
            model = LlmcGpt2.ReadModel(source);
            tokenizer = Gpt2Tokenizers.ReadLlmc(tokenizerPath ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(source))!, LlmcTokenizerFile));
        }
        else if (File.Exists(source))
        {
            var pickle = Path.GetFileName(source) == HuggingFaceGpt2.PickleFile || source.EndsWith(".pt", StringComparison.Ordinal) || source.EndsWith(".pth", StringComparison.Ordinal);
            throw new WeightsFileException(pickle
                ? $"{source}: a PyTorch pickle, which NanoLlm never loads (unpickling runs code): convert it to {HuggingFaceGpt2.WeightsFile} first (transformers: model.save_pretrained(dir, safe_serialization=True))"
                : $"{source}: neither a Hugging Face GPT-2 directory nor an llm.c checkpoint (magic {LlmcGpt2.Magic})");
        }
        else
        {
            throw new WeightsFileException($"{source}: file or directory not found");
        }
        if (tokenizer.VocabSize != model.Spec.VocabSize)
        {
            throw new WeightsFileException($"{source}: the model has {model.Spec.VocabSize} tokens, its tokenizer {tokenizer.VocabSize}");
        }
        return new Gpt2Checkpoint(model, tokenizer);
    }

    /// <summary>
    /// The GPT-2 form of a NanoLlm model and tokenizer, or a <see cref="ConfigException"/> saying why it has none
    /// (another model, sinusoidal positions, a tokenizer that does not split text as GPT-2 does).
    /// </summary>
    public static Gpt2Checkpoint Of(ILanguageModel model, Tokenizer tokenizer, string origin)
    {
        Gpt2Shape.Of(model, origin);
        if (tokenizer.Split != SplitPattern.Gpt2)
        {
            throw new ConfigException(
                $"{origin}: the tokenizer splits text by {SplitPatterns.Name(tokenizer.Split)}; GPT-2's formats need GPT-2's split (train with the gpt2 split or the gpt2 vocabulary)");
        }
        return new Gpt2Checkpoint((GptModel)model, tokenizer);
    }

    /// <summary>A Hugging Face directory: config.json, model.safetensors, generation_config.json, vocab.json, merges.txt.</summary>
    public void WriteHuggingFace(string directory)
    {
        HuggingFaceGpt2.WriteModel(directory, Model, Gpt2Shape.Of(Model, directory), Tokenizer.EndOfText);
        Gpt2Tokenizers.WriteHuggingFace(directory, Tokenizer);
    }

    /// <summary>llm.c's float32 checkpoint at <paramref name="path"/> and its <c>gpt2_tokenizer.bin</c> beside it.</summary>
    public void WriteLlmc(string path)
    {
        var shape = Gpt2Shape.Of(Model, path);
        if (!shape.TiedHead || shape.FeedForwardSize != 4 * shape.Channels)
        {
            throw new ConfigException($"{path}: llm.c's GPT-2 ties its head to the token embedding and has a feed-forward of 4·C: train with tie_embeddings = true and ffn_ratio = 4 to export to it");
        }
        LlmcGpt2.WriteModel(path, Model, shape);
        Gpt2Tokenizers.WriteLlmc(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, LlmcTokenizerFile), Tokenizer);
    }
}
