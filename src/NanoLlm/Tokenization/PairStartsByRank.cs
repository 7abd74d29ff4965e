using System.Diagnostics;

namespace NanoLlm.Tokenization;

/// <summary>
/// Where pairs that have a merge start, bucketed by the merge's rank, for the encoder to take rank by rank. Each bucket
/// is its own growing array, so taking one reads and sorts contiguous memory. Adding to a rank that was already taken
/// is a bug: the encoder never does, because pairs formed by a merge hold its new token, which only later merges use.
/// </summary>
internal sealed class PairStartsByRank(int rankCount)
{
    private const int FirstBucketSize = 4;

    private readonly int[]?[] _starts = new int[]?[rankCount];
    private readonly int[] _counts = new int[rankCount];
    private int _lastTaken = -1;

    /// <summary>The highest rank added so far; −1 when nothing was added.</summary>
    public int HighestRank { get; private set; } = -1;

    public void Add(int rank, int start)
    {
        Debug.Assert(rank > _lastTaken, "a rank gained a pair after it was taken");
        ref var starts = ref _starts[rank];
        var count = _counts[rank];
        if (starts is null)
        {
            starts = new int[FirstBucketSize];
        }
        else if (count == starts.Length)
        {
            Array.Resize(ref starts, count * 2);
        }
        starts[count] = start;
        _counts[rank] = count + 1;
        HighestRank = Math.Max(HighestRank, rank);
    }

    /// <summary>Empties the bucket of <paramref name="rank"/> and returns its starts in ascending order.</summary>
    public ReadOnlySpan<int> TakeSorted(int rank)
    {
        var starts = _starts[rank].AsSpan(0, _counts[rank]);
        starts.Sort();
        _starts[rank] = null;
        _counts[rank] = 0;
        _lastTaken = rank;
        return starts;
    }
}
