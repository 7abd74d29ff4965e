using NanoLlm.Inference;

namespace NanoLlm.Tests.Inference;

public sealed class ChatPromptTests
{
    [Fact]
    public void User_and_system_messages_start_new_lines_and_assistant_messages_continue_the_text()
    {
        var prompt = ChatPrompt.Format(
        [
            new(ChatRole.System, "A play."),
            new(ChatRole.User, "ROMEO:"),
            new(ChatRole.Assistant, " What light?"),
            new(ChatRole.User, "JULIET:"),
        ]);

        Assert.Equal("A play.\nROMEO: What light?\nJULIET:", prompt);
    }

    [Fact]
    public void A_single_user_message_is_the_prompt_as_it_is()
    {
        Assert.Equal("ROMEO:", ChatPrompt.Format([new(ChatRole.User, "ROMEO:")]));
    }
}
