using NanoLlm.Tokenization;

namespace NanoLlm.Bench;

/// <summary>
/// The basic tokenizer's earlier encoder, the baseline of <see cref="BpeBenchmarks"/>: the same rank-by-rank buckets,
/// but over the whole text at once, with the ranks in a <see cref="Dictionary{TKey, TValue}"/>, the tokens in a doubly
/// linked list (<see cref="TokenList"/>), each bucket its own growing array, sorted before it is taken. Same ids as
/// <see cref="Bpe.Encode(ReadOnlySpan{byte})"/>.
/// </summary>
internal sealed class PreviousBpeEncoder
{
    private readonly IReadOnlyList<TokenPair> _merges;
    private readonly Dictionary<uint, int> _rankOfPair = [];

    public PreviousBpeEncoder(IReadOnlyList<TokenPair> merges)
    {
        _merges = merges;
        for (var rank = 0; rank < merges.Count; rank++)
        {
            _rankOfPair.Add(merges[rank].Key, rank);
        }
    }

    public ushort[] Encode(ReadOnlySpan<byte> bytes)
    {
        var tokens = new TokenList(bytes);
        var waiting = new Buckets(_merges.Count);
        for (var start = 0; start + 1 < bytes.Length; start++)
        {
            AddIfMerged(waiting, start, bytes[start], bytes[start + 1]);
        }
        for (var rank = 0; rank <= waiting.HighestRank; rank++)
        {
            var (left, right) = _merges[rank];
            var token = Bpe.ByteCount + rank;
            foreach (var start in waiting.TakeSorted(rank))
            {
                if (!tokens.IsPairAt(start, left, right))
                {
                    continue;
                }
                tokens.Merge(start, token);
                var before = tokens.Previous(start);
                if (before != TokenList.None)
                {
                    AddIfMerged(waiting, before, tokens.TokenAt(before), token);
                }
                var after = tokens.Next(start);
                if (after != TokenList.None)
                {
                    AddIfMerged(waiting, start, token, tokens.TokenAt(after));
                }
            }
        }
        return tokens.ToArray();
    }

    private void AddIfMerged(Buckets waiting, int start, int left, int right)
    {
        if (_rankOfPair.TryGetValue(new TokenPair(left, right).Key, out var rank))
        {
            waiting.Add(rank, start);
        }
    }

    private sealed class Buckets(int rankCount)
    {
        private readonly int[]?[] _starts = new int[]?[rankCount];
        private readonly int[] _counts = new int[rankCount];

        public int HighestRank { get; private set; } = -1;

        public void Add(int rank, int start)
        {
            ref var starts = ref _starts[rank];
            var count = _counts[rank];
            if (starts is null)
            {
                starts = new int[4];
            }
            else if (count == starts.Length)
            {
                Array.Resize(ref starts, count * 2);
            }
            starts[count] = start;
            _counts[rank] = count + 1;
            HighestRank = Math.Max(HighestRank, rank);
        }

        public ReadOnlySpan<int> TakeSorted(int rank)
        {
            var starts = _starts[rank].AsSpan(0, _counts[rank]);
            starts.Sort();
            _starts[rank] = null;
            _counts[rank] = 0;
            return starts;
        }
    }
}
