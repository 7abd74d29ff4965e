namespace NanoLlm.Config;

/// <summary>One key's value and where it was written: a line of the run file, a <c>--set</c>, or a weights file.</summary>
/// <param name="Value">A <see cref="long"/>, <see cref="double"/>, <see cref="string"/> or <see cref="bool"/>.</param>
/// <param name="Origin">Where the value came from, as error messages print it: <c>configs/mlp.toml:7</c>.</param>
public sealed record SettingValue(object Value, string Origin);
