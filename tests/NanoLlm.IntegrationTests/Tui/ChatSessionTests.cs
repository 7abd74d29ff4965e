using NanoLlm.Chat.Tui;

namespace NanoLlm.IntegrationTests.Tui;

public sealed class ChatSessionTests : IDisposable
{
    private readonly ChatSession _session = new();

    public void Dispose() => _session.Dispose();

    [Fact]
    public void A_new_session_is_idle_with_an_empty_transcript()
    {
        Assert.Equal(ChatState.Idle, _session.State);
        Assert.False(_session.IsBusy);
        Assert.Equal("", _session.Transcript);
    }

    [Fact]
    public void Starting_a_turn_echoes_the_prompt_and_opens_the_model_line()
    {
        Assert.True(_session.TryStartTurn("hello", out var cancellation));

        Assert.Equal(ChatState.Generating, _session.State);
        Assert.Equal("you: hello\nmodel: ", _session.Transcript);
        Assert.False(cancellation.IsCancellationRequested);
    }

    [Fact]
    public void Streamed_pieces_append_to_the_model_line_and_finishing_closes_it()
    {
        _session.TryStartTurn("hello", out _);

        _session.AppendPiece("wor");
        _session.AppendPiece("ld");
        _session.FinishTurn();

        Assert.Equal(ChatState.Idle, _session.State);
        Assert.Equal("you: hello\nmodel: world\n", _session.Transcript);
    }

    [Fact]
    public void A_note_goes_on_its_own_line_under_the_reply()
    {
        _session.TryStartTurn("hello", out _);
        _session.AppendPiece("world");

        _session.FinishTurn("last token d (0.900) among d 0.900");

        Assert.Equal("you: hello\nmodel: world\nlast token d (0.900) among d 0.900\n", _session.Transcript);
    }

    [Fact]
    public void Turns_are_separated_by_a_blank_line()
    {
        _session.TryStartTurn("a", out _);
        _session.AppendPiece("b");
        _session.FinishTurn();

        _session.TryStartTurn("c", out _);
        _session.AppendPiece("d");
        _session.FinishTurn();

        Assert.Equal("you: a\nmodel: b\n\nyou: c\nmodel: d\n", _session.Transcript);
    }

    [Fact]
    public void A_second_turn_is_refused_while_a_completion_is_running()
    {
        _session.TryStartTurn("first", out _);

        Assert.False(_session.TryStartTurn("second", out var cancellation));

        Assert.Equal(CancellationToken.None, cancellation);
        Assert.Equal("you: first\nmodel: ", _session.Transcript);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void A_blank_prompt_is_refused(string prompt)
    {
        Assert.False(_session.TryStartTurn(prompt, out _));

        Assert.Equal(ChatState.Idle, _session.State);
        Assert.Equal("", _session.Transcript);
    }

    [Fact]
    public void Stopping_cancels_the_token_and_marks_the_cut_short_completion()
    {
        _session.TryStartTurn("hello", out var cancellation);
        _session.AppendPiece("wor");

        Assert.True(_session.RequestStop());

        Assert.True(cancellation.IsCancellationRequested);
        Assert.Equal(ChatState.Stopping, _session.State);
        Assert.False(_session.TryStartTurn("again", out _));

        _session.FinishTurn();

        Assert.Equal(ChatState.Idle, _session.State);
        Assert.Equal("you: hello\nmodel: wor [stopped]\n", _session.Transcript);
    }

    [Fact]
    public void Stopping_does_nothing_when_idle_or_already_stopping()
    {
        Assert.False(_session.RequestStop());

        _session.TryStartTurn("hello", out _);
        _session.RequestStop();

        Assert.False(_session.RequestStop());
    }

    [Fact]
    public void A_failed_completion_says_why_and_the_chat_goes_on()
    {
        _session.TryStartTurn("hello", out _);
        _session.AppendPiece("wo");

        _session.FailTurn("model exploded");

        Assert.Equal(ChatState.Idle, _session.State);
        Assert.Equal("you: hello\nmodel: wo [error: model exploded]\n", _session.Transcript);
        Assert.True(_session.TryStartTurn("again", out _));
    }

    [Fact]
    public void A_command_and_its_answer_form_an_exchange_of_their_own()
    {
        _session.TryStartTurn("a", out _);
        _session.AppendPiece("b");
        _session.FinishTurn();

        Assert.True(_session.TryAnswerCommand("/temp 0.5", "temp 0.8 → 0.5"));

        Assert.Equal("you: a\nmodel: b\n\nyou: /temp 0.5\nchat: temp 0.8 → 0.5\n", _session.Transcript);
        Assert.Equal(ChatState.Idle, _session.State);
    }

    [Fact]
    public void A_command_waits_for_the_running_completion()
    {
        _session.TryStartTurn("a", out _);

        Assert.False(_session.TryAnswerCommand("/temp 0.5", "temp 0.8 → 0.5"));

        Assert.Equal("you: a\nmodel: ", _session.Transcript);
    }

    [Fact]
    public void Pieces_and_endings_need_a_running_completion()
    {
        Assert.Throws<InvalidOperationException>(() => _session.AppendPiece("x"));
        Assert.Throws<InvalidOperationException>(() => _session.FinishTurn());
        Assert.Throws<InvalidOperationException>(() => _session.FailTurn("x"));
    }
}
