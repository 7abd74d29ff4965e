namespace NanoLlm.Config;

/// <summary>
/// A run file (or a setting from the command line) that cannot be used. The message is one line that names the
/// file, line and key and says how to fix it; the programs print it and exit with code 2.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string message) : base(message) { }

    public ConfigException(string message, Exception innerException) : base(message, innerException) { }

    public ConfigException() { }
}
