using NanoLlm.Inspection;
using NanoLlm.Tokenization;

namespace NanoLlm.Tests.Inspection;

public sealed class TokenTextTests
{
    [Theory]
    [InlineData("ROMEO:", "ROMEO:")]
    [InlineData(" the", "␣the")]
    [InlineData("\n", "\\n")]
    [InlineData("a\tb\r", "a\\tb\\r")]
    [InlineData("back\\slash", "back\\\\slash")]
    [InlineData("é", "é")]
    [InlineData("\u0007", "\\x07")]
    [InlineData("\u00A0", "\\xC2\\xA0")]
    public void Whitespace_and_control_characters_are_escaped_and_text_is_kept(string text, string shown)
    {
        Assert.Equal(shown, TokenText.Escape(System.Text.Encoding.UTF8.GetBytes(text)));
    }

    [Fact]
    public void A_byte_that_is_part_of_a_character_shows_as_its_hex_value()
    {
        var bytes = "é"u8.ToArray();

        Assert.Equal("\\xC3", TokenText.Show(Tokenizer.ByteLevel, bytes[0]));
        Assert.Equal("\\xA9", TokenText.Show(Tokenizer.ByteLevel, bytes[1]));
    }
}
