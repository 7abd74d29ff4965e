namespace NanoLlm.Storage;

/// <summary>A tensor to write: its name in the file, its row-major shape and its values (as many as the shape holds).</summary>
public sealed record NamedTensor(string Name, int[] Shape, ReadOnlyMemory<float> Data);
