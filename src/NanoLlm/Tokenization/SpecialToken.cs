namespace NanoLlm.Tokenization;

/// <summary>A token that stands for a control marker such as <c>&lt;|endoftext|&gt;</c>: never made by merges, matched whole.</summary>
/// <param name="Text">Its spelling, e.g. <c>&lt;|endoftext|&gt;</c>.</param>
/// <param name="Id">Its token id.</param>
public readonly record struct SpecialToken(string Text, int Id);

/// <summary>What <see cref="Tokenizer.Encode(string, SpecialTokenHandling)"/> does with the spelling of a special token in the text (tiktoken's allowed/disallowed specials).</summary>
public enum SpecialTokenHandling
{
    /// <summary>The text must not hold any: it is refused with an error naming the token (tiktoken's default).</summary>
    Refuse,

    /// <summary>Spellings are ordinary text, encoded like any other (tiktoken's <c>encode_ordinary</c>).</summary>
    AsText,

    /// <summary>Spellings become their special tokens (tiktoken's <c>allowed_special="all"</c>).</summary>
    Allow,
}
