namespace NanoLlm.Training;

/// <param name="Loss">Mean cross-entropy, nats per token.</param>
/// <param name="BitsPerByte">Total nats / ln 2 / bytes of the text scored.</param>
public readonly record struct Evaluation(double Loss, double BitsPerByte);
