using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;
using NanoLlm.Config;
using NanoLlm.Inference;
using NanoLlm.Training;
using ChatRole = Microsoft.Extensions.AI.ChatRole;

namespace NanoLlm.Extensions.AI;

/// <summary>
/// <see cref="IChatClient"/> over a NanoLlm model: concurrent calls are decoded together by one
/// <see cref="BatchedDecoder"/>. Messages become the prompt as <see cref="ChatPrompt"/> says (the models are base
/// models: no roles are written); <see cref="ChatOptions"/>' <c>MaxOutputTokens</c>, <c>Temperature</c>, <c>TopP</c>,
/// <c>TopK</c>, <c>Seed</c> and <c>StopSequences</c> override the default sampling settings, and a
/// <c>repetition_penalty</c> in <c>AdditionalProperties</c> sets that control.
/// </summary>
public sealed class NanoLlmChatClient : IChatClient
{
    public const string RepetitionPenaltyProperty = "repetition_penalty";

    private readonly BatchedDecoder _decoder;
    private readonly bool _ownsDecoder;
    private readonly SamplingSettings _defaults;
    private readonly ChatClientMetadata _metadata;

    /// <summary>Loads the weights file (as written by <c>train</c>) and decodes up to <paramref name="maxBatch"/> calls together.</summary>
    /// <param name="defaults">The sampling settings of a call that sets nothing; <see cref="SamplingSettings"/>' defaults when null.</param>
    /// <exception cref="Storage.WeightsFileException">The file is missing or not a NanoLlm weights file.</exception>
    public NanoLlmChatClient(string weightsPath, SamplingSettings? defaults = null, int maxBatch = 16)
        : this(new BatchedDecoder(Cortex.Load(weightsPath), maxBatch), defaults, Path.GetFileNameWithoutExtension(weightsPath))
    {
        _ownsDecoder = true;
    }

    /// <summary>Over a decoder the caller owns (and disposes).</summary>
    public NanoLlmChatClient(BatchedDecoder decoder, SamplingSettings? defaults = null, string? modelId = null)
    {
        _decoder = decoder;
        _defaults = defaults ?? new SamplingSettings();
        _metadata = new ChatClientMetadata("nanollm", null, modelId ?? decoder.Cortex.Model.Spec.Name);
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var generation = Start(messages, options, cancellationToken);
        var text = new StringBuilder();
        await foreach (var piece in generation.ReadTextAsync(cancellationToken).ConfigureAwait(false))
        {
            text.Append(piece);
        }
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, text.ToString()))
        {
            ModelId = _metadata.DefaultModelId,
            FinishReason = FinishReasonOf(generation),
            Usage = Usage(generation),
            CreatedAt = DateTimeOffset.UtcNow,
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var generation = Start(messages, options, cancellationToken);
        var responseId = Guid.NewGuid().ToString("N");
        await foreach (var piece in generation.ReadTextAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, piece) { ResponseId = responseId, ModelId = _metadata.DefaultModelId };
        }
        yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(Usage(generation))])
        {
            ResponseId = responseId,
            ModelId = _metadata.DefaultModelId,
            FinishReason = FinishReasonOf(generation),
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : serviceType.IsInstanceOfType(_decoder) ? _decoder
            : null;
    }

    public void Dispose()
    {
        if (_ownsDecoder)
        {
            _decoder.Dispose();
        }
    }

    private Generation Start(IEnumerable<ChatMessage> messages, ChatOptions? options, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var prompt = ChatPrompt.Format(messages.Select(m => new ChatTurn(RoleOf(m.Role), m.Text)));
        return _decoder.Start(prompt, Settings(options), options?.StopSequences is { } stop ? [.. stop] : [], cancellation);
    }

    private static Inference.ChatRole RoleOf(ChatRole role) =>
        role == ChatRole.Assistant ? Inference.ChatRole.Assistant
        : role == ChatRole.System ? Inference.ChatRole.System
        : Inference.ChatRole.User;

    private SamplingSettings Settings(ChatOptions? options)
    {
        if (options is null)
        {
            return _defaults;
        }
        var penalty = options.AdditionalProperties?.TryGetValue(RepetitionPenaltyProperty, out var value) == true
            ? Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture)
            : _defaults.RepetitionPenalty;
        return _defaults with
        {
            MaxNewTokens = options.MaxOutputTokens ?? _defaults.MaxNewTokens,
            Temperature = options.Temperature ?? _defaults.Temperature,
            TopP = options.TopP ?? _defaults.TopP,
            TopK = options.TopK ?? _defaults.TopK,
            Seed = options.Seed is { } seed ? checked((int)seed) : _defaults.Seed,
            RepetitionPenalty = penalty,
        };
    }

    private static ChatFinishReason FinishReasonOf(Generation generation) =>
        generation.Finish == FinishReason.Stop ? ChatFinishReason.Stop : ChatFinishReason.Length;

    private static UsageDetails Usage(Generation generation) => new()
    {
        InputTokenCount = generation.PromptTokens,
        OutputTokenCount = generation.CompletionTokens,
        TotalTokenCount = generation.PromptTokens + generation.CompletionTokens,
    };
}
