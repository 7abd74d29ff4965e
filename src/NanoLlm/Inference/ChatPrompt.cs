namespace NanoLlm.Inference;

public enum ChatRole
{
    System,
    User,
    Assistant,
}

/// <summary>One message of a chat: who said it and what.</summary>
public readonly record struct ChatTurn(ChatRole Role, string Text);

/// <summary>
/// How a chat becomes a prompt for a base model (NanoLlm's models are trained on plain text, with no roles): the
/// messages are joined as the terminal chat joins its turns. Each system or user message starts a new line, each
/// assistant message continues the text right where it stands, and the reply continues from the end. The roles
/// themselves are not written: <c>[user "ROMEO:", assistant " What?", user "JULIET:"]</c> is <c>"ROMEO: What?\nJULIET:"</c>.
/// </summary>
public static class ChatPrompt
{
    public const string TurnSeparator = "\n";

    public static string Format(IEnumerable<ChatTurn> messages)
    {
        var prompt = new System.Text.StringBuilder();
        var hasText = false;
        foreach (var (role, text) in messages)
        {
            if (role != ChatRole.Assistant && hasText)
            {
                prompt.Append(TurnSeparator.AsSpan());
            }
            prompt.Append(text);
            hasText = true;
        }
        return prompt.ToString();
    }
}
