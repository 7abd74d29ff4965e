using NanoLlm.Config;
using NanoLlm.Data;
using NanoLlm.Storage;
using NanoLlm.Tokenization;

namespace NanoLlm.Training;

/// <summary>
/// <c>prepare</c>: the run file's <c>[prepare]</c> section turned into token shards with the run's tokenizer, which
/// training then reads through <c>corpus = "…/train_*.bin"</c>. Bytes (<c>vocab_size = 256</c>) need nothing more; a
/// larger vocabulary is trained on the first <c>tokenizer_sample_bytes</c> of the input and written beside the shards
/// as <see cref="TrainingCorpus.TokenizerFileName"/>, where training finds it.
/// </summary>
public static class CorpusPreparation
{
    public static PrepareSummary Prepare(RunConfig config, int threads, Action<PrepareProgress>? progress, CancellationToken cancellation)
    {
        var settings = config.Prepare ?? throw new ConfigException(
            $"{config.Path}: no [prepare] section: add one with input = \"text files\" and output = \"a shard directory\"");
        var inputs = Files(config, "input", settings.Input);
        var heldOut = settings.ValInput.Length > 0 ? Files(config, "val_input", settings.ValInput) : [];
        var held = heldOut.Select(Path.GetFullPath).ToHashSet(StringComparer.Ordinal);
        var trainRanges = SourceRange.Whole(inputs.Where(f => !held.Contains(Path.GetFullPath(f))));
        var (train, validation) = heldOut.Length > 0
            ? (trainRanges, SourceRange.Whole(heldOut))
            : SourceRange.CutLast(trainRanges, settings.ValFraction);
        var tokenizer = Tokenizer(config, settings, train);
        List<ShardSplit> splits = [new("train", train)];
        if (validation.Length > 0)
        {
            splits.Add(new ShardSplit("val", validation));
        }
        var request = new PrepareRequest(settings.Output, splits, settings.ShardTokens, settings.DocumentSeparator, threads);
        return ShardPreparer.Prepare(request, new TokenizerTextEncoder(tokenizer), progress, cancellation);
    }

    // The run file's tokenizer; a learned vocabulary is trained on the first tokenizer_sample_bytes of the training
    // input and written beside the shards, where training finds it.
    private static Tokenizer Tokenizer(RunConfig config, PrepareSettings settings, IReadOnlyList<SourceRange> train)
    {
        var tokenizer = Cortex.BuildTokenizer(config, () => Sample(settings, train));
        if (config.Tokenizer.Kind == TokenizerSettings.BpeKind && config.Tokenizer.Pretrained is null)
        {
            var metadata = System.Text.Encoding.UTF8.GetBytes(tokenizer.ToMetadata());
            AtomicFile.Write(Path.Combine(settings.Output, TrainingCorpus.TokenizerFileName), stream => stream.Write(metadata));
        }
        return tokenizer;
    }

    private static byte[] Sample(PrepareSettings settings, IReadOnlyList<SourceRange> train)
    {
        var sample = new MemoryStream();
        foreach (var range in train)
        {
            using var stream = File.OpenRead(range.File);
            stream.Position = range.Start;
            var take = Math.Min(range.Length, settings.TokenizerSampleBytes - sample.Length);
            var buffer = new byte[take];
            stream.ReadExactly(buffer);
            sample.Write(buffer);
            if (sample.Length >= settings.TokenizerSampleBytes)
            {
                break;
            }
        }
        return sample.ToArray();
    }

    private static string[] Files(RunConfig config, string key, string pattern)
    {
        try
        {
            return CorpusFiles.Resolve(pattern);
        }
        catch (FileNotFoundException e)
        {
            throw new ConfigException($"{config.Path}: [prepare] {key}: {e.Message}", e);
        }
    }
}
