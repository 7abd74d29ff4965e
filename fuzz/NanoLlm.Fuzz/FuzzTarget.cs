namespace NanoLlm.Fuzz;

/// <summary>
/// One entry point under fuzzing and its contract: fed any bytes, it either succeeds or throws one of the
/// <paramref name="Documented"/> exception types with a one-line message, and allocates no more than a fixed
/// allowance plus a multiple of the input's size (never an amount a number inside the input asks for).
/// </summary>
/// <param name="Run">Feeds the input to the entry point.</param>
/// <param name="Seeds">Real inputs to start from, by name: shipped files or files the library writes.</param>
public sealed record FuzzTarget(string Name, Action<byte[]> Run, Func<IEnumerable<(string Name, byte[] Bytes)>> Seeds, params Type[] Documented)
{
    /// <summary>What any input may allocate: first-call costs and the largest tokenizer a file may hold (8 MiB spelled), plus room for a few copies of the input.</summary>
    public const long FixedAllocationAllowance = 64L << 20;

    public const long AllocationPerInputByte = 256;

    /// <summary>Runs the input; a broken contract escapes as the undocumented exception or a <see cref="FuzzContractException"/>.</summary>
    public void Check(byte[] input)
    {
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        Exception? refusal = null;
        try
        {
            Run(input);
        }
        catch (Exception e) when (Array.IndexOf(Documented, e.GetType()) >= 0)
        {
            refusal = e;
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        var allowance = FixedAllocationAllowance + (AllocationPerInputByte * input.Length);
        if (allocated > allowance)
        {
            var message = $"{Name}: allocated {allocated} bytes for {input.Length} bytes of input (allowance {allowance})";
            throw refusal is null ? new FuzzContractException(message) : new FuzzContractException(message, refusal);
        }
        if (refusal is not null && (string.IsNullOrWhiteSpace(refusal.Message) || refusal.Message.Contains('\n', StringComparison.Ordinal)))
        {
            throw new FuzzContractException($"{Name}: {refusal.GetType().Name} without a one-line message: \"{refusal.Message}\"", refusal);
        }
    }
}

/// <summary>A target broke its contract in a way that is not an exception of its own: a bad message or a runaway allocation.</summary>
public sealed class FuzzContractException : Exception
{
    public FuzzContractException(string message) : base(message) { }

    public FuzzContractException(string message, Exception innerException) : base(message, innerException) { }

    public FuzzContractException() { }
}
