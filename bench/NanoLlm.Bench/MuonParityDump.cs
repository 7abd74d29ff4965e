using System.Globalization;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Storage;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.Bench;

/// <summary>
/// NanoLlm's half of <c>make muon-parity</c> (tools/reference/muon_parity.py is the PyTorch half): a GPT's weights,
/// the gradients of a few steps, and the weights after NanoLlm's Muon (with AdamW for the rest) took those steps, for
/// the twin's Muon to repeat from the same weights and gradients and compare. The settings are in the outputs'
/// metadata, as [training] keys.
/// </summary>
public static class MuonParityDump
{
    private const string WeightsFile = "weights.safetensors";
    private const string OutputsFile = "nanollm.safetensors";
    private const int Steps = 3;

    public static void Run(string directory)
    {
        Directory.CreateDirectory(directory);
        var settings = new SettingsSection("model", "muon-parity", new Dictionary<string, SettingValue>
        {
            ["context_length"] = new(16L, "muon-parity"),
            ["embedding_size"] = new(32L, "muon-parity"),
            ["layers"] = new(2L, "muon-parity"),
            ["heads"] = new(4L, "muon-parity"),
            ["positional"] = new(GptModel.Learned, "muon-parity"),
            ["tie_embeddings"] = new(false, "muon-parity"),
        });
        var model = new GptModel(256, settings);
        var random = new Random(11);
        model.Initialize(random);
        new Cortex(model, Tokenizer.ByteLevel).Save(Path.Combine(directory, WeightsFile));

        var training = new TrainingSettings("corpus", Steps, 0, LearningRate: 2e-3, BatchSize: 1, Seed: 1, ValFraction: 0.1, EvalInterval: 0, EvalBatches: 0)
        {
            Optimizer = TrainingSettings.MuonName,
            AdamW = new OptimizerSettings(Beta1: 0.9, Beta2: 0.95, Epsilon: 1e-8, WeightDecay: 0.1),
            Muon = new MuonSettings(LearningRate: 0.05, Momentum: 0.95, WeightDecay: 0.1),
        };
        var muon = new Muon(training, model.Parameters);
        var outputs = new List<NamedTensor>();
        // A lower rate each step, as a schedule gives: Muon's rate must follow it in proportion.
        float[] rates = [2e-3f, 1.5e-3f, 1e-3f];
        for (var step = 0; step < Steps; step++)
        {
            Initialization.Normal(model.Parameters.Grads, 0.01, random);
            outputs.AddRange(model.Parameters.Parameters.Select(
                p => new NamedTensor($"grad.{step}.{p.Name}", p.Shape, model.Parameters.Grads.AsMemory(p.Offset, p.Length).ToArray())));
            muon.Update(model.Parameters, rates[step]);
        }
        outputs.AddRange(model.Parameters.Parameters.Select(p => new NamedTensor($"after.{p.Name}", p.Shape, model.Parameters.Values.AsMemory(p.Offset, p.Length))));
        var metadata = new Dictionary<string, string>
        {
            ["steps"] = Steps.ToString(CultureInfo.InvariantCulture),
            ["rates"] = string.Join(',', rates.Select(r => r.ToString("R", CultureInfo.InvariantCulture))),
            ["learning_rate"] = training.LearningRate.ToString("R", CultureInfo.InvariantCulture),
            ["weight_decay"] = training.AdamW.WeightDecay.ToString("R", CultureInfo.InvariantCulture),
            ["beta1"] = training.AdamW.Beta1.ToString("R", CultureInfo.InvariantCulture),
            ["beta2"] = training.AdamW.Beta2.ToString("R", CultureInfo.InvariantCulture),
            ["muon_learning_rate"] = training.Muon.LearningRate.ToString("R", CultureInfo.InvariantCulture),
            ["muon_momentum"] = training.Muon.Momentum.ToString("R", CultureInfo.InvariantCulture),
            ["muon_weight_decay"] = training.Muon.WeightDecay.ToString("R", CultureInfo.InvariantCulture),
        };
        SafeTensors.Write(Path.Combine(directory, OutputsFile), outputs, metadata);
        Console.WriteLine($"nanollm muon: {Steps} steps on {muon.Matrices.Count()} hidden matrices → {directory}");
    }
}
