using NanoLlm.Config;
using NanoLlm.Data;
using NanoLlm.Tokenization;

namespace NanoLlm.Training;

/// <summary>
/// The corpus a run file names, as training and validation splits. <c>corpus</c> is UTF-8 text (read whole and
/// encoded), or, when it names <c>.bin</c> files, token shards written by <c>prepare</c> or by llm.c (read window by
/// window, never whole). <c>val_corpus</c>, when set, is the validation split (text or shards); otherwise the last
/// <c>val_fraction</c> of the corpus's tokens is.
/// </summary>
public sealed class TrainingCorpus : IDisposable
{
    /// <summary>The tokenizer of shards prepared with a trained vocabulary, beside them: its metadata JSON.</summary>
    public const string TokenizerFileName = "tokenizer.json";

    private readonly List<TokenShard> _shards;

    private TrainingCorpus(TokenSplit train, TokenSplit validation, List<TokenShard> shards)
    {
        (Train, Validation, _shards) = (train, validation, shards);
    }

    public TokenSplit Train { get; }

    public TokenSplit Validation { get; }

    public static bool IsShards(string corpus) => corpus.EndsWith(".bin", StringComparison.Ordinal);

    /// <summary>
    /// The tokenizer a fresh run starts with, as the run file's <c>[tokenizer]</c> describes it: bytes, a pretrained
    /// vocabulary, or merges learned on a text corpus, or, for shards of a learned vocabulary, read from
    /// <see cref="TokenizerFileName"/> beside them (where <c>prepare</c> wrote it).
    /// </summary>
    public static Tokenizer Tokenizer(RunConfig config)
    {
        var learned = config.Tokenizer.Kind == TokenizerSettings.BpeKind && config.Tokenizer.Pretrained is null;
        if (!learned || !IsShards(config.Training.Corpus))
        {
            return Cortex.BuildTokenizer(config, () => ReadText(config, "corpus", config.Training.Corpus));
        }
        var first = ShardPaths(config, "corpus", config.Training.Corpus)[0];
        var path = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(first) ?? ".", TokenizerFileName);
        Tokenization.Tokenizer tokenizer;
        try
        {
            tokenizer = Tokenization.Tokenizer.FromMetadata(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            throw new ConfigException(
                $"{config.Path}: [training] corpus: shards with vocab_size = {config.Model.VocabSize} need their tokenizer at {path} ({e.Message}): make prepare writes it", e);
        }
        if (tokenizer.VocabSize != config.Model.VocabSize)
        {
            throw new ConfigException(
                $"{config.Path}: [model] vocab_size is {config.Model.VocabSize}, the shards' tokenizer {path} has {tokenizer.VocabSize} tokens: set vocab_size = {tokenizer.VocabSize}");
        }
        return tokenizer;
    }

    /// <summary>Opens (shards) or reads and encodes (text) the run's corpus with <paramref name="tokenizer"/>.</summary>
    public static TrainingCorpus Open(RunConfig config, Tokenizer tokenizer)
    {
        var bytesPerToken = BytesPerToken(tokenizer);
        var shards = new List<TokenShard>();
        try
        {
            var all = Segments(config, "corpus", config.Training.Corpus, tokenizer, shards);
            TokenSplit train, validation;
            if (config.Training.ValCorpus.Length > 0)
            {
                train = new TokenSplit(all, bytesPerToken);
                validation = new TokenSplit(Segments(config, "val_corpus", config.Training.ValCorpus, tokenizer, shards), bytesPerToken);
            }
            else
            {
                (train, validation) = new TokenSplit(all, bytesPerToken).SplitOff(config.Training.ValFraction);
            }
            return new TrainingCorpus(train, validation, shards);
        }
        catch
        {
            shards.ForEach(s => s.Dispose());
            throw;
        }
    }

    public void Dispose() => _shards.ForEach(s => s.Dispose());

    private static List<TokenSegment> Segments(RunConfig config, string key, string corpus, Tokenizer tokenizer, List<TokenShard> opened)
    {
        if (!IsShards(corpus))
        {
            // Special tokens declared in the run file are matched in a text corpus (an <|endoftext|> between documents).
            return [TokenSegment.Whole(new MemoryTokens(ToUInt16(tokenizer.Encode(ReadText(config, key, corpus), SpecialTokenHandling.Allow))))];
        }
        var fingerprint = Fingerprint.Of(tokenizer.ToMetadata());
        var segments = new List<TokenSegment>();
        foreach (var path in ShardPaths(config, key, corpus))
        {
            var shard = TokenShard.Open(path, tokenizer.VocabSize, fingerprint);
            opened.Add(shard);
            segments.Add(TokenSegment.Whole(shard));
        }
        return segments;
    }

    private static string[] ShardPaths(RunConfig config, string key, string corpus)
    {
        try
        {
            return CorpusFiles.Resolve(corpus);
        }
        catch (FileNotFoundException e)
        {
            throw new ConfigException($"{config.Path}: [training] {key}: {e.Message}: run make prepare CONFIG={config.Path} first", e);
        }
    }

    private static byte[] ReadText(RunConfig config, string key, string corpus)
    {
        try
        {
            return File.ReadAllBytes(corpus);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var reason = e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : e.Message;
            throw new ConfigException($"{config.Path}: [training] {key}: cannot read {corpus} ({reason})", e);
        }
    }

    private static int[] BytesPerToken(Tokenizer tokenizer)
    {
        var lengths = new int[tokenizer.VocabSize];
        for (var token = 0; token < lengths.Length; token++)
        {
            lengths[token] = tokenizer.TokenBytes(token).Length;
        }
        return lengths;
    }

    private static ushort[] ToUInt16(int[] tokens)
    {
        var narrow = new ushort[tokens.Length];
        for (var i = 0; i < tokens.Length; i++)
        {
            narrow[i] = checked((ushort)tokens[i]);
        }
        return narrow;
    }
}
