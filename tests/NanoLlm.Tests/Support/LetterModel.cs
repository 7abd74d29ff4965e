using NanoLlm.Config;
using NanoLlm.Model;

namespace NanoLlm.Tests.Support;

/// <summary>
/// A stand-in model over bytes that ignores its context: every lowercase letter equally likely, anything else next to
/// impossible. It records what it is fed and when it is reset, so a test can see the context a caller builds.
/// </summary>
public sealed class LetterModel : ILanguageModel
{
    private readonly float[] _logits = new float[256];

    public LetterModel(int contextLength)
    {
        Spec = new ModelSpec("letters", 256, contextLength, new SettingsSection("model", "test", new Dictionary<string, SettingValue>()));
        _logits.AsSpan().Fill(-40f);
        _logits.AsSpan('a', 26).Fill(1f);
    }

    public ModelSpec Spec { get; }

    public ParameterSet Parameters { get; } = new([]);

    public bool Training { get; set; }

    /// <summary>Every token fed since the model was made, with a <c>-1</c> where the context was reset.</summary>
    public List<int> Fed { get; } = [];

    public void Initialize(Random random)
    {
    }

    public float Forward(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batchSize, int length) =>
        throw new NotSupportedException("LetterModel only generates.");

    public void Backward() => throw new NotSupportedException("LetterModel only generates.");

    public IInference StartInference() => new Inference(this);

    private sealed class Inference(LetterModel model) : IInference
    {
        public ReadOnlySpan<float> Feed(int token)
        {
            model.Fed.Add(token);
            return model._logits;
        }

        public void Reset() => model.Fed.Add(-1);
    }
}
