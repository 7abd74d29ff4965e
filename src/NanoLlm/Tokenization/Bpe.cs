using System.Buffers;
using System.Numerics;
using System.Text;

namespace NanoLlm.Tokenization;

/// <summary>
/// Byte-level byte-pair encoding, as minbpe's basic tokenizer: tokens 0–255 are the bytes of UTF-8 text, and each merge
/// <c>i</c> makes token <c>256 + i</c> stand for the pair of earlier tokens it joins. Training learns the merges from a
/// text; encoding applies them by rank; decoding concatenates token bytes and reads them as UTF-8. Immutable, so one
/// instance can serve any number of threads.
/// </summary>
public sealed class Bpe
{
    /// <summary>The tokens every tokenizer starts with: one per byte value.</summary>
    public const int ByteCount = 256;

    /// <summary>The most tokens a tokenizer can have: token ids are stored as <see cref="ushort"/>.</summary>
    public const int MaxVocabSize = ushort.MaxValue + 1;

    private readonly TokenPair[] _merges;

    // Token t spells _tokenBytes[_tokenStarts[t] .. _tokenStarts[t + 1]].
    private readonly byte[] _tokenBytes;
    private readonly int[] _tokenStarts;
    private readonly int[] _tokenLengths;

    // The pairs of bytes that some token spells side by side: a merge never joins tokens across any other pair.
    private readonly BytePairSet _joinedBytePairs = new();

    // The rank of each merge by its pair; the merge of rank r makes token 256 + r.
    private readonly MergeRanks _ranks;

    /// <param name="merges">Validated: each pair uses only tokens defined before it, no pair twice, at most 65 280 merges.</param>
    private Bpe(TokenPair[] merges)
    {
        _merges = merges;
        Merges = Array.AsReadOnly(merges);
        _ranks = new MergeRanks(merges);

        // A merge only joins earlier tokens, so one pass in id order finds every length and a second spells every token.
        _tokenStarts = new int[VocabSize + 1];
        for (var token = 0; token < VocabSize; token++)
        {
            var length = token < ByteCount ? 1 : TokenLength(merges[token - ByteCount].Left) + TokenLength(merges[token - ByteCount].Right);
            _tokenStarts[token + 1] = checked(_tokenStarts[token] + length);
        }
        _tokenLengths = new int[VocabSize];
        for (var token = 0; token < VocabSize; token++)
        {
            _tokenLengths[token] = TokenLength(token);
        }
        _tokenBytes = new byte[_tokenStarts[VocabSize]];
        for (var token = 0; token < VocabSize; token++)
        {
            var spelling = _tokenBytes.AsSpan(_tokenStarts[token], TokenLength(token));
            if (token < ByteCount)
            {
                spelling[0] = (byte)token;
            }
            else
            {
                var (left, right) = merges[token - ByteCount];
                TokenBytes(left).CopyTo(spelling);
                TokenBytes(right).CopyTo(spelling[TokenLength(left)..]);
                // The one pair of bytes this token spells side by side that its two parts do not.
                _joinedBytePairs.Add(TokenBytes(left)[^1], TokenBytes(right)[0]);
            }
        }
    }

    /// <summary>The byte tokenizer: 256 tokens, no merges.</summary>
    public static Bpe ByteLevel { get; } = new([]);

    /// <summary>256 plus one token per merge.</summary>
    public int VocabSize => ByteCount + _merges.Length;

    /// <summary>The merges in the order they were learned; merge <c>i</c> makes token <c>256 + i</c>.</summary>
    public IReadOnlyList<TokenPair> Merges { get; }

    /// <summary>
    /// Learns merges from <paramref name="text"/> until there are <paramref name="vocabSize"/> tokens. Each step merges
    /// the pair of adjacent tokens that occurs most often, counted at every position (so "aaa" holds (a, a) twice);
    /// among equally frequent pairs the smallest (left, right) wins, comparing left tokens first. The pair's occurrences
    /// are replaced left to right without overlap ("aaa" becomes X a). Training stops early, with fewer tokens than
    /// asked, once no pair occurs at least twice. Counts are updated incrementally, so it takes about a second for 4 096
    /// tokens on a megabyte of text.
    /// </summary>
    /// <param name="vocabSize">From 256 (no merges) to 65 536.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="vocabSize"/> is outside 256 … 65 536.</exception>
    public static Bpe Train(ReadOnlySpan<byte> text, int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, ByteCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(vocabSize, MaxVocabSize);
        return new Bpe(BpeTrainer.Train(text, vocabSize - ByteCount));
    }

    /// <summary>A tokenizer on merges already learned and validated (each uses only earlier tokens, none twice).</summary>
    internal static Bpe FromMerges(TokenPair[] merges) => new(merges);

    /// <summary>The rank of the merge of (<paramref name="left"/>, <paramref name="right"/>), if there is one.</summary>
    internal bool TryGetMergeRank(int left, int right, out int rank)
    {
        rank = _ranks.Of(left, right);
        return rank != MergeRanks.None;
    }

    /// <summary>Encodes the UTF-8 bytes of <paramref name="text"/> (a lone surrogate becomes U+FFFD, as UTF-8 requires).</summary>
    public ushort[] Encode(string text) => Encode(Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// Applies the merges in the order they were learned, each to every occurrence left to right without overlap,
    /// exactly as training did, in time linear in the input (see <see cref="BpeEncoder"/>).
    /// </summary>
    public ushort[] Encode(ReadOnlySpan<byte> bytes) => Encode(bytes, BpeEncoder.BlockLength);

    /// <summary>Encodes in blocks of at least <paramref name="blockLength"/> bytes, cut where no merge can cross.</summary>
    internal ushort[] Encode(ReadOnlySpan<byte> bytes, int blockLength) =>
        new BpeEncoder(_merges, _ranks, _tokenLengths, _joinedBytePairs, blockLength).Encode(bytes);

    /// <summary>The text the tokens spell; bytes that are not valid UTF-8 (a character split across calls) become U+FFFD.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A token is not below <see cref="VocabSize"/>.</exception>
    public string Decode(ReadOnlySpan<ushort> tokens) => DecodeTokens(tokens);

    /// <inheritdoc cref="Decode(ReadOnlySpan{ushort})"/>
    public string Decode(ReadOnlySpan<int> tokens) => DecodeTokens(tokens);

    /// <summary>The bytes a token stands for: one for tokens below 256, those of its merged pair above.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="token"/> is not below <see cref="VocabSize"/>.</exception>
    public ReadOnlySpan<byte> TokenBytes(int token)
    {
        if ((uint)token >= (uint)VocabSize)
        {
            throw new ArgumentOutOfRangeException(nameof(token), token, $"Token ids of this tokenizer are 0 to {VocabSize - 1}.");
        }
        return _tokenBytes.AsSpan(_tokenStarts[token], TokenLength(token));
    }

    /// <summary>The merges as compact JSON, for a weights file's metadata: <c>{"type":"byte_bpe","merges":[[97,98],[256,99]]}</c>.</summary>
    public string ToMetadata() => BpeMetadata.Write(_merges);

    /// <summary>Reads what <see cref="ToMetadata"/> wrote.</summary>
    /// <exception cref="FormatException">The text is not valid JSON, not in that shape, or its merges are not a valid
    /// tokenizer: a merge uses a token not defined before it, repeats an earlier pair, or there are more than 65 280.</exception>
    public static Bpe FromMetadata(string metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return new Bpe(BpeMetadata.ReadMerges(metadata));
    }

    private int TokenLength(int token) => _tokenStarts[token + 1] - _tokenStarts[token];

    private string DecodeTokens<T>(ReadOnlySpan<T> tokens)
        where T : IBinaryInteger<T>
    {
        var length = 0;
        foreach (var token in tokens)
        {
            length = checked(length + TokenBytes(int.CreateSaturating(token)).Length);
        }
        var bytes = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = 0;
            foreach (var token in tokens)
            {
                var spelling = TokenBytes(int.CreateSaturating(token));
                spelling.CopyTo(bytes.AsSpan(written));
                written += spelling.Length;
            }
            // Encoding.UTF8 replaces invalid sequences with U+FFFD rather than throwing.
            return Encoding.UTF8.GetString(bytes, 0, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}
