namespace NanoLlm.Config;

/// <summary>A whole run file: what to train, how, where the weights go, and how to sample from them.</summary>
/// <param name="Path">The run file as given on the command line.</param>
/// <param name="Model">
/// The <c>[model]</c> section. <c>name</c> and <c>vocab_size</c> are read here; every other key belongs to the
/// model named, whose registry entry reads it and rejects what it does not know.
/// </param>
public sealed record RunConfig(
    string Path,
    ModelSettings Model,
    TrainingSettings Training,
    WeightsSettings Weights,
    SamplingSettings Sampling)
{
    /// <summary>The <c>[tokenizer]</c> section (for run files without one: what <c>vocab_size</c> implies).</summary>
    public TokenizerSettings Tokenizer { get; init; } = TokenizerSettings.Bytes;

    /// <summary>The <c>[server]</c> section: how <c>serve</c> listens and what it allows a request.</summary>
    public ServerSettings Server { get; init; } = new();

    /// <summary>The <c>[prepare]</c> section: how <c>prepare</c> turns text into token shards; null when the file has none.</summary>
    public PrepareSettings? Prepare { get; init; }
}

/// <summary>
/// How text becomes token shards (llm.c's format), tokenized once before training. Each file is a document, and with
/// a <paramref name="DocumentSeparator"/> so is each stretch of text between two occurrences of it.
/// </summary>
/// <param name="Input">The text: a file, a directory (its files, sorted) or a glob (<c>data/*.txt</c>).</param>
/// <param name="Output">The directory that receives <c>train_000000.bin</c> … and <c>val_000000.bin</c> ….</param>
/// <param name="ValInput">Files held out for validation (a file, directory or glob); empty: the last <paramref name="ValFraction"/> of the input.</param>
/// <param name="ShardTokens">Tokens per shard (the last of each split holds the rest).</param>
/// <param name="TokenizerSampleBytes">With <c>vocab_size</c> over 256: the merges are trained on this many first bytes of the input.</param>
public sealed record PrepareSettings(
    string Input,
    string Output,
    string ValInput,
    double ValFraction,
    int ShardTokens,
    string DocumentSeparator,
    int TokenizerSampleBytes);

/// <summary>
/// How text becomes tokens. <c>bytes</c>: the 256 byte values. <c>bpe</c>: byte-pair encoding, either learned on the
/// corpus up to <c>vocab_size</c> tokens inside the pieces of <see cref="Split"/>, or <see cref="Pretrained"/>.
/// </summary>
/// <param name="Kind"><c>bytes</c> or <c>bpe</c>.</param>
/// <param name="Split">The split pattern; null when not given (none for a learned vocabulary, a pretrained one's own).</param>
/// <param name="Pretrained"><c>gpt2</c>, <c>cl100k_base</c>, <c>o200k_base</c>, a tiktoken ranks file, or a folder holding a Hugging Face <c>vocab.json</c> and <c>merges.txt</c> (or only a <c>tokenizer.json</c> of GPT-2's kind).</param>
/// <param name="SpecialTokens">Spellings of the special tokens (a pretrained vocabulary's own keep their ids).</param>
public sealed record TokenizerSettings(string Kind, string? Split, string? Pretrained, IReadOnlyList<string> SpecialTokens)
{
    public const string BytesKind = "bytes";
    public const string BpeKind = "bpe";

    /// <summary>The split patterns' names: none, GPT-2's, GPT-4's (cl100k_base) and GPT-4o's (o200k_base).</summary>
    public static string[] SplitNames => ["none", "gpt2", "gpt4", "o200k"];

    public static TokenizerSettings Bytes { get; } = new(BytesKind, null, null, []);

    /// <summary>Where the section was written, for errors found when the tokenizer is built.</summary>
    public string Origin { get; init; } = "";
}

/// <param name="Name">Empty until resolved when <c>[training] init_from</c> gives the model instead.</param>
/// <param name="VocabSize">256 means raw bytes; more trains byte-pair merges on the corpus up to this size.</param>
/// <param name="Hyperparameters">The rest of <c>[model]</c>, for the model's registry entry to read.</param>
public sealed record ModelSettings(string Name, int VocabSize, SettingsSection Hyperparameters)
{
    /// <summary>Whether <c>vocab_size</c> was written rather than defaulted.</summary>
    public bool VocabSizeGiven { get; init; }

    public const int MinVocabSize = 256;
    public const int MaxVocabSize = 65_536;
}

/// <param name="Corpus">The training text (UTF-8), or token shards (<c>.bin</c> files, a glob), resolved against the working directory.</param>
/// <param name="Steps">Optimizer steps to take; set directly, or from <c>epochs</c> × the steps one pass over the training split takes.</param>
/// <param name="Epochs">The <c>epochs</c> key when given (0 when <c>steps</c> was given instead).</param>
/// <param name="ValFraction">The last fraction of the corpus held out for validation.</param>
/// <param name="EvalInterval">Evaluate every this many steps (0: only at the end).</param>
/// <param name="EvalBatches">Batches per evaluation; 0 scores the whole split.</param>
public sealed record TrainingSettings(
    string Corpus,
    int Steps,
    int Epochs,
    double LearningRate,
    int BatchSize,
    int Seed,
    double ValFraction,
    int EvalInterval,
    int EvalBatches)
{
    public const string SgdName = "sgd";
    public const string AdamWName = "adamw";
    public const string MuonName = "muon";
    public const string ConstantSchedule = "constant";
    public const string CosineSchedule = "cosine";
    public const string WsdSchedule = "wsd";

    /// <summary><c>sgd</c>, <c>adamw</c> or <c>muon</c> (Muon for the hidden matrices, AdamW for the rest).</summary>
    public string Optimizer { get; init; } = SgdName;

    public OptimizerSettings AdamW { get; init; } = new();

    public MuonSettings Muon { get; init; } = new();

    /// <summary>Linear warmup from 0 over this many steps, then the schedule.</summary>
    public int WarmupSteps { get; init; }

    /// <summary>
    /// <c>constant</c>; <c>cosine</c>: decay from <see cref="LearningRate"/> to <see cref="MinLearningRate"/> by
    /// <see cref="DecaySteps"/>; or <c>wsd</c> (warmup–stable–decay): constant, then a straight line down to
    /// <see cref="MinLearningRate"/> over the run's last <see cref="DecayFraction"/>.
    /// </summary>
    public string Schedule { get; init; } = ConstantSchedule;

    /// <summary>The last fraction of the run over which <c>wsd</c> decays.</summary>
    public double DecayFraction { get; init; } = 0.2;

    /// <summary>
    /// Wall-clock minutes the run may take (0: no budget). Training stops when they are spent, and the schedule's
    /// progress is the time elapsed over the budget instead of steps over steps; <see cref="Steps"/> or
    /// <see cref="Epochs"/>, when given too, cap the steps.
    /// </summary>
    public double TimeBudgetMinutes { get; init; }

    public double MinLearningRate { get; init; }

    /// <summary>The step at which the cosine reaches its minimum; 0 means the run's last step.</summary>
    public int DecaySteps { get; init; }

    /// <summary>Clip the global gradient norm to this; 0 is off.</summary>
    public double GradClip { get; init; }

    /// <summary>Write a checkpoint every this many steps (0: only at the end and when interrupted).</summary>
    public int CheckpointInterval { get; init; }

    /// <summary>Micro-batches whose gradients are averaged into one step.</summary>
    public int GradAccumulationSteps { get; init; } = 1;

    /// <summary>
    /// A weights file (or checkpoint) to start from instead of a fresh model: its model, parameters and tokenizer.
    /// <c>[model]</c> may then be omitted; the keys it sets must agree with the file's, but for <c>dropout</c>, which
    /// shapes no parameter. Null: train from scratch.
    /// </summary>
    public string? InitFrom { get; init; }

    /// <summary>
    /// Measure each parameter tensor's update-to-weight ratio and gradient norm, and the activations' statistics, on
    /// a run's first step and every this many steps (0: off).
    /// </summary>
    public int DiagnosticsInterval { get; init; }
    /// <summary>Held-out text or token shards to validate on instead of the last <see cref="ValFraction"/> of the corpus; empty when unset.</summary>
    public string ValCorpus { get; init; } = "";
}

/// <summary>AdamW's constants (Loshchilov &amp; Hutter 2019); the defaults are nanoGPT's.</summary>
/// <param name="DecayEmbeddings">
/// Decay the embedding tables too (nanoGPT decays every 2-D tensor); off, only the weight matrices are decayed.
/// </param>
public sealed record OptimizerSettings(double Beta1 = 0.9, double Beta2 = 0.95, double Epsilon = 1e-8, double WeightDecay = 0.1, bool DecayEmbeddings = false);

/// <summary>
/// Muon's constants (Jordan et al. 2024, modded-nanogpt). <paramref name="LearningRate"/> follows the run's schedule
/// in proportion: at a step where the schedule gives <c>learning_rate</c>·r, the hidden matrices move by this·r.
/// </summary>
/// <param name="WeightDecay">Decoupled decay of the hidden matrices, θ ← θ·(1 − η·λ); modded-nanogpt's runs use none.</param>
public sealed record MuonSettings(double LearningRate = 0.02, double Momentum = 0.95, double WeightDecay = 0);

public sealed record WeightsSettings(string Path);

/// <summary>
/// How text is drawn from the model's logits; the defaults are the ones a run file gets for keys it leaves out.
/// Each control at its "off" value leaves the distribution as it is.
/// </summary>
/// <param name="Temperature">0 picks the most likely token (greedy); higher values flatten the distribution.</param>
/// <param name="TopK">Draw only among the k most likely tokens; 0 is off.</param>
/// <param name="TopP">Draw only among the fewest most likely tokens whose probability reaches p (nucleus sampling); 1 is off.</param>
/// <param name="RepetitionPenalty">Makes tokens already in the model's context window less likely (CTRL, Keskar et al. 2019); 1 is off.</param>
/// <param name="Seed">Seeds the random stream: the same seed and prompt give the same text.</param>
public sealed record SamplingSettings(
    int MaxNewTokens = 200,
    double Temperature = 1.0,
    int TopK = 0,
    double TopP = 1.0,
    double RepetitionPenalty = 1.0,
    int Seed = 1337)
{
    public const int MaxNewTokensLimit = 1_000_000;
    public const double TemperatureLimit = 100;
    public const int TopKLimit = ModelSettings.MaxVocabSize;
    public const double RepetitionPenaltyLimit = 100;
}

/// <summary>
/// How the OpenAI-compatible server listens and what it allows one request; the defaults are the ones a run file gets
/// for keys it leaves out.
/// </summary>
/// <param name="Host">The address to bind. Anything but a loopback address needs an API key (NANOLLM_API_KEY).</param>
/// <param name="Port">The TCP port; 0 picks a free one.</param>
/// <param name="MaxTokens">The most tokens one request may ask for (<c>max_tokens</c>); more is refused with a 400.</param>
/// <param name="MaxBatch">The most sequences decoded together; later requests wait for a free place.</param>
/// <param name="TimeoutSeconds">A request still generating after this long is stopped.</param>
/// <param name="MaxBodyBytes">The largest request body accepted.</param>
public sealed record ServerSettings(
    string Host = "127.0.0.1",
    int Port = 8000,
    int MaxTokens = 2048,
    int MaxBatch = 16,
    double TimeoutSeconds = 120,
    int MaxBodyBytes = 1 << 20);
