namespace NanoLlm.Tokenization;

/// <summary>Two adjacent tokens; as a merge, the pair that becomes one new token.</summary>
public readonly record struct TokenPair(int Left, int Right)
{
    /// <summary>
    /// Both tokens in one number, <c>Left · 65536 + Right</c>: a cheap dictionary key that orders pairs by left token,
    /// then right token (tokens are below 65536).
    /// </summary>
    internal uint Key => ((uint)Left << 16) | (uint)Right;

    internal static TokenPair FromKey(uint key) => new((int)(key >> 16), (int)(key & 0xFFFF));
}
