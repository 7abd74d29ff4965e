using NanoLlm.Config;

namespace NanoLlm.Tests.Config;

public sealed class SettingsSectionTests
{
    private static SettingsSection Section(params (string Key, object Value)[] values) =>
        new("model", "run.toml:1", values.ToDictionary(v => v.Key, v => new SettingValue(v.Value, $"run.toml:{Array.IndexOf(values, v) + 2}")));

    [Fact]
    public void Reads_record_the_values_used_including_defaults()
    {
        var section = Section(("hidden_size", 64L));

        section.GetInt("hidden_size", 32, 1, 1024);
        section.GetDouble("dropout", 0.25, 0, 1);

        Assert.Equal(64L, section.Resolved["hidden_size"]);
        Assert.Equal(0.25, section.Resolved["dropout"]);
    }

    [Fact]
    public void Unknown_keys_are_rejected_after_the_known_ones_are_read()
    {
        var section = Section(("hidden_size", 64L), ("hiden_layers", 2L));
        section.GetInt("hidden_size", 32, 1, 1024);

        var message = Assert.Throws<ConfigException>(section.RejectUnknownKeys).Message;

        Assert.Equal("run.toml:3: unknown key [model] hiden_layers: the keys of [model] here are hidden_size", message);
    }

    [Fact]
    public void Json_round_trip_keeps_values_and_types()
    {
        var section = Section(("hidden_size", 64L), ("dropout", 0.5), ("positional", "learned"), ("tied", true));
        section.GetInt("hidden_size", null, 1, 1024);
        section.GetDouble("dropout", null, 0, 1);
        section.GetString("positional");
        section.GetBool("tied", false);

        var copy = SettingsSection.FromJson("model", "weights.bin", section.ToJson());

        Assert.Equal(64, copy.GetInt("hidden_size", null, 1, 1024));
        Assert.Equal(0.5, copy.GetDouble("dropout", null, 0, 1));
        Assert.Equal("learned", copy.GetString("positional"));
        Assert.True(copy.GetBool("tied", false));
    }

    [Fact]
    public void A_choice_outside_the_list_names_the_choices()
    {
        var section = Section(("positional", "rotary"));

        var message = Assert.Throws<ConfigException>(() => section.GetChoice("positional", "sinusoidal", "sinusoidal", "learned")).Message;

        Assert.Equal("run.toml:2: [model] positional: \"rotary\" is not one of \"sinusoidal\", \"learned\"", message);
    }

    [Fact]
    public void Json_escaping_half_a_surrogate_pair_is_a_config_error()
    {
        var message = Assert.Throws<ConfigException>(() => SettingsSection.FromJson("model", "w.weights (metadata)", """{"positional":"\ud800"}""")).Message;

        Assert.StartsWith("w.weights (metadata): [model] settings hold a name or value that is not valid text", message);
    }

    [Fact]
    public void Json_that_is_not_json_is_a_config_error_in_one_line_whatever_text_it_holds()
    {
        var message = Assert.Throws<ConfigException>(() => SettingsSection.FromJson("model", "w.weights (metadata)", "{\"layers\":tru\ne}")).Message;

        Assert.Equal("w.weights (metadata): [model] settings are not valid JSON (at line 1, byte 14)", message);
    }
}
