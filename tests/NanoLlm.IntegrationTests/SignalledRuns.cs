namespace NanoLlm.IntegrationTests;

/// <summary>
/// Test classes that interrupt a training process (Ctrl-C) and expect it to answer within a short run. They run alone,
/// after the parallel tests: on a loaded machine the signal's handler can start later than a short run ends.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SignalledRuns
{
    public const string Name = "signalled training runs";
}
