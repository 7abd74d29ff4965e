using NanoLlm.Config;

namespace NanoLlm.Model;

/// <summary>What defines a model's shape: enough to rebuild it from a weights file.</summary>
/// <param name="Name">The registry name, e.g. <c>bigram</c>.</param>
/// <param name="ContextLength">How many tokens the model sees; the training window length.</param>
/// <param name="Hyperparameters">The model's own <c>[model]</c> keys as resolved (defaults included).</param>
public sealed record ModelSpec(string Name, int VocabSize, int ContextLength, SettingsSection Hyperparameters);

/// <summary>
/// A language model trained by NanoLlm. Training calls <see cref="Forward"/> then <see cref="Backward"/> on the
/// same batch; generation goes through <see cref="StartInference"/>. Adding a model means implementing this and
/// adding one entry to <see cref="ModelRegistry"/>.
/// </summary>
public interface ILanguageModel
{
    ModelSpec Spec { get; }

    ParameterSet Parameters { get; }

    /// <summary>
    /// Whether <see cref="Forward"/> trains (dropout on, where the model has it) or evaluates. The trainer sets it;
    /// it starts false, so a plain forward pass is deterministic.
    /// </summary>
    bool Training { get; set; }

    /// <summary>Fills the parameters with the model's initial values, drawn from <paramref name="random"/>.</summary>
    void Initialize(Random random);

    /// <summary>
    /// Runs the model on <c>inputs[B,T]</c> and returns the mean cross-entropy (nats per token) against
    /// <c>targets[B,T]</c>, keeping the activations for <see cref="Backward"/>. Buffers are sized on the first call
    /// and reused, so a training step allocates nothing.
    /// </summary>
    float Forward(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batchSize, int length);

    /// <summary>Accumulates the gradients of the last <see cref="Forward"/>'s loss into <c>Parameters.Grads</c>.</summary>
    void Backward();

    /// <summary>A generation session: feed tokens one at a time, read the next token's logits after each.</summary>
    IInference StartInference();

    /// <summary>
    /// Inference for up to <paramref name="slots"/> sequences decoded together. A model without a batched path of its
    /// own feeds them one at a time through <see cref="StartInference"/>.
    /// </summary>
    IBatchedInference StartBatchedInference(int slots) => new SequentialBatchedInference(this, slots);
}

/// <summary>Incremental inference: each <see cref="Feed"/> costs one position's work where the model allows it.</summary>
public interface IInference
{
    /// <summary>Appends <paramref name="token"/> to the context and returns the logits of the token that follows, <c>[V]</c>.
    /// The span is valid until the next call.</summary>
    ReadOnlySpan<float> Feed(int token);

    /// <summary>Forgets the context.</summary>
    void Reset();
}
