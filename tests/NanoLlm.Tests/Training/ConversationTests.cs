using System.Text;
using NanoLlm.Config;
using NanoLlm.Model;
using NanoLlm.Sampling;
using NanoLlm.Tests.Support;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.Tests.Training;

public sealed class ConversationTests
{
    private static readonly SamplingSettings Settings = new(MaxNewTokens: 30, Temperature: 1.0, Seed: 3);

    private readonly LetterModel _model = new(contextLength: 26);

    private Cortex Cortex => new(_model, Tokenizer.ByteLevel);

    private static string Reply(Conversation conversation, string prompt) => string.Concat(conversation.Reply(prompt));

    private string FedText(int from = 0) => Encoding.UTF8.GetString([.. _model.Fed.Skip(from).Select(token => (byte)token)]);

    [Fact]
    public void Turns_draw_on_from_one_random_stream_instead_of_replaying_it()
    {
        var conversation = Cortex.StartConversation(Settings);
        // The letter model ignores its context, so the tokens depend on the random stream alone.
        var sampler = new Sampler(Settings, 256, 26);
        var logits = _model.StartInference().Feed('a').ToArray();
        var oneStream = Encoding.UTF8.GetString([.. Enumerable.Range(0, 60).Select(_ => (byte)sampler.Next(logits))]);

        var first = Reply(conversation, "a");
        var second = Reply(conversation, "a");

        Assert.NotEqual(first, second);
        Assert.Equal(oneStream, first + second);
    }

    [Fact]
    public void The_same_seed_and_turns_give_the_same_replies()
    {
        var cortex = Cortex;
        string[] Replies()
        {
            var conversation = cortex.StartConversation(Settings);
            return [Reply(conversation, "a"), Reply(conversation, "b"), Reply(conversation, "c")];
        }

        Assert.Equal(Replies(), Replies());
    }

    [Fact]
    public void Each_later_turn_is_fed_on_a_new_line_after_the_text_so_far()
    {
        var conversation = Cortex.StartConversation(Settings);

        var first = Reply(conversation, "ab");
        var second = Reply(conversation, "cd");

        Assert.Equal($"ab{first}\ncd{second}", FedText());
    }

    [Fact]
    public void An_empty_first_prompt_starts_from_a_newline()
    {
        var conversation = Cortex.StartConversation(Settings with { MaxNewTokens = 1 });

        var reply = Reply(conversation, "");

        Assert.Equal($"\n{reply}", FedText());
    }

    [Fact]
    public void Reset_forgets_the_context_and_restarts_from_the_starting_settings()
    {
        var conversation = Cortex.StartConversation(Settings);
        var first = Reply(conversation, "a");
        conversation.Settings = Settings with { Temperature = 0.5, Seed = 9 };
        Reply(conversation, "b");

        conversation.Reset();
        var resetAt = _model.Fed.Count;
        var again = Reply(conversation, "a");

        Assert.Equal(Settings, conversation.Settings);
        Assert.Equal(-1, _model.Fed[resetAt - 1]);
        Assert.Equal(first, again);
        Assert.Equal($"a{again}", FedText(resetAt));
    }

    [Fact]
    public void A_new_seed_restarts_the_stream_from_the_next_turn()
    {
        var conversation = Cortex.StartConversation(Settings with { Seed = 1 });
        Reply(conversation, "a");

        conversation.Settings = conversation.Settings with { Seed = 7 };

        Assert.Equal(Reply(Cortex.StartConversation(Settings with { Seed = 7 }), "a"), Reply(conversation, "a"));
    }

    [Fact]
    public void Max_new_tokens_bounds_each_turn_as_it_is_when_the_turn_starts()
    {
        var conversation = Cortex.StartConversation(Settings with { MaxNewTokens = 4 });
        var first = Reply(conversation, "a");

        conversation.Settings = conversation.Settings with { MaxNewTokens = 9 };

        Assert.Equal(4, first.Length);
        Assert.Equal(9, Reply(conversation, "a").Length);
    }

    [Fact]
    public void Cancelling_stops_the_turn_before_the_next_token()
    {
        using var cancellation = new CancellationTokenSource();
        var conversation = Cortex.StartConversation(Settings);
        var pieces = new List<string>();

        foreach (var piece in conversation.Reply("a", cancellation.Token))
        {
            pieces.Add(piece);
            if (pieces.Count == 3)
            {
                cancellation.Cancel();
            }
        }

        Assert.Equal(3, pieces.Count);
    }

    [Fact]
    public void The_repetition_penalty_sees_the_model_context_across_turns()
    {
        // At τ = 0.05 a letter penalized by 100 (1 → 0.01) keeps e^-19.8 of an unpenalized letter's weight: the reply is
        // the one letter not in the last 26 tokens.
        var conversation = Cortex.StartConversation(new SamplingSettings(MaxNewTokens: 1, Temperature: 0.05, RepetitionPenalty: 100, Seed: 1));

        var first = Reply(conversation, "abcdefghijklmnopqrstuvwxy");
        var second = Reply(conversation, "");

        Assert.Equal("z", first);
        // The window now holds b … z and the turn's newline: "a" has left it.
        Assert.Equal("a", second);
    }

    [Fact]
    public void The_last_draw_is_the_last_token_of_the_reply_with_the_model_probabilities_it_was_drawn_from()
    {
        // A bigram whose row 'a' favours 'b' and row 'b' favours 'c': greedy replies "bc" to "a".
        var bigram = new BigramModel(256, new SettingsSection("model", "test", new Dictionary<string, SettingValue>()));
        var table = bigram.Parameters["token_logits"].Values;
        table[('a' * 256) + 'b'] = 4f;
        table[('b' * 256) + 'c'] = 3f;
        table[('b' * 256) + ' '] = 2f;
        var conversation = new Cortex(bigram, Tokenizer.ByteLevel).StartConversation(new SamplingSettings(MaxNewTokens: 2, Temperature: 0));
        Assert.Null(conversation.LastDraw(3));

        Assert.Equal("bc", Reply(conversation, "a"));
        var draw = conversation.LastDraw(3)!;

        var total = Math.Exp(3) + Math.Exp(2) + 254;
        Assert.Equal(((int)'c', "c"), (draw.Drawn.Token, draw.Drawn.Text));
        Assert.Equal(Math.Exp(3) / total, draw.Drawn.Probability, 1e-9);
        Assert.Equal(["c", "␣", "\\x00"], draw.Top.Select(c => c.Text));
        Assert.Equal(Math.Exp(2) / total, draw.Top[1].Probability, 1e-9);

        conversation.Reset();
        Assert.Null(conversation.LastDraw(3));
    }
}
