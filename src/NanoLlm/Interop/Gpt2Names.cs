namespace NanoLlm.Interop;

/// <summary>
/// NanoLlm's GPT parameters under their Hugging Face GPT-2 names, in one table (the names are nanoGPT's, which are
/// GPT-2's: only the embeddings gain <c>.weight</c>). Hugging Face keeps the four projections in its <c>Conv1D</c>
/// layout, <c>weight[in, out]</c> with <c>y = x·W + b</c>; NanoLlm keeps PyTorch <c>Linear</c>'s <c>weight[out, in]</c>,
/// so those four are transposed on the way in and out.
/// </summary>
public static class Gpt2Names
{
    /// <summary>One parameter: its NanoLlm name, its Hugging Face name (without <c>transformer.</c>) and whether it is a Conv1D weight.</summary>
    public sealed record Entry(string NanoLlm, string HuggingFace, bool Conv1D);

    public const string HuggingFacePrefix = "transformer.";
    public const string HuggingFaceHead = "lm_head.weight";

    /// <summary>Every parameter of a GPT-2 with <paramref name="layers"/> blocks and an untied head or not, in NanoLlm's order.</summary>
    public static IReadOnlyList<Entry> Table(int layers, bool tiedHead)
    {
        var table = new List<Entry> { new("wte", "wte.weight", false), new("wpe", "wpe.weight", false) };
        for (var l = 0; l < layers; l++)
        {
            foreach (var (name, conv1D) in BlockParameters)
            {
                table.Add(new($"h.{l}.{name}", $"h.{l}.{name}", conv1D));
            }
        }
        table.Add(new("ln_f.weight", "ln_f.weight", false));
        table.Add(new("ln_f.bias", "ln_f.bias", false));
        if (!tiedHead)
        {
            table.Add(new("lm_head.weight", HuggingFaceHead, false));
        }
        return table;
    }

    /// <summary>A block's parameters in NanoLlm's order; the <c>weight</c>s of <c>c_attn</c>, <c>c_proj</c> and <c>c_fc</c> are Conv1D.</summary>
    private static readonly (string Name, bool Conv1D)[] BlockParameters =
    [
        ("ln_1.weight", false), ("ln_1.bias", false),
        ("attn.c_attn.weight", true), ("attn.c_attn.bias", false),
        ("attn.c_proj.weight", true), ("attn.c_proj.bias", false),
        ("ln_2.weight", false), ("ln_2.bias", false),
        ("mlp.c_fc.weight", true), ("mlp.c_fc.bias", false),
        ("mlp.c_proj.weight", true), ("mlp.c_proj.bias", false),
    ];

    /// <summary>b[cols, rows] = aᵀ for a[rows, cols]: Conv1D's [in, out] ⇄ Linear's [out, in].</summary>
    public static void Transpose(Span<float> b, ReadOnlySpan<float> a, int rows, int cols)
    {
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < cols; j++)
            {
                b[(j * rows) + i] = a[(i * cols) + j];
            }
        }
    }
}
