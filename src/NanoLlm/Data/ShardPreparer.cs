using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace NanoLlm.Data;

/// <param name="Prefix">The shards' file name prefix: <c>train</c> or <c>val</c>.</param>
public sealed record ShardSplit(string Prefix, IReadOnlyList<SourceRange> Ranges);

/// <param name="Output">The directory that receives the shards.</param>
/// <param name="DocumentSeparator">Text that ends a document inside a file; empty: each file (range) is one document.</param>
/// <param name="Threads">Chunks encoded at once.</param>
public sealed record PrepareRequest(string Output, IReadOnlyList<ShardSplit> Splits, int ShardTokens, string DocumentSeparator, int Threads);

/// <summary>Reported after every chunk written.</summary>
/// <param name="Bytes">Input bytes done (those of shards kept from an earlier run included).</param>
public readonly record struct PrepareProgress(long Bytes, long TotalBytes, long TokensWritten, int ShardsWritten, TimeSpan Elapsed);

/// <param name="Shards">Shards the split has now.</param>
/// <param name="ShardsKept">Of those, complete shards of an earlier run of the same preparation, not written again.</param>
public sealed record SplitSummary(string Prefix, int Shards, int ShardsKept, long Tokens, long TextBytes);

public sealed record PrepareSummary(IReadOnlyList<SplitSummary> Splits, long BytesRead, TimeSpan Elapsed);

/// <summary>
/// Tokenizes text once into token shards, in bounded memory whatever the corpus size. The input is read in chunks of
/// about <see cref="ChunkBytes"/> that end at a document end or, inside a long document, just after a line end (after
/// a whole UTF-8 character when a line is longer than a chunk); chunks are encoded on <c>Threads</c> threads and
/// written in input order, so the shards are the same whatever the thread count. A tokenizer with an end-of-text token
/// gets it before every document (llm.c's and GPT-2's convention), and a document separator is replaced by it; without
/// one the text is encoded as written. Re-running continues after the last whole shard of each split, and cancelling
/// leaves whole shards only.
/// </summary>
public static class ShardPreparer
{
    public const int ChunkBytes = 1 << 20;

    // Input chunks read ahead of the writer, per encoding thread: enough to keep every thread busy, few enough to bound memory.
    private const int ChunksPerThread = 2;

    public static PrepareSummary Prepare(PrepareRequest request, ITextEncoder encoder, Action<PrepareProgress>? progress, CancellationToken cancellation)
    {
        Directory.CreateDirectory(request.Output);
        var clock = Stopwatch.StartNew();
        var totalBytes = request.Splits.Sum(s => s.Ranges.Sum(r => r.Length));
        var tokenBytes = new int[encoder.VocabSize];
        for (var token = 0; token < tokenBytes.Length; token++)
        {
            tokenBytes[token] = encoder.TokenByteLength(token);
        }
        var chunks = new Chunk[ChunksPerThread * request.Threads];
        for (var i = 0; i < chunks.Length; i++)
        {
            chunks[i] = new Chunk();
        }
        var state = new Counters();
        var summaries = new List<SplitSummary>();
        foreach (var split in request.Splits)
        {
            summaries.Add(PrepareSplit(request, split, encoder, tokenBytes, chunks, state, totalBytes, clock, progress, cancellation));
        }
        return new PrepareSummary(summaries, state.Bytes, clock.Elapsed);
    }

    // The calling thread reads chunks into free buffers and hands each to an encoding task; one writer thread takes
    // them in input order, writes their tokens and gives the buffers back.
    private static SplitSummary PrepareSplit(
        PrepareRequest request, ShardSplit split, ITextEncoder encoder, int[] tokenBytes, Chunk[] chunks, Counters state, long totalBytes,
        Stopwatch clock, Action<PrepareProgress>? progress, CancellationToken cancellation)
    {
        var ranges = split.Ranges;
        var preparation = PreparationFingerprint(request, split, encoder);
        var (kept, keptTokens, keptBytes, start) = CompleteShards(request.Output, split.Prefix, preparation, ranges);
        state.Bytes += BytesBefore(ranges, start);
        var template = new ShardRecord(encoder.VocabSize, Fingerprint.Of(encoder.Metadata), 0, encoder.EndOfTextToken, preparation, default);
        var end = new SourcePosition(ranges.Count, 0, 0, true);
        using var writer = new ShardWriter(request.Output, split.Prefix, kept, request.ShardTokens, template, tokenBytes);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        using var free = new BlockingCollection<Chunk>(new ConcurrentQueue<Chunk>(chunks));
        using var queue = new BlockingCollection<(Chunk Chunk, Task Encoded)>(chunks.Length);
        var scheduler = new ConcurrentExclusiveSchedulerPair(TaskScheduler.Default, request.Threads).ConcurrentScheduler;
        var separator = Encoding.UTF8.GetBytes(request.DocumentSeparator);
        var shardsBefore = writer.NextIndex;
        var consumer = Task.Factory.StartNew(
            () =>
            {
                try
                {
                    foreach (var (chunk, encoded) in queue.GetConsumingEnumerable(stop.Token))
                    {
                        encoded.GetAwaiter().GetResult();
                        var skip = Math.Min(chunk.Start.TokensWritten, chunk.TokenCount);
                        writer.Write(chunk.Tokens.AsSpan(skip, chunk.TokenCount - skip), chunk.Start, chunk.Next);
                        state.Bytes += chunk.Length;
                        progress?.Invoke(new PrepareProgress(state.Bytes, totalBytes, state.Tokens + writer.TokensWritten, state.Shards + writer.NextIndex - shardsBefore, clock.Elapsed));
                        free.Add(chunk);
                    }
                }
                catch
                {
                    stop.Cancel();
                    throw;
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        try
        {
            foreach (var chunk in ReadChunks(ranges, start, separator, () => free.Take(stop.Token)))
            {
                stop.Token.ThrowIfCancellationRequested();
                var encoded = Task.Factory.StartNew(() => EncodeChunk(chunk, encoder, separator), CancellationToken.None, TaskCreationOptions.None, scheduler);
                queue.Add((chunk, encoded), stop.Token);
            }
            queue.CompleteAdding();
        }
        catch (OperationCanceledException)
        {
            // Cancelled, or the writer failed and stopped the reading: either way the writer has stopped, and a
            // failure is its exception to report.
        }
        catch
        {
            // The reading failed: the writer stops before the exception leaves the buffers it uses.
            stop.Cancel();
            consumer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
            throw;
        }
        try
        {
            consumer.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
        }
        cancellation.ThrowIfCancellationRequested();
        writer.Finish(end);
        state.Tokens += writer.TokensWritten;
        state.Shards += writer.NextIndex - shardsBefore;
        DeleteFrom(request.Output, split.Prefix, writer.NextIndex);
        var (tokens, bytes) = (keptTokens, keptBytes);
        for (var index = kept; index < writer.NextIndex; index++)
        {
            var header = TokenShard.ReadHeader(ShardWriter.ShardPath(request.Output, split.Prefix, index));
            (tokens, bytes) = (tokens + header.TokenCount, bytes + header.Record!.TextBytes);
        }
        return new SplitSummary(split.Prefix, writer.NextIndex, kept, tokens, bytes);
    }

    // The shards 0, 1, … of an earlier run of this same preparation, whole, and where the input continues after them.
    private static (int Count, long Tokens, long TextBytes, SourcePosition Next) CompleteShards(
        string folder, string prefix, uint preparation, IReadOnlyList<SourceRange> ranges)
    {
        var (count, tokens, bytes) = (0, 0L, 0L);
        var next = new SourcePosition(0, ranges.Count > 0 ? ranges[0].Start : 0, 0, true);
        for (; File.Exists(ShardWriter.ShardPath(folder, prefix, count)); count++)
        {
            ShardHeader header;
            try
            {
                header = TokenShard.ReadHeader(ShardWriter.ShardPath(folder, prefix, count));
            }
            catch (ShardFileException)
            {
                break;
            }
            if (header.Record is not { } record || record.PreparationFingerprint != preparation)
            {
                break;
            }
            (tokens, bytes, next) = (tokens + header.TokenCount, bytes + record.TextBytes, record.Next);
        }
        return (count, tokens, bytes, next);
    }

    private static void DeleteFrom(string folder, string prefix, int index)
    {
        for (; File.Exists(ShardWriter.ShardPath(folder, prefix, index)); index++)
        {
            File.Delete(ShardWriter.ShardPath(folder, prefix, index));
        }
    }

    private static long BytesBefore(IReadOnlyList<SourceRange> ranges, SourcePosition position)
    {
        var bytes = 0L;
        for (var r = 0; r < Math.Min(position.Range, ranges.Count); r++)
        {
            bytes += ranges[r].Length;
        }
        return position.Range < ranges.Count ? bytes + (position.Offset - ranges[position.Range].Start) : bytes;
    }

    // Everything that decides the shards' content: a shard of an earlier run is kept only when all of it is the same.
    private static uint PreparationFingerprint(PrepareRequest request, ShardSplit split, ITextEncoder encoder)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"nanollm-shards 1|{encoder.Metadata}|{encoder.EndOfTextToken}|{request.ShardTokens}|{ChunkBytes}|{request.DocumentSeparator}");
        foreach (var range in split.Ranges)
        {
            var file = new FileInfo(range.File);
            var target = file.ResolveLinkTarget(returnFinalTarget: true) ?? file;
            text.Append(CultureInfo.InvariantCulture, $"|{file.FullName}|{range.Start}|{range.End}|{SourceRange.LengthOf(range.File)}|{target.LastWriteTimeUtc.Ticks}");
        }
        return Fingerprint.Of(text.ToString());
    }

    // The chunks from start on, each read into a buffer that nextFree gives (which may wait for one to come back).
    private static IEnumerable<Chunk> ReadChunks(IReadOnlyList<SourceRange> ranges, SourcePosition start, byte[] separator, Func<Chunk> nextFree)
    {
        for (var r = start.Range; r < ranges.Count; r++)
        {
            var range = ranges[r];
            var (offset, startsDocument, skip) = r == start.Range ? (start.Offset, start.StartsDocument, start.TokensWritten) : (range.Start, true, 0);
            using var handle = File.OpenHandle(range.File);
            while (offset < range.End)
            {
                var chunk = nextFree();
                var read = (int)Math.Min(ChunkBytes, range.End - offset);
                ReadFully(handle, chunk.Text.AsSpan(0, read), offset, range.File);
                var length = offset + read < range.End ? ChunkEnd(chunk.Text.AsSpan(0, read), separator) : read;
                var endsDocument = separator.Length > 0 && chunk.Text.AsSpan(0, length).EndsWith(separator);
                var nextOffset = offset + length;
                chunk.Length = length;
                chunk.Start = new SourcePosition(r, offset, skip, startsDocument);
                chunk.Next = nextOffset < range.End
                    ? new SourcePosition(r, nextOffset, 0, endsDocument)
                    : new SourcePosition(r + 1, r + 1 < ranges.Count ? ranges[r + 1].Start : 0, 0, true);
                yield return chunk;
                (offset, startsDocument, skip) = (nextOffset, endsDocument, 0);
            }
        }
    }

    private static void ReadFully(Microsoft.Win32.SafeHandles.SafeFileHandle handle, Span<byte> destination, long offset, string path)
    {
        while (!destination.IsEmpty)
        {
            var read = RandomAccess.Read(handle, destination, offset);
            if (read == 0)
            {
                throw new IOException($"{path}: the file became shorter while it was read");
            }
            destination = destination[read..];
            offset += read;
        }
    }

    // Where a full chunk that is not the end of its range stops: after its last separator, else its last line end,
    // else its last whole UTF-8 character.
    private static int ChunkEnd(ReadOnlySpan<byte> chunk, byte[] separator)
    {
        if (separator.Length > 0 && chunk.LastIndexOf(separator) is var at and >= 0)
        {
            return at + separator.Length;
        }
        var newline = chunk.LastIndexOf((byte)'\n');
        if (newline >= 0)
        {
            return newline + 1;
        }
        var end = chunk.Length;
        while (end > 1 && (chunk[end - 1] & 0xC0) == 0x80)
        {
            end--;
        }
        return (chunk[end - 1] & 0x80) == 0 ? end : end - 1;
    }

    private static void EncodeChunk(Chunk chunk, ITextEncoder encoder, byte[] separator)
    {
        var text = chunk.Text.AsSpan(0, chunk.Length);
        var tokens = chunk.Tokens.AsSpan();
        if (encoder.EndOfTextToken is not { } endOfText)
        {
            chunk.TokenCount = encoder.Encode(text, tokens);
            return;
        }
        // Each document's end-of-text token takes the place of the separator before it (or, for the chunk's first
        // document, the spare place in the buffer), so the tokens written never outrun the text read.
        var count = 0;
        var startsDocument = chunk.Start.StartsDocument;
        while (!text.IsEmpty)
        {
            var at = separator.Length > 0 ? text.IndexOf(separator) : -1;
            var document = at >= 0 ? text[..at] : text;
            if (!document.IsEmpty)
            {
                if (startsDocument)
                {
                    tokens[count++] = endOfText;
                }
                count += encoder.Encode(document, tokens[count..]);
            }
            text = at >= 0 ? text[(at + separator.Length)..] : [];
            startsDocument = true;
        }
        chunk.TokenCount = count;
    }

    // One chunk of text and its tokens, in buffers that go round from chunk to chunk: the pipeline allocates no
    // memory per chunk.
    private sealed class Chunk
    {
        public byte[] Text { get; } = new byte[ChunkBytes];

        // One token per byte at most, and an end-of-text token before the first document.
        public int[] Tokens { get; } = new int[ChunkBytes + 1];

        public int Length { get; set; }

        public int TokenCount { get; set; }

        public SourcePosition Start { get; set; }

        public SourcePosition Next { get; set; }
    }

    private sealed class Counters
    {
        public long Bytes;
        public long Tokens;
        public int Shards;
    }
}
