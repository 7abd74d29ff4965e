using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using NanoLlm.Data;
using NanoLlm.Interop;
using NanoLlm.Model;
using NanoLlm.Storage;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.Bench;

/// <summary>
/// NanoLlm's half of <c>make llmc-loss</c>: llm.c's <c>train_gpt2.c</c>, built from its source, computes its step-0
/// training loss on a checkpoint NanoLlm exported, and NanoLlm computes its own loss on the same batch.
/// <see cref="WriteInputs"/> writes a small random GPT-2 (GPT-2's 50,257-token vocabulary, so llm.c's tokenizer file
/// is the real one) as a NanoLlm weights file, and one batch of GPT-2 tokens — train_gpt2.c's B × T + 1 = 257 — as
/// llm.c's train and validation shards; <c>NanoLlm.Convert export</c> then writes the checkpoint beside them, where
/// train_gpt2.c looks. <see cref="Compare"/> builds train_gpt2.c (one step, no validation, no sampling), runs it there
/// and compares. With exactly one batch in the shard, llm.c's shuffled loader has only that batch to draw.
/// </summary>
public static partial class LlmcLoss
{
    public const double Tolerance = 1e-4;

    // train_gpt2.c's batch: B = 4 sequences of T = 64 tokens, and the target of the last.
    private const int Batch = 4;
    private const int Length = 64;

    public const string WeightsFile = "model.weights";
    public const string TrainShard = "dev/data/tinyshakespeare/tiny_shakespeare_train.bin";
    public const string ValShard = "dev/data/tinyshakespeare/tiny_shakespeare_val.bin";

    /// <summary>
    /// A GPT-2 of 2 layers, 4 heads, 64 wide and 64 positions on GPT-2's vocabulary, every parameter drawn at 10× GPT-2's
    /// initial scale (LayerNorm gains around 1) so the logits are far from uniform and a misplaced tensor shows in the
    /// loss; and the first 257 GPT-2 tokens of <paramref name="corpus"/>.
    /// </summary>
    public static void WriteInputs(string work, string corpus)
    {
        var tokenizer = Tokenizer.Pretrained("gpt2");
        var model = new Gpt2Shape(Layers: 2, Heads: 4, Channels: 64, ContextLength: Length, VocabSize: tokenizer.VocabSize, FeedForwardSize: 256).CreateModel("llmc-loss");
        var random = new Random(1337);
        foreach (var parameter in model.Parameters.Parameters)
        {
            Initialization.Normal(parameter.Values, 0.2, random);
            if (parameter.Name.Contains("ln_", StringComparison.Ordinal) && parameter.Name.EndsWith(".weight", StringComparison.Ordinal))
            {
                foreach (ref var gain in parameter.Values)
                {
                    gain += 1;
                }
            }
        }
        Directory.CreateDirectory(work);
        new Cortex(model, tokenizer).Save(Path.Combine(work, WeightsFile));

        var tokens = tokenizer.Encode(File.ReadAllText(corpus), SpecialTokenHandling.AsText);
        if (tokens.Length < (Batch * Length) + 1)
        {
            throw new WeightsFileException($"{corpus}: {tokens.Length} GPT-2 tokens; one batch of train_gpt2.c needs {(Batch * Length) + 1}");
        }
        foreach (var shard in (string[])[TrainShard, ValShard])
        {
            WriteShard(Path.Combine(work, shard), tokens.AsSpan(0, (Batch * Length) + 1));
        }
        Console.WriteLine($"llmc-loss: {Path.Combine(work, WeightsFile)} (GPT-2 of 2 layers, 4 heads, 64 wide, 64 positions, {model.Parameters.Count:N0} parameters) and one batch of {(Batch * Length) + 1} GPT-2 tokens of {corpus} in {Path.Combine(work, "dev", "data", "tinyshakespeare")}");
    }

    /// <summary>
    /// Builds and runs train_gpt2.c from <paramref name="llmcSource"/> in <paramref name="work"/>, computes NanoLlm's
    /// loss on the batch read back through the shard reader, prints both; 0 when they agree within
    /// <see cref="Tolerance"/>, 1 when not, 2 when llm.c's source or the inputs are missing.
    /// </summary>
    public static int Compare(string work, string llmcSource)
    {
        work = Path.GetFullPath(work);
        llmcSource = Path.GetFullPath(llmcSource);
        var source = Path.Combine(llmcSource, "train_gpt2.c");
        if (!File.Exists(source))
        {
            Console.Error.WriteLine($"error: LLMC={llmcSource} has no train_gpt2.c: give the root of llm.c's source (train_gpt2.c and llmc/)");
            return 2;
        }
        var cortex = Cortex.Load(Path.Combine(work, WeightsFile));
        var tokens = new int[(Batch * Length) + 1];
        using (var shard = TokenShard.Open(Path.Combine(work, TrainShard), cortex.Model.Spec.VocabSize, Fingerprint.Of(cortex.Tokenizer.ToMetadata())))
        {
            if (shard.Length != tokens.Length)
            {
                throw new WeightsFileException($"{shard.Path}: {shard.Length} tokens; this check writes exactly one batch, {tokens.Length}");
            }
            shard.Read(0, tokens);
        }
        var ours = cortex.Model.Forward(tokens.AsSpan(0, Batch * Length), tokens.AsSpan(1), Batch, Length);

        var binary = Path.Combine(work, "train_gpt2");
        var patched = Patch(File.ReadAllText(source), "step <= 40;", "step < 1;");
        patched = Patch(patched, "if (step % 10 == 0) {", "if (0) {");
        patched = Patch(patched, "if (step > 0 && step % 20 == 0) {", "if (0) {");
        File.WriteAllText(binary + ".c", patched);
        Run(work, "gcc", "-O3", "-march=native", "-I", llmcSource, binary + ".c", "-lm", "-o", binary);
        var output = Run(work, binary);
        var match = StepZeroLine().Match(output);
        if (!match.Success)
        {
            Console.Error.WriteLine($"error: train_gpt2 printed no \"step 0: train loss\" line:\n{output}");
            return 1;
        }
        var theirs = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        var difference = Math.Abs(theirs - ours);
        var held = difference <= Tolerance;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"llm.c train_gpt2.c step-0 train loss: {theirs:F6} (gcc -O3 -march=native, B = {Batch}, T = {Length})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"NanoLlm loss on the same batch:       {ours:F6}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"difference: {difference:E2} (tolerance {Tolerance:E0}; ln V = {Math.Log(cortex.Model.Spec.VocabSize):F3}); load average {PeakProbe.LoadAverage()}: {(held ? "ok" : "FAILED")}"));
        return held ? 0 : 1;
    }

    private static void WriteShard(string path, ReadOnlySpan<int> tokens)
    {
        var bytes = new byte[ShardHeader.Bytes + (tokens.Length * sizeof(ushort))];
        new ShardHeader(sizeof(ushort), tokens.Length).WriteTo(bytes);
        for (var i = 0; i < tokens.Length; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(ShardHeader.Bytes + (i * sizeof(ushort))), checked((ushort)tokens[i]));
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    private static string Patch(string source, string from, string to) =>
        source.Contains(from, StringComparison.Ordinal)
            ? source.Replace(from, to, StringComparison.Ordinal)
            : throw new InvalidOperationException($"train_gpt2.c has no \"{from}\": this check knows llm.c's train_gpt2.c of 2024-2025 (B = 4, T = 64, 40 steps)");

    // Runs the command in the folder; its stdout, or an exception with its stderr when it fails.
    private static string Run(string folder, string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{stderr.Result}{stdout}");
        }
        return stdout;
    }

    [GeneratedRegex(@"step 0: train loss ([\d.]+)")]
    private static partial Regex StepZeroLine();
}
