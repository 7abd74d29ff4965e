namespace NanoLlm.Tokenization;

/// <summary>
/// How text is cut into pieces before byte-pair encoding, so that merges never join a word to its neighbour or a
/// letter to punctuation. Each pattern is one of the published regular expressions, applied to Unicode code points
/// as tiktoken applies them (a lone UTF-16 surrogate counts as U+FFFD, as tiktoken replaces it before splitting).
/// </summary>
public enum SplitPattern
{
    /// <summary>No split: the whole text is one piece (minbpe's basic tokenizer).</summary>
    None,

    /// <summary>GPT-2's: <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>.</summary>
    Gpt2,

    /// <summary>
    /// GPT-4's (cl100k_base): <c>'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+</c>.
    /// </summary>
    Gpt4,

    /// <summary>
    /// GPT-4o's (o200k_base): words as an optional non-letter prefix, upper-case then lower-case letters (marks count as
    /// both) and an optional case-insensitive contraction; numbers in runs of up to 3 digits; punctuation runs with
    /// trailing <c>\r\n/</c>; whitespace as GPT-4's.
    /// </summary>
    O200k,
}

/// <summary>The names of <see cref="SplitPattern"/> in run files and weights files.</summary>
public static class SplitPatterns
{
    private static readonly string[] AllNames = ["none", "gpt2", "gpt4", "o200k"];

    public static IReadOnlyList<string> Names => AllNames;

    public static string Name(SplitPattern pattern) => AllNames[(int)pattern];

    public static bool TryParse(string name, out SplitPattern pattern)
    {
        var index = Array.IndexOf(AllNames, name);
        pattern = (SplitPattern)Math.Max(index, 0);
        return index >= 0;
    }
}
