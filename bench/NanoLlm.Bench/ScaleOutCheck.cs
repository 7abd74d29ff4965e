using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using NanoLlm.Model;
using NanoLlm.Storage;
using NanoLlm.Training;

namespace NanoLlm.Bench;

/// <summary>
/// NanoLlm's half of <c>make scale-out-check</c> (tools/reference/scale_out_check.py drives it): reads weights files
/// the PyTorch twin wrote and checks them against NanoLlm's own computation. Each check prints one line and returns
/// whether it held.
/// </summary>
public static class ScaleOutCheck
{
    public const double LogitTolerance = 1e-4;

    /// <summary>
    /// Loads <paramref name="weightsPath"/> as NanoLlm's chat would, runs the batch in <paramref name="batchPath"/>
    /// (a safetensors file with <c>tokens</c> [B, T], token ids as floats, and the twin's <c>logits</c> [B, T, V])
    /// through it, and compares the logits.
    /// </summary>
    public static bool Logits(string weightsPath, string batchPath)
    {
        var cortex = Cortex.Load(weightsPath);
        if (cortex.Model is not GptModel model)
        {
            Console.WriteLine($"nanollm: {weightsPath} holds a {cortex.Model.Spec.Name} model, not a GPT");
            return false;
        }
        var batch = SafeTensors.Read(batchPath);
        var (batchSize, length) = batch.Shape("tokens") is [var b, var t] ? (b, t) : throw new WeightsFileException($"{batchPath}: tokens is not [B, T]");
        var tokenValues = new float[batchSize * length];
        batch.CopyTo("tokens", tokenValues);
        var tokens = Array.ConvertAll(tokenValues, v => (int)v);
        var expected = new float[batchSize * length * model.Spec.VocabSize];
        batch.CopyTo("logits", expected);

        model.Forward(tokens, tokens, batchSize, length);
        var worst = 0.0;
        var largest = 0.0;
        var logits = model.Logits;
        for (var i = 0; i < expected.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(logits[i] - expected[i]));
            largest = Math.Max(largest, Math.Abs(expected[i]));
        }
        var held = worst <= LogitTolerance;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"nanollm loads {weightsPath}; on a [{batchSize}, {length}] batch its logits and the twin's differ by at most {worst:E2} (largest |logit| {largest:F3}, tolerance {LogitTolerance:E0}): {(held ? "ok" : "FAILED")}"));
        return held;
    }

    /// <summary>
    /// Loads two weights files and checks they are the same model: hyperparameters, tokenizer, and every parameter
    /// tensor bit for bit.
    /// </summary>
    public static bool SameWeights(string originalPath, string roundTripPath)
    {
        var original = Cortex.Load(originalPath);
        var roundTrip = Cortex.Load(roundTripPath);
        var sameModel = original.Model.Spec.Name == roundTrip.Model.Spec.Name
            && ModelKeys(original) == ModelKeys(roundTrip)
            && original.Tokenizer.ToMetadata() == roundTrip.Tokenizer.ToMetadata();
        var differing = new List<string>();
        if (sameModel)
        {
            foreach (var parameter in original.Model.Parameters.Parameters)
            {
                var other = roundTrip.Model.Parameters[parameter.Name];
                if (!MemoryMarshal.AsBytes(parameter.Values).SequenceEqual(MemoryMarshal.AsBytes(other.Values)))
                {
                    differing.Add(parameter.Name);
                }
            }
        }
        var held = sameModel && differing.Count == 0;
        var parameters = original.Model.Parameters;
        Console.WriteLine(held
            ? $"nanollm reads {roundTripPath} as {originalPath}: the same hyperparameters and tokenizer, all {parameters.Parameters.Count} tensors ({parameters.Count:N0} floats) bit-identical: ok"
            : $"nanollm reads {roundTripPath} as a different model from {originalPath}: {(sameModel ? "tensors " + string.Join(", ", differing) + " differ" : "hyperparameters or tokenizer differ")}: FAILED");
        return held;
    }

    // The model's keys as NanoLlm resolved them; name and vocab_size are a run file's, not every writer records them.
    private static string ModelKeys(Cortex cortex) =>
        JsonSerializer.Serialize(cortex.Model.Spec.Hyperparameters.Resolved.Where(p => p.Key is not ("name" or "vocab_size")).OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary());
}
