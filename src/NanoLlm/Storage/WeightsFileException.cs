namespace NanoLlm.Storage;

/// <summary>
/// A weights file that cannot be used: missing, truncated, corrupted, foreign, or not matching the model it describes.
/// The message is one line that starts with the file's path; the programs print it and exit with code 2.
/// </summary>
public sealed class WeightsFileException : Exception
{
    public WeightsFileException(string message) : base(message) { }

    public WeightsFileException(string message, Exception innerException) : base(message, innerException) { }

    public WeightsFileException() { }
}
