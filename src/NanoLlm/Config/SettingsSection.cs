using System.Globalization;
using System.Text.Json;

namespace NanoLlm.Config;

/// <summary>
/// The keys of one section (<c>[model]</c>, <c>[training]</c> …) with typed, range-checked reads. Every read marks
/// its key as known, so after the owner of a section has read what it understands, <see cref="RejectUnknownKeys"/>
/// reports a typo'd key with the list of keys that section accepts. The model section is read by the model's own
/// registry entry, which is why this type is public: a new model declares its keys where it is built.
/// </summary>
public sealed class SettingsSection
{
    private readonly Dictionary<string, SettingValue> _values;
    private readonly HashSet<string> _knownKeys = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, object> _resolved = new(StringComparer.Ordinal);

    public SettingsSection(string name, string origin, IReadOnlyDictionary<string, SettingValue> values)
    {
        Name = name;
        Origin = origin;
        _values = new Dictionary<string, SettingValue>(values, StringComparer.Ordinal);
    }

    /// <summary>The section's name without brackets, e.g. <c>model</c>.</summary>
    public string Name { get; }

    /// <summary>Where the section was written (file and line of its header), for errors about missing keys.</summary>
    public string Origin { get; }

    /// <summary>Every key read so far with the value used (defaults included): what a weights file records.</summary>
    public IReadOnlyDictionary<string, object> Resolved => _resolved;

    /// <summary>The keys as written (in the run file, by <c>--set</c> or in a weights file), before defaults.</summary>
    public IReadOnlyDictionary<string, SettingValue> Written => _values;

    public bool Contains(string key) => _values.ContainsKey(key);

    /// <summary>Where <paramref name="key"/> was written, or the section's own origin when it was not.</summary>
    public string OriginOf(string key) => _values.TryGetValue(key, out var setting) ? setting.Origin : Origin;

    public string GetString(string key, string? defaultValue = null)
    {
        var value = Read(key, defaultValue, "a string", "\"text\"");
        return value as string ?? throw WrongType(key, "a string, e.g. \"text\"");
    }

    /// <summary>Reads a string that must be one of <paramref name="choices"/>.</summary>
    public string GetChoice(string key, string defaultValue, params string[] choices)
    {
        var value = GetString(key, defaultValue);
        if (Array.IndexOf(choices, value) < 0)
        {
            throw Invalid(key, $"\"{value}\" is not one of {string.Join(", ", choices.Select(c => $"\"{c}\""))}");
        }
        return value;
    }

    public int GetInt(string key, int? defaultValue, int min, int max)
    {
        var value = Read(key, defaultValue.HasValue ? (long)defaultValue.Value : null, "a whole number", "1");
        if (value is not long whole)
        {
            throw WrongType(key, "a whole number (no quotes, no decimal point)");
        }
        if (whole < min || whole > max)
        {
            throw Invalid(key, $"{whole} is out of range: use a whole number from {min} to {max}");
        }
        return (int)whole;
    }

    /// <summary>Reads a number; whole numbers are accepted too. <paramref name="minExclusive"/> makes the minimum a strict bound.</summary>
    public double GetDouble(string key, double? defaultValue, double min, double max, bool minExclusive = false)
    {
        var value = Read(key, defaultValue, "a number", "0.5");
        var number = value switch
        {
            double d => d,
            long l => l,
            _ => throw WrongType(key, "a number, e.g. 0.5"),
        };
        var belowMin = minExclusive ? number <= min : number < min;
        if (double.IsNaN(number) || belowMin || number > max)
        {
            var lower = minExclusive ? $"greater than {Format(min)}" : $"at least {Format(min)}";
            var upper = double.IsPositiveInfinity(max) ? "" : $" and at most {Format(max)}";
            throw Invalid(key, $"{Format(number)} is out of range: use a number {lower}{upper}");
        }
        return number;
    }

    /// <summary>Reads a list of strings, <c>["a", "b"]</c>; empty when the key is absent.</summary>
    public IReadOnlyList<string> GetStringList(string key)
    {
        var value = Read(key, Array.Empty<string>(), "a list of strings", "[\"text\"]");
        return value as string[] ?? throw WrongType(key, "a list of strings, e.g. [\"<|endoftext|>\"]");
    }

    public bool GetBool(string key, bool defaultValue)
    {
        var value = Read(key, defaultValue, "true or false", "true");
        return value is bool b ? b : throw WrongType(key, "true or false");
    }

    /// <summary>Marks keys this section's owner accepts without reading them here (they are read elsewhere).</summary>
    public void Accept(params string[] keys)
    {
        foreach (var key in keys)
        {
            _knownKeys.Add(key);
        }
    }

    /// <summary>Throws for the first key (in file order) that no read asked for: a typo or a key this model does not take.</summary>
    public void RejectUnknownKeys()
    {
        foreach (var (key, setting) in _values)
        {
            if (!_knownKeys.Contains(key))
            {
                var known = string.Join(", ", _knownKeys.Order(StringComparer.Ordinal));
                throw new ConfigException($"{setting.Origin}: unknown key [{Name}] {key}: the keys of [{Name}] here are {known}");
            }
        }
    }

    /// <summary>The resolved values as JSON (numbers, strings, booleans), the form a weights file keeps them in.</summary>
    public string ToJson() => JsonSerializer.Serialize(_resolved);

    /// <summary>Reads a section back from <see cref="ToJson"/>; <paramref name="origin"/> names where it came from.</summary>
    public static SettingsSection FromJson(string name, string origin, string json)
    {
        var values = new Dictionary<string, SettingValue>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ConfigException($"{origin}: [{name}] settings are not a JSON object");
            }
            foreach (var property in document.RootElement.EnumerateObject())
            {
                object value = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString()!,
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    JsonValueKind.Number when property.Value.TryGetInt64(out var whole) => whole,
                    JsonValueKind.Number => property.Value.GetDouble(),
                    _ => throw new ConfigException($"{origin}: [{name}] {property.Name} has an unsupported value"),
                };
                values[property.Name] = new SettingValue(value, origin);
            }
        }
        catch (JsonException e)
        {
            // Where the JSON broke, not the reader's message: that quotes the text, which may hold line breaks.
            throw new ConfigException($"{origin}: [{name}] settings are not valid JSON (at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})", e);
        }
        catch (InvalidOperationException e)
        {
            // A \u escape of half a surrogate pair is valid JSON but no .NET string.
            throw new ConfigException($"{origin}: [{name}] settings hold a name or value that is not valid text ({e.Message})", e);
        }
        return new SettingsSection(name, origin, values);
    }

    private object Read(string key, object? defaultValue, string kind, string example)
    {
        _knownKeys.Add(key);
        if (_values.TryGetValue(key, out var setting))
        {
            _resolved[key] = setting.Value;
            return setting.Value;
        }
        if (defaultValue is null)
        {
            foreach (var (written, value) in _values)
            {
                if (!_knownKeys.Contains(written) && EditDistance(written, key) <= 2)
                {
                    throw new ConfigException($"{value.Origin}: unknown key [{Name}] {written}: did you mean {key}?");
                }
            }
            throw new ConfigException($"{Origin}: missing key [{Name}] {key}: add {key} = {example} ({kind})");
        }
        _resolved[key] = defaultValue;
        return defaultValue;
    }

    private ConfigException WrongType(string key, string expected) =>
        Invalid(key, $"{Describe(_values[key].Value)} is not {expected}");

    private ConfigException Invalid(string key, string problem)
    {
        var origin = _values.TryGetValue(key, out var setting) ? setting.Origin : Origin;
        return new ConfigException($"{origin}: [{Name}] {key}: {problem}");
    }

    private static string Describe(object value) => value switch
    {
        string s => $"\"{s}\"",
        string[] list => $"[{string.Join(", ", list.Select(s => $"\"{s}\""))}]",
        bool b => b ? "true" : "false",
        double d => Format(d),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    private static string Format(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
