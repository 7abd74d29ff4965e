namespace NanoLlm.Train;

/// <summary>
/// The first Ctrl-C asks training to stop after the current step (the weights are still written); a second one
/// ends the process at once. Weights are written atomically, so neither leaves a half-written file.
/// </summary>
internal sealed class Interrupt : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly string _notice;

    public Interrupt(string notice = "stopping after this step (Ctrl-C again to quit at once)")
    {
        _notice = notice;
        Console.CancelKeyPress += OnCancelKeyPress;
    }

    public CancellationToken Token => _source.Token;

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        _source.Dispose();
    }

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        if (_source.IsCancellationRequested)
        {
            return;
        }
        e.Cancel = true;
        Console.Error.WriteLine(_notice);
        _source.Cancel();
    }
}
