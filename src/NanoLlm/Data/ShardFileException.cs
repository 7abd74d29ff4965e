namespace NanoLlm.Data;

/// <summary>
/// A token shard that cannot be used: not llm.c's format, truncated, holding token ids the run's vocabulary does not
/// have, or written by another tokenizer. The message is one line that starts with the shard's path; the programs
/// print it and exit with code 2.
/// </summary>
public sealed class ShardFileException : Exception
{
    public ShardFileException(string message) : base(message) { }

    public ShardFileException(string message, Exception innerException) : base(message, innerException) { }

    public ShardFileException() { }
}
