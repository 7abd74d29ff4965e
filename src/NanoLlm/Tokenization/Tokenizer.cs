using System.Runtime.InteropServices;
using System.Text;

namespace NanoLlm.Tokenization;

/// <summary>
/// Text ⇄ token ids. Text is cut into pieces by a <see cref="SplitPattern"/>, each piece's UTF-8 bytes are byte-pair
/// encoded, and special tokens such as <c>&lt;|endoftext|&gt;</c> are matched before splitting when the caller allows
/// it. The byte-pair vocabulary is either learned here (<see cref="Train"/>: merges, applied lowest merge first as
/// minbpe does) or pretrained (<see cref="Pretrained"/>, <see cref="FromTiktokenFile"/>, <see cref="FromHuggingFaceFiles"/>,
/// <see cref="FromHuggingFaceTokenizerFile"/>: ranks, applied lowest rank first as tiktoken does). Immutable: one instance serves any number of threads.
/// </summary>
public sealed class Tokenizer
{
    private const int NoRank = int.MaxValue;

    // Pieces up to this many bytes are merged in stack memory; longer ones rent arrays.
    private const int StackPieceLength = 256;

    private readonly Bpe? _merges;
    private readonly ByteSequenceTable? _ranks;
    private readonly int[] _byteTokens = new int[256];
    private readonly SpecialToken[] _specials;
    private readonly byte[][] _specialBytes;
    private readonly Dictionary<int, int> _specialIndexOfId = [];

    private Tokenizer(SplitPattern split, Bpe? merges, ByteSequenceTable? ranks, string? pretrainedName, IReadOnlyList<SpecialToken> specials)
    {
        Split = split;
        _merges = merges;
        _ranks = ranks;
        PretrainedName = pretrainedName;
        var baseCount = merges?.VocabSize ?? ranks!.IdCount;
        for (var b = 0; b < 256; b++)
        {
            if (merges is not null)
            {
                _byteTokens[b] = b;
            }
            else if (!ranks!.TryGetId([(byte)b], out _byteTokens[b]))
            {
                throw new FormatException($"byte {b} has no token, so some texts could not be encoded");
            }
        }
        _specials = [.. specials];
        _specialBytes = new byte[_specials.Length][];
        var vocabSize = baseCount;
        for (var i = 0; i < _specials.Length; i++)
        {
            var (text, id) = _specials[i];
            if (text.Length == 0)
            {
                throw new FormatException("a special token needs a spelling");
            }
            _specialBytes[i] = Encoding.UTF8.GetBytes(text);
            if (id < 0 || (id < baseCount && !TokenBytes(id).IsEmpty))
            {
                throw new FormatException($"special token {TokenQuoting.Quote(text)} has id {id}, which the vocabulary already uses");
            }
            if (!_specialIndexOfId.TryAdd(id, i))
            {
                throw new FormatException($"special tokens {TokenQuoting.Quote(_specials[_specialIndexOfId[id]].Text)} and {TokenQuoting.Quote(text)} have the same id {id}");
            }
            if (Array.FindIndex(_specials, 0, i, s => s.Text == text) >= 0)
            {
                throw new FormatException($"special token {TokenQuoting.Quote(text)} is declared twice");
            }
            if (LooksUp(_specialBytes[i]))
            {
                throw new FormatException($"special token {TokenQuoting.Quote(text)} spells a token of the vocabulary");
            }
            vocabSize = Math.Max(vocabSize, id + 1);
        }
        VocabSize = vocabSize;
        EndOfText = Array.Find(_specials, s => s.Text == EndOfTextSpelling) is { Text: not null } end ? end.Id : (int?)null;
    }

    /// <summary>The spelling of the end-of-text marker GPT-2 and tiktoken's vocabularies use.</summary>
    public const string EndOfTextSpelling = "<|endoftext|>";

    /// <summary>The byte tokenizer: 256 tokens, no split, no merges, no special tokens.</summary>
    public static Tokenizer ByteLevel { get; } = new(SplitPattern.None, Bpe.ByteLevel, null, null, []);

    public SplitPattern Split { get; }

    /// <summary>One more than the highest token id, special tokens included.</summary>
    public int VocabSize { get; }

    public IReadOnlyList<SpecialToken> SpecialTokens => _specials;

    /// <summary>The id of <c>&lt;|endoftext|&gt;</c> when the tokenizer has it.</summary>
    public int? EndOfText { get; }

    /// <summary><c>gpt2</c>, <c>cl100k_base</c> or <c>o200k_base</c> for a shipped vocabulary; null otherwise.</summary>
    public string? PretrainedName { get; }

    /// <summary>Whether the byte-pair vocabulary was learned here (merges) rather than loaded (ranks).</summary>
    public bool IsTrained => _merges is not null;

    /// <summary>The merges learned, in order (merge <c>i</c> makes token <c>256 + i</c>); empty for a pretrained vocabulary.</summary>
    public IReadOnlyList<TokenPair> Merges => _merges?.Merges ?? [];

    /// <summary>
    /// Learns byte-pair merges on <paramref name="text"/> until there are <paramref name="vocabSize"/> tokens, special
    /// tokens included (they take the last ids). Pairs are counted only inside the pieces of <paramref name="split"/>,
    /// identical pieces once with their count; the spellings of the special tokens are cut out of the text first.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="vocabSize"/> leaves no room for 256 bytes and the special tokens, or exceeds 65 536.</exception>
    /// <exception cref="FormatException">A special token is empty, declared twice, or spells a learned token.</exception>
    public static Tokenizer Train(ReadOnlySpan<byte> text, int vocabSize, SplitPattern split = SplitPattern.None, IReadOnlyList<string>? specialTokens = null)
    {
        specialTokens ??= [];
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, Bpe.ByteCount + specialTokens.Count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(vocabSize, Bpe.MaxVocabSize);
        var mergeCount = vocabSize - Bpe.ByteCount - specialTokens.Count;
        var segments = SplitAtSpecials(text, [.. specialTokens.Select(Encoding.UTF8.GetBytes)]);
        var bpe = split == SplitPattern.None && segments.Count == 1
            ? Bpe.Train(text, Bpe.ByteCount + mergeCount)
            : Bpe.FromMerges(BpeTrainer.TrainOnPieces(text, segments, split, mergeCount));
        var specials = specialTokens.Select((s, i) => new SpecialToken(s, bpe.VocabSize + i)).ToArray();
        return new Tokenizer(split, bpe, null, null, specials);
    }

    /// <summary>A tokenizer on learned <paramref name="merges"/>, as <see cref="Train"/> makes.</summary>
    internal static Tokenizer FromMerges(SplitPattern split, Bpe merges, IReadOnlyList<SpecialToken> specials) =>
        new(split, merges, null, null, specials);

    /// <summary>
    /// A vocabulary shipped with NanoLlm: <c>gpt2</c>, <c>cl100k_base</c> or <c>o200k_base</c>, with its own split pattern
    /// and special tokens, plus <paramref name="extraSpecialTokens"/> (one of its own keeps its id; others get new ids after the last).
    /// </summary>
    /// <exception cref="ArgumentException">The name is not one of those.</exception>
    /// <exception cref="FormatException">An extra special token spells a token of the vocabulary.</exception>
    public static Tokenizer Pretrained(string name, IReadOnlyList<string>? extraSpecialTokens = null)
    {
        var vocabulary = PretrainedVocabularies.Get(name);
        return new Tokenizer(vocabulary.Split, null, vocabulary.Ranks, name, WithExtras(vocabulary.Specials, vocabulary.Ranks.IdCount, extraSpecialTokens));
    }

    /// <summary>Whether <paramref name="name"/> is one of the vocabularies <see cref="Pretrained"/> knows.</summary>
    public static bool IsShippedVocabulary(string name) => PretrainedVocabularies.IsName(name);

    /// <summary>A tiktoken ranks file (a base64 token and its rank per line), split by <paramref name="split"/>.</summary>
    /// <exception cref="FormatException">The file is not a valid ranks file; the message names the line.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static Tokenizer FromTiktokenFile(string path, SplitPattern split, IReadOnlyList<string>? specialTokens = null)
    {
        using var stream = File.OpenRead(path);
        var ranks = TiktokenRanks.Read(stream, path);
        return new Tokenizer(RequireSplit(split), null, ranks, null, WithExtras([], ranks.IdCount, specialTokens));
    }

    /// <summary>
    /// A Hugging Face byte-level BPE pair (<c>vocab.json</c> and <c>merges.txt</c>, with GPT-2's byte-to-unicode
    /// mapping): token ids from the vocabulary, merge order from the merges; vocabulary entries that no merge makes
    /// (such as <c>&lt;|endoftext|&gt;</c>) become special tokens.
    /// </summary>
    /// <exception cref="FormatException">The files are not a valid pair; the message names the file and line.</exception>
    /// <exception cref="IOException">A file cannot be read.</exception>
    public static Tokenizer FromHuggingFaceFiles(string vocabPath, string mergesPath, SplitPattern split = SplitPattern.Gpt2, IReadOnlyList<string>? specialTokens = null)
    {
        var (ranks, specials) = HuggingFaceBpe.Read(vocabPath, mergesPath);
        return new Tokenizer(RequireSplit(split), null, ranks, null, WithExtras(specials, Math.Max(ranks.IdCount, specials.Count == 0 ? 0 : specials.Max(s => s.Id) + 1), specialTokens));
    }

    /// <summary>
    /// The byte-level BPE of a Hugging Face <c>tokenizer.json</c> as GPT-2 saves it: ids from <c>model.vocab</c>, merge
    /// order from <c>model.merges</c> ("left right" strings or [left, right] arrays), GPT-2's split (the byte-level
    /// pre-tokenizer's), and <c>added_tokens</c> (such as <c>&lt;|endoftext|&gt;</c>) as special tokens, plus
    /// <paramref name="specialTokens"/> (one it already has keeps its id; others get new ids after the last).
    /// </summary>
    /// <exception cref="FormatException">
    /// The file is not GPT-2-style byte-level BPE (another model, a normalizer, a prefix space, another pre-tokenizer) or
    /// not a valid one; the message names the file and key.
    /// </exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static Tokenizer FromHuggingFaceTokenizerFile(string path, IReadOnlyList<string>? specialTokens = null)
    {
        var (ranks, specials) = HuggingFaceBpe.ReadTokenizerJson(path);
        try
        {
            return new Tokenizer(SplitPattern.Gpt2, null, ranks, null, WithExtras(specials, ranks.IdCount, specialTokens));
        }
        catch (FormatException e)
        {
            throw new FormatException($"{path}: added_tokens: {e.Message}", e);
        }
    }

    /// <summary>The UTF-8 bytes of <paramref name="text"/> as tokens (a lone surrogate is U+FFFD, as UTF-8 requires).</summary>
    /// <exception cref="ArgumentException">With <see cref="SpecialTokenHandling.Refuse"/>, the text holds a special token's spelling.</exception>
    public int[] Encode(string text, SpecialTokenHandling specials = SpecialTokenHandling.Refuse) =>
        Encode(Encoding.UTF8.GetBytes(text), specials);

    /// <inheritdoc cref="Encode(string, SpecialTokenHandling)"/>
    public int[] Encode(ReadOnlySpan<byte> utf8, SpecialTokenHandling specials = SpecialTokenHandling.Refuse)
    {
        var tokens = new TokenBuffer(utf8.Length / 3 + 8);
        Encode(utf8, specials, ref tokens);
        return tokens.ToArray();
    }

    /// <summary>
    /// Encodes <paramref name="utf8"/> into <paramref name="tokens"/> and returns how many ids it wrote. No token stands
    /// for less than one byte, so a buffer of <c>utf8.Length</c> ids always has room: one buffer the size of the
    /// longest text serves every call, with no allocation.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="tokens"/> is shorter than <paramref name="utf8"/>; or, with
    /// <see cref="SpecialTokenHandling.Refuse"/>, the text holds a special token's spelling.</exception>
    public int Encode(ReadOnlySpan<byte> utf8, Span<int> tokens, SpecialTokenHandling specials = SpecialTokenHandling.Refuse)
    {
        if (tokens.Length < utf8.Length)
        {
            throw new ArgumentException($"The buffer holds {tokens.Length} ids; a text of {utf8.Length} bytes may need as many", nameof(tokens));
        }
        var buffer = new TokenBuffer(tokens);
        Encode(utf8, specials, ref buffer);
        return buffer.Count;
    }

    /// <summary>
    /// The pieces the split pattern cuts <paramref name="text"/> into, each as its own string (a piece that splits a
    /// character of invalid UTF-8 shows U+FFFD), special tokens per <paramref name="specials"/> as pieces of their own.
    /// </summary>
    public IReadOnlyList<string> SplitIntoPieces(string text, SpecialTokenHandling specials = SpecialTokenHandling.AsText)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        var pieces = new List<string>();
        var position = 0;
        while (position < utf8.Length)
        {
            var (index, special) = _specials.Length == 0 || specials == SpecialTokenHandling.AsText ? (-1, -1) : FindSpecial(utf8, position);
            var end = index < 0 ? utf8.Length : index;
            foreach (var (start, length) in PreTokenizer.Pieces(utf8.AsSpan(position, end - position), Split))
            {
                pieces.Add(Encoding.UTF8.GetString(utf8, position + start, length));
            }
            if (index < 0)
            {
                break;
            }
            if (specials == SpecialTokenHandling.Refuse)
            {
                throw new ArgumentException($"The text holds the special token {_specials[special].Text} (at byte {index})", nameof(text));
            }
            pieces.Add(_specials[special].Text);
            position = index + _specialBytes[special].Length;
        }
        return pieces;
    }

    /// <summary>
    /// The text the tokens spell. Never throws: bytes that are not valid UTF-8 (a character split by the end of the
    /// sequence) become U+FFFD, and so does an id that is no token (outside the vocabulary, or a gap in it).
    /// </summary>
    public string Decode(ReadOnlySpan<int> tokens)
    {
        var bytes = new List<byte>(tokens.Length * 4);
        foreach (var token in tokens)
        {
            var spelling = TokenBytes(token);
            if (spelling.IsEmpty)
            {
                spelling = "\uFFFD"u8;
            }
            foreach (var b in spelling)
            {
                bytes.Add(b);
            }
        }
        return Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(bytes));
    }

    /// <inheritdoc cref="Decode(ReadOnlySpan{int})"/>
    public string Decode(ReadOnlySpan<ushort> tokens)
    {
        var ids = new int[tokens.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = tokens[i];
        }
        return Decode(ids);
    }

    /// <summary>The bytes <paramref name="token"/> stands for; empty when it is no token.</summary>
    public ReadOnlySpan<byte> TokenBytes(int token)
    {
        if (_specialIndexOfId.TryGetValue(token, out var special))
        {
            return _specialBytes[special];
        }
        if (_merges is not null)
        {
            return (uint)token < (uint)_merges.VocabSize ? _merges.TokenBytes(token) : [];
        }
        return _ranks!.Spelling(token);
    }

    /// <summary>A decoder for one stream of generated tokens that gives out whole characters only.</summary>
    public TokenTextDecoder StartTextDecoder() => new(this);

    /// <summary>The tokenizer as one line of JSON for a weights file's metadata; see <see cref="TokenizerMetadata"/>.</summary>
    public string ToMetadata() => TokenizerMetadata.Write(this);

    /// <summary>Reads what <see cref="ToMetadata"/> wrote (and the byte-level BPE metadata of earlier weights files).</summary>
    /// <exception cref="FormatException">The text is not tokenizer metadata, or the vocabulary it names does not match the one shipped.</exception>
    public static Tokenizer FromMetadata(string metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return TokenizerMetadata.Read(metadata);
    }

    internal Bpe? TrainedMerges => _merges;

    internal ByteSequenceTable? Ranks => _ranks;

    internal static Tokenizer FromRanks(SplitPattern split, ByteSequenceTable ranks, string? pretrainedName, IReadOnlyList<SpecialToken> specials) =>
        new(split, null, ranks, pretrainedName, specials);

    private static SplitPattern RequireSplit(SplitPattern split) =>
        split != SplitPattern.None ? split
            : throw new ArgumentException("A pretrained vocabulary needs a split pattern: its ranks are only ever applied to pieces", nameof(split));

    private static List<SpecialToken> WithExtras(IReadOnlyList<SpecialToken> own, int firstFreeId, IReadOnlyList<string>? extras)
    {
        var specials = new List<SpecialToken>(own);
        var nextId = Math.Max(firstFreeId, own.Count == 0 ? 0 : own.Max(s => s.Id) + 1);
        foreach (var text in extras ?? [])
        {
            if (!specials.Exists(s => s.Text == text))
            {
                specials.Add(new SpecialToken(text, nextId++));
            }
        }
        return specials;
    }

    /// <summary>The text between the spellings of <paramref name="specials"/>, as (start, length) ranges.</summary>
    private static List<(int Start, int Length)> SplitAtSpecials(ReadOnlySpan<byte> text, byte[][] specials)
    {
        var segments = new List<(int, int)>();
        var position = 0;
        while (true)
        {
            var (index, special) = FindFirst(text, position, specials);
            var end = index < 0 ? text.Length : index;
            segments.Add((position, end - position));
            if (index < 0)
            {
                return segments;
            }
            position = index + specials[special].Length;
        }
    }

    /// <summary>The earliest spelling of any special token at or after <paramref name="from"/>, the longest at a tie; (−1, −1) if none.</summary>
    private (int Index, int Special) FindSpecial(ReadOnlySpan<byte> text, int from) => FindFirst(text, from, _specialBytes);

    private static (int Index, int Special) FindFirst(ReadOnlySpan<byte> text, int from, byte[][] spellings)
    {
        var (best, bestSpecial) = (-1, -1);
        for (var i = 0; i < spellings.Length; i++)
        {
            var found = text[from..].IndexOf(spellings[i]);
            if (found >= 0 && (best < 0 || from + found < best || (from + found == best && spellings[i].Length > spellings[bestSpecial].Length)))
            {
                (best, bestSpecial) = (from + found, i);
            }
        }
        return (best, bestSpecial);
    }

    private bool LooksUp(ReadOnlySpan<byte> bytes)
    {
        if (_ranks is not null)
        {
            return _ranks.TryGetId(bytes, out _);
        }
        for (var token = 0; token < _merges!.VocabSize; token++)
        {
            if (_merges.TokenBytes(token).SequenceEqual(bytes))
            {
                return true;
            }
        }
        return false;
    }

    private void Encode(ReadOnlySpan<byte> utf8, SpecialTokenHandling specials, ref TokenBuffer tokens)
    {
        if (_specials.Length == 0 || specials == SpecialTokenHandling.AsText)
        {
            EncodeOrdinary(utf8, ref tokens);
            return;
        }
        var position = 0;
        while (true)
        {
            var (index, special) = FindSpecial(utf8, position);
            if (index < 0)
            {
                EncodeOrdinary(utf8[position..], ref tokens);
                return;
            }
            if (specials == SpecialTokenHandling.Refuse)
            {
                throw new ArgumentException(
                    $"The text holds the special token {_specials[special].Text} (at byte {index}): allow special tokens, or encode them as text", nameof(utf8));
            }
            EncodeOrdinary(utf8[position..index], ref tokens);
            tokens.Add(_specials[special].Id);
            position = index + _specialBytes[special].Length;
        }
    }

    private void EncodeOrdinary(ReadOnlySpan<byte> text, ref TokenBuffer tokens)
    {
        if (Split == SplitPattern.None)
        {
            // Only learned merges come without a split: the whole text is one piece, merged as minbpe's basic tokenizer.
            foreach (var token in _merges!.Encode(text))
            {
                tokens.Add(token);
            }
            return;
        }
        for (var start = 0; start < text.Length;)
        {
            var end = PreTokenizer.PieceEnd(text, start, Split);
            EncodePiece(text[start..end], ref tokens);
            start = end;
        }
    }

    private void EncodePiece(ReadOnlySpan<byte> piece, ref TokenBuffer tokens)
    {
        if (piece.Length == 1)
        {
            tokens.Add(_byteTokens[piece[0]]);
            return;
        }
        if (_ranks is not null && _ranks.TryGetId(piece, out var whole))
        {
            tokens.Add(whole);
            return;
        }
        int[]? rented = null;
        var parts = piece.Length + 1 <= StackPieceLength
            ? stackalloc int[(piece.Length + 1) * 2]
            : (rented = System.Buffers.ArrayPool<int>.Shared.Rent((piece.Length + 1) * 2));
        if (_ranks is not null)
        {
            MergeByRank(piece, parts, ref tokens);
        }
        else
        {
            MergeByPairs(piece, parts, ref tokens);
        }
        if (rented is not null)
        {
            System.Buffers.ArrayPool<int>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// tiktoken's byte_pair_merge: the piece starts as single bytes; while some two adjacent parts spell a token, the
    /// pair with the lowest rank (the leftmost at a tie) becomes one part. Quadratic in the piece's length, which is short.
    /// </summary>
    private void MergeByRank(ReadOnlySpan<byte> piece, scoped Span<int> scratch, ref TokenBuffer tokens)
    {
        var n = piece.Length;
        var starts = scratch[..(n + 1)];
        var ranks = scratch.Slice(n + 1, n);
        for (var i = 0; i <= n; i++)
        {
            starts[i] = i;
        }
        for (var i = 0; i < n - 1; i++)
        {
            ranks[i] = RankOf(piece[i..(i + 2)]);
        }
        ranks[n - 1] = NoRank;
        var parts = n;
        while (parts > 1)
        {
            var (lowest, at) = (NoRank, -1);
            for (var i = 0; i < parts - 1; i++)
            {
                if (ranks[i] < lowest)
                {
                    (lowest, at) = (ranks[i], i);
                }
            }
            if (at < 0)
            {
                break;
            }
            // Part at+1 joins part at: drop its start and its rank.
            starts[(at + 2)..(parts + 1)].CopyTo(starts[(at + 1)..]);
            ranks[(at + 2)..parts].CopyTo(ranks[(at + 1)..]);
            parts--;
            ranks[at] = at + 1 < parts ? RankOf(piece[starts[at]..starts[at + 2]]) : NoRank;
            if (at > 0)
            {
                ranks[at - 1] = RankOf(piece[starts[at - 1]..starts[at + 1]]);
            }
        }
        for (var i = 0; i < parts; i++)
        {
            _ranks!.TryGetId(piece[starts[i]..starts[i + 1]], out var id);
            tokens.Add(id);
        }
    }

    /// <summary>
    /// minbpe's merge of one piece with learned merges: the piece starts as bytes; while some adjacent pair of tokens
    /// has a merge, the one learned first (the leftmost at a tie) becomes its token.
    /// </summary>
    private void MergeByPairs(ReadOnlySpan<byte> piece, scoped Span<int> scratch, ref TokenBuffer tokens)
    {
        var n = piece.Length;
        var ids = scratch[..n];
        var ranks = scratch.Slice(n, n);
        for (var i = 0; i < n; i++)
        {
            ids[i] = piece[i];
        }
        for (var i = 0; i < n - 1; i++)
        {
            ranks[i] = MergeRank(ids[i], ids[i + 1]);
        }
        ranks[n - 1] = NoRank;
        var parts = n;
        while (parts > 1)
        {
            var (lowest, at) = (NoRank, -1);
            for (var i = 0; i < parts - 1; i++)
            {
                if (ranks[i] < lowest)
                {
                    (lowest, at) = (ranks[i], i);
                }
            }
            if (at < 0)
            {
                break;
            }
            ids[at] = Bpe.ByteCount + lowest;
            ids[(at + 2)..parts].CopyTo(ids[(at + 1)..]);
            ranks[(at + 2)..parts].CopyTo(ranks[(at + 1)..]);
            parts--;
            ranks[at] = at + 1 < parts ? MergeRank(ids[at], ids[at + 1]) : NoRank;
            if (at > 0)
            {
                ranks[at - 1] = MergeRank(ids[at - 1], ids[at]);
            }
        }
        for (var i = 0; i < parts; i++)
        {
            tokens.Add(ids[i]);
        }
    }

    private int RankOf(ReadOnlySpan<byte> bytes) => _ranks!.TryGetId(bytes, out var rank) ? rank : NoRank;

    private int MergeRank(int left, int right) => _merges!.TryGetMergeRank(left, right, out var rank) ? rank : NoRank;

    /// <summary>Token ids written into a caller's buffer, which has room for all of them, or into an array that grows.</summary>
    private ref struct TokenBuffer
    {
        private int[]? _array;
        private Span<int> _items;

        public TokenBuffer(int capacity) => _items = _array = new int[capacity];

        public TokenBuffer(Span<int> items) => _items = items;

        public int Count { get; private set; }

        public void Add(int token)
        {
            if (Count == _items.Length)
            {
                Grow();
            }
            _items[Count++] = token;
        }

        public readonly int[] ToArray() => _items[..Count].ToArray();

        private void Grow()
        {
            Array.Resize(ref _array, _array!.Length * 2);
            _items = _array;
        }
    }
}
