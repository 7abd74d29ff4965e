using System.Diagnostics;
using System.Globalization;
using System.Text;
using NanoLlm.Data;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.Bench;

/// <summary>
/// The large-corpus benchmark's two halves. <c>--shuffled-corpus DIR MEGABYTES SEED</c> writes Tiny Shakespeare's
/// lines, shuffled and repeated by a seeded generator, as 128 MiB files <c>part_000.txt</c> … into DIR (no download,
/// the same bytes on every machine). <c>--prepare-speed TOKENIZER CORPUS OUTPUT [--encode-mb N] [--threads 1,2]</c>
/// times, in one process, the tokenizer encoding the corpus's first N MiB (256 by default) on one thread — each 1 MiB
/// chunk read first, only the encoding timed — then the whole preparation (reading, encoding, writing shards into
/// OUTPUT/threads-T) at each thread count, then the encoding again; it prints MB/s with the CPU, garbage-collector,
/// page-fault and peak-memory accounting of each phase, checks that every thread count wrote the same shards, and
/// gives the preparation's speed at the most threads against that many times the single-thread encoding.
/// TOKENIZER is a shipped vocabulary (<c>gpt2</c>, …), <c>bytes</c>, or a folder holding a preparation's
/// <c>tokenizer.json</c>.
/// </summary>
public static class ShardBench
{
    private const int FileBytes = 128 << 20;

    public static void ShuffledCorpus(string folder, long megabytes, int seed)
    {
        var lines = Encoding.UTF8.GetString(BenchData.TinyShakespeare()).Split('\n').Select(l => Encoding.UTF8.GetBytes(l + "\n")).ToArray();
        var random = new Random(seed);
        Directory.CreateDirectory(folder);
        var total = megabytes << 20;
        var (written, part) = (0L, 0);
        FileStream? file = null;
        var clock = Stopwatch.StartNew();
        while (written < total)
        {
            random.Shuffle(lines);
            foreach (var line in lines)
            {
                if (file is null || file.Length + line.Length > FileBytes)
                {
                    file?.Dispose();
                    file = File.Create(Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"part_{part++:D3}.txt")));
                }
                var take = (int)Math.Min(line.Length, total - written);
                file.Write(line, 0, take);
                written += take;
                if (written == total)
                {
                    break;
                }
            }
        }
        file?.Dispose();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {written} bytes in {part} files to {folder} in {clock.Elapsed.TotalSeconds:F1} s"));
    }

    public static int PrepareSpeed(string tokenizerSource, string corpus, string output, int encodeMegabytes, int[] threadCounts)
    {
        var tokenizer = LoadTokenizer(tokenizerSource);
        var encoder = new TokenizerTextEncoder(tokenizer);
        var files = CorpusFiles.Resolve(corpus);
        var corpusBytes = files.Sum(SourceRange.LengthOf);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"prepare-speed tokenizer={tokenizerSource} vocab={tokenizer.VocabSize} corpus={corpus} files={files.Length} bytes={corpusBytes} cores={Environment.ProcessorCount} load={LoadAverage()}"));
        var encodeSpeeds = new List<double> { EncodeSpeed(encoder, files, (long)encodeMegabytes << 20) };
        var prepareSpeeds = new Dictionary<int, double>();
        foreach (var threads in threadCounts)
        {
            prepareSpeeds[threads] = PrepareSpeed(encoder, files, Path.Combine(output, string.Create(CultureInfo.InvariantCulture, $"threads-{threads}")), threads);
        }
        encodeSpeeds.Add(EncodeSpeed(encoder, files, (long)encodeMegabytes << 20));
        var inMemory = threadCounts.ToDictionary(t => t, t => EncodeInMemory(encoder, files, Math.Min(encodeMegabytes, 128) << 20, t));
        var same = threadCounts.Skip(1).All(t => SameShards(Path.Combine(output, $"threads-{threadCounts[0]}"), Path.Combine(output, string.Create(CultureInfo.InvariantCulture, $"threads-{t}"))));
        var encode = encodeSpeeds.Average();
        var most = threadCounts.Max();
        Console.WriteLine(same ? "shards: the same bytes at every thread count" : "shards: DIFFERENT between thread counts");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ratio prepare_{most}_threads / ({most} x encode_1_thread) = {prepareSpeeds[most]:F1} / ({most} x {encode:F1}) = {prepareSpeeds[most] / (most * encode):F3} (encode: mean of {encodeSpeeds[0]:F1} and {encodeSpeeds[1]:F1} MB/s) load={LoadAverage()}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"machine scaling: encoding in memory on {most} threads / ({most} x 1 thread) = {inMemory[most] / (most * inMemory[threadCounts.Min()]):F3}"));
        return same ? 0 : 1;
    }

    private static Tokenizer LoadTokenizer(string source)
    {
        if (source == "bytes")
        {
            return Tokenizer.ByteLevel;
        }
        var file = Path.Combine(source, TrainingCorpus.TokenizerFileName);
        return File.Exists(file) ? Tokenizer.FromMetadata(File.ReadAllText(file)) : Tokenizer.Pretrained(source);
    }

    // One thread encoding the corpus's first `limit` bytes in chunks cut as the preparation cuts them (after the last
    // line end of each MiB); each chunk is read before its encoding is timed, and one chunk warms up first.
    private static double EncodeSpeed(TokenizerTextEncoder encoder, string[] files, long limit)
    {
        var text = new byte[ShardPreparer.ChunkBytes];
        var tokens = new int[ShardPreparer.ChunkBytes + 1];
        var (bytes, count, ticks, warm) = (0L, 0L, 0L, false);
        var before = Accounting.Now();
        foreach (var path in files)
        {
            using var handle = File.OpenHandle(path);
            var length = RandomAccess.GetLength(handle);
            for (var offset = 0L; offset < length && bytes < limit;)
            {
                var read = RandomAccess.Read(handle, text, offset);
                var chunk = offset + read < length && text.AsSpan(0, read).LastIndexOf((byte)'\n') is var newline and >= 0 ? newline + 1 : read;
                if (!warm)
                {
                    encoder.Encode(text.AsSpan(0, chunk), tokens);
                    warm = true;
                }
                var start = Stopwatch.GetTimestamp();
                count += encoder.Encode(text.AsSpan(0, chunk), tokens);
                ticks += Stopwatch.GetTimestamp() - start;
                (bytes, offset) = (bytes + chunk, offset + chunk);
            }
        }
        var phase = Accounting.Now() - before;
        var seconds = (double)ticks / Stopwatch.Frequency;
        var speed = bytes / 1e6 / seconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"encode  threads=1 bytes={bytes} tokens={count} seconds={seconds:F2} mb_per_s={speed:F1} {phase} load={LoadAverage()}"));
        return speed;
    }

    // The machine's own scaling, without reading or writing: the corpus's first `limit` bytes loaded as chunks, then
    // encoded by `threads` threads that each take the next chunk.
    private static double EncodeInMemory(TokenizerTextEncoder encoder, string[] files, long limit, int threads)
    {
        var chunks = new List<byte[]>();
        var (bytes, buffer) = (0L, new byte[ShardPreparer.ChunkBytes]);
        foreach (var path in files)
        {
            using var handle = File.OpenHandle(path);
            var length = RandomAccess.GetLength(handle);
            for (var offset = 0L; offset < length && bytes < limit;)
            {
                var read = RandomAccess.Read(handle, buffer, offset);
                var chunk = offset + read < length && buffer.AsSpan(0, read).LastIndexOf((byte)'\n') is var newline and >= 0 ? newline + 1 : read;
                chunks.Add(buffer[..chunk]);
                (bytes, offset) = (bytes + chunk, offset + chunk);
            }
        }
        var next = -1;
        var tokens = new long[threads];
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var output = new int[ShardPreparer.ChunkBytes + 1];
            for (int i; (i = Interlocked.Increment(ref next)) < chunks.Count;)
            {
                tokens[t] += encoder.Encode(chunks[i], output);
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        var seconds = clock.Elapsed.TotalSeconds;
        var speed = bytes / 1e6 / seconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"encode in memory threads={threads} bytes={bytes} tokens={tokens.Sum()} seconds={seconds:F2} mb_per_s={speed:F1} load={LoadAverage()}"));
        return speed;
    }

    private static double PrepareSpeed(TokenizerTextEncoder encoder, string[] files, string output, int threads)
    {
        if (Directory.Exists(output))
        {
            Directory.Delete(output, recursive: true);
        }
        var request = new PrepareRequest(output, [new ShardSplit("train", SourceRange.Whole(files))], 100_000_000, "", threads);
        Accounting.ResetPeakMemory();
        var before = Accounting.Now();
        var clock = Stopwatch.StartNew();
        var summary = ShardPreparer.Prepare(request, encoder, null, CancellationToken.None);
        var seconds = clock.Elapsed.TotalSeconds;
        var phase = Accounting.Now() - before;
        var split = summary.Splits[0];
        var speed = summary.BytesRead / 1e6 / seconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"prepare threads={threads} bytes={summary.BytesRead} tokens={split.Tokens} shards={split.Shards} seconds={seconds:F2} mb_per_s={speed:F1} mb_per_cpu_s={summary.BytesRead / 1e6 / (phase.User + phase.System).TotalSeconds:F1} {phase} peak_rss_mb={Accounting.PeakMemoryMegabytes()} load={LoadAverage()}"));
        return speed;
    }

    private static bool SameShards(string first, string second)
    {
        var names = Directory.GetFiles(first).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        var others = Directory.GetFiles(second).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        if (!names.SequenceEqual(others))
        {
            return false;
        }
        var (a, b) = (new byte[1 << 20], new byte[1 << 20]);
        foreach (var name in names)
        {
            using var left = File.OpenRead(Path.Combine(first, name!));
            using var right = File.OpenRead(Path.Combine(second, name!));
            if (left.Length != right.Length)
            {
                return false;
            }
            for (int read; (read = left.ReadAtLeast(a, a.Length, throwOnEndOfStream: false)) > 0;)
            {
                right.ReadExactly(b, 0, read);
                if (!a.AsSpan(0, read).SequenceEqual(b.AsSpan(0, read)))
                {
                    return false;
                }
            }
        }
        return true;
    }

    private static string LoadAverage() => string.Join(',', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    /// <summary>What the process has spent so far: CPU time, collections, allocation, page faults (Linux's /proc).</summary>
    private readonly record struct Accounting(TimeSpan User, TimeSpan System, TimeSpan Wall, int Gen0, int Gen1, int Gen2, TimeSpan GcPause, long Allocated, long MinorFaults)
    {
        private static readonly Stopwatch Clock = Stopwatch.StartNew();

        public static Accounting Now()
        {
            using var process = Process.GetCurrentProcess();
            // /proc/self/stat: "pid (name) state ppid … minflt cminflt majflt …": minflt is the 8th field after the name.
            var stat = File.ReadAllText("/proc/self/stat");
            var minorFaults = long.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[7], CultureInfo.InvariantCulture);
            return new Accounting(
                process.UserProcessorTime, process.PrivilegedProcessorTime, Clock.Elapsed, GC.CollectionCount(0), GC.CollectionCount(1),
                GC.CollectionCount(2), GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes(precise: true), minorFaults);
        }

        public static Accounting operator -(Accounting after, Accounting before) => new(
            after.User - before.User, after.System - before.System, after.Wall - before.Wall, after.Gen0 - before.Gen0,
            after.Gen1 - before.Gen1, after.Gen2 - before.Gen2, after.GcPause - before.GcPause, after.Allocated - before.Allocated,
            after.MinorFaults - before.MinorFaults);

        // The peak resident memory since the last reset (VmHWM; writing 5 to clear_refs resets it to the current size).
        public static void ResetPeakMemory() => File.WriteAllText("/proc/self/clear_refs", "5");

        public static long PeakMemoryMegabytes()
        {
            var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"cpu_user={User.TotalSeconds:F2} cpu_sys={System.TotalSeconds:F2} cores_busy={(User + System) / Wall:F2} gc={Gen0}/{Gen1}/{Gen2} gc_pause_ms={GcPause.TotalMilliseconds:F0} allocated_mb={Allocated / 1e6:F1} minor_faults={MinorFaults}");
    }
}
