using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoLlm.Bench.LibTorch;

/// <summary>
/// NanoLlm's GPT (nanoGPT's architecture: learned positions, pre-norm blocks, GELU in its tanh form, tied head) in
/// LibTorch 2.10 through TorchSharp, trained on random tokens for timing: each step zeroes the gradients, runs forward
/// to the mean cross-entropy, backward, clips the gradient norm to 1 and takes an AdamW step, as NanoLlm's trainer
/// does. Attention is LibTorch's fused <c>scaled_dot_product_attention</c> (causal), the best it offers on a CPU.
/// Prints one JSON line: the threads LibTorch reports, the parameter count (NanoLlm's for the same shape), the step times after the warm-up, their median, tokens a step
/// and the peak resident memory (VmHWM).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        int Option(string name, int defaultValue)
        {
            var at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : defaultValue;
        }
        var (batch, length, channels) = (Option("--batch", 12), Option("--length", 64), Option("--channels", 128));
        var (layers, heads, vocab) = (Option("--layers", 4), Option("--heads", 4), Option("--vocab", 256));
        var context = Option("--context", length);
        var (threads, steps, warmup) = (Option("--threads", 1), Option("--steps", 20), Option("--warmup", 3));
        if (channels % heads != 0 || length > context || steps < 1)
        {
            Console.Error.WriteLine("error: heads must divide --channels, --length must not exceed --context, and --steps must be at least 1");
            return 2;
        }

        torch.set_num_threads(threads);
        torch.manual_seed(1337);
        var model = new Gpt(vocab, context, channels, layers, heads);
        var optimizer = torch.optim.AdamW(model.parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.1);
        var inputs = torch.randint(0, vocab, [batch, length], dtype: ScalarType.Int64);
        var targets = torch.randint(0, vocab, [batch, length], dtype: ScalarType.Int64);

        var times = new List<double>();
        for (var step = 0; step < warmup + steps; step++)
        {
            var clock = Stopwatch.StartNew();
            using (torch.NewDisposeScope())
            {
                optimizer.zero_grad();
                var loss = model.forward(inputs, targets);
                loss.backward();
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                optimizer.step();
            }
            if (step >= warmup)
            {
                times.Add(clock.Elapsed.TotalSeconds);
            }
        }
        var sorted = times.Order().ToArray();
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["implementation"] = "LibTorch",
            ["torch"] = torch.__version__,
            ["threads"] = torch.get_num_threads(),
            ["parameters"] = model.parameters().Sum(p => p.numel()),
            ["tokens_per_step"] = batch * length,
            ["step_s"] = sorted[sorted.Length / 2],
            ["step_seconds"] = times,
            ["rss_kib"] = PeakResidentKib(),
        }));
        return 0;
    }

    // VmHWM from /proc/self/status: the process's peak resident set, in KiB (0 where there is no /proc).
    private static long PeakResidentKib()
    {
        if (!File.Exists("/proc/self/status"))
        {
            return 0;
        }
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}

/// <summary>The GPT: tokens and positions embedded, the blocks, a final LayerNorm, the token embedding as the head.</summary>
internal sealed class Gpt : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding _wte;
    private readonly Embedding _wpe;
    private readonly ModuleList<Block> _h;
    private readonly LayerNorm _lnF;

    public Gpt(long vocab, long context, long channels, int layers, int heads) : base("gpt")
    {
        _wte = nn.Embedding(vocab, channels);
        _wpe = nn.Embedding(context, channels);
        _h = nn.ModuleList([.. Enumerable.Range(0, layers).Select(_ => new Block(channels, heads))]);
        _lnF = nn.LayerNorm(channels);
        RegisterComponents();
        // nanoGPT's initialization: matrices and embeddings N(0, 0.02²), biases 0, LayerNorm's γ 1.
        using var _ = torch.no_grad();
        foreach (var (name, parameter) in named_parameters())
        {
            if (parameter.dim() >= 2)
            {
                nn.init.normal_(parameter, 0, 0.02);
            }
            else if (name.EndsWith("bias", StringComparison.Ordinal))
            {
                nn.init.zeros_(parameter);
            }
        }
    }

    // loss = CE(LN_f(Blocks(_wte[idx] + _wpe[t]))·wteᵀ, targets)
    public override Tensor forward(Tensor idx, Tensor targets)
    {
        var positions = torch.arange(idx.shape[1], dtype: ScalarType.Int64);
        var x = _wte.forward(idx) + _wpe.forward(positions);
        foreach (var block in _h)
        {
            x = block.forward(x);
        }
        var logits = nn.functional.linear(_lnF.forward(x), _wte.weight!);
        return nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), targets.view(-1));
    }
}

/// <summary>x + attention(LN₁(x)), then + FFN(LN₂(x)).</summary>
internal sealed class Block : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm _ln1;
    private readonly Linear _cAttn;
    private readonly Linear _attnProj;
    private readonly LayerNorm _ln2;
    private readonly Linear _cFc;
    private readonly Linear _mlpProj;
    private readonly int _heads;

    public Block(long channels, int heads) : base("block")
    {
        _heads = heads;
        _ln1 = nn.LayerNorm(channels);
        _cAttn = nn.Linear(channels, 3 * channels);
        _attnProj = nn.Linear(channels, channels);
        _ln2 = nn.LayerNorm(channels);
        _cFc = nn.Linear(channels, 4 * channels);
        _mlpProj = nn.Linear(4 * channels, channels);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var (b, t, c) = (x.shape[0], x.shape[1], x.shape[2]);
        var qkv = _cAttn.forward(_ln1.forward(x)).split(c, dim: 2);
        Tensor Heads(Tensor z) => z.view(b, t, _heads, c / _heads).transpose(1, 2);
        var attended = nn.functional.scaled_dot_product_attention(Heads(qkv[0]), Heads(qkv[1]), Heads(qkv[2]), is_casual: true);
        x = x + _attnProj.forward(attended.transpose(1, 2).contiguous().view(b, t, c));
        var hidden = nn.functional.gelu(_cFc.forward(_ln2.forward(x)), GELU.Approximate.tanh);
        return x + _mlpProj.forward(hidden);
    }
}
