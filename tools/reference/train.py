"""Trains NanoLlm's GPT in PyTorch from a NanoLlm run file: on this machine, on a GPU, or as many processes under
torchrun (DistributedDataParallel), and writes NanoLlm's weights file and checkpoint, so `make chat` and
`make train RESUME=1` take up what it trained.

    train.py CONFIG [--set section.key=value ...] [--init-from WEIGHTS | --resume] [--device auto|cpu|cuda]
                    [--threads N] [--json] [--no-save]
    torchrun --nproc_per_node=N train.py CONFIG ...     (Debian's torch: python3 -m torch.distributed.run ...)

The run file: Python 3.11's tomllib, NanoLlm's keys and defaults. [model] name = "gpt" with vocab_size,
context_length, embedding_size, layers, heads, ffn_ratio, positional, tie_embeddings, norm, activation, qk_norm,
rope_base (dropout and attention_dropout only as 0); [training]
corpus, steps or epochs, batch_size, seed, val_fraction, eval_interval, eval_batches, optimizer (adamw, sgd or muon:
muon.py), learning_rate, min_learning_rate, warmup_steps, lr_schedule (constant, cosine or wsd), decay_steps,
decay_fraction, beta1, beta2, eps, weight_decay, weight_decay_embeddings, muon_learning_rate, muon_momentum,
muon_weight_decay, grad_clip, grad_accumulation_steps, checkpoint_interval; [weights] path; [sampling] is chat's and
is read by NanoLlm only. time_budget_minutes is refused (the twin counts steps: set steps). Any other key or section
is an error that names it (exit 2).

Training follows NanoLlm's Trainer step for step: the last val_fraction of the tokens is the validation split; the
windows of step s, micro-batch a are drawn with NanoLlm's SplitMix64 from (seed, s·accumulation + a), so both
implementations see the same batches; AdamW decays only the matrices NanoLlm marks Decay; warmup + cosine or
warmup-stable-decay; clip by global norm; evaluation on eval_batches batches of consecutive windows from the split's start, every eval_interval
steps and at the end. Weights: the twin's own initialization (torch's generator, seed), or --init-from a NanoLlm
weights file or checkpoint (its tensors and tokenizer; its [model] keys must match the run file's): with the file
`NanoLlm.Train CONFIG --init-only` writes, the twin starts from NanoLlm's exact initial weights. --resume continues
from the checkpoint beside [weights] path, NanoLlm's or the twin's: weights, AdamW moments, step, best loss.

Tokenizer: byte level (vocab_size 256) needs nothing. A larger vocabulary is NanoLlm's byte-level BPE, taken from the
--init-from file (train it with `make train CONFIG=... ARGS=--init-only`); the corpus is encoded here with the same
merge rules as NanoLlm's Bpe.Encode.

Distributed: under torchrun each of the WORLD_SIZE processes computes batch_size / WORLD_SIZE rows of every global
batch (the same global batch as one process); DDP averages the gradients (nccl on CUDA, gloo on CPU), so a step is
the one-process step up to float rounding. Every rank evaluates (the same windows, the same result); rank 0 prints
and writes. Device: CUDA when available (cuda:LOCAL_RANK under torchrun), else CPU; --device overrides.

Outputs (rank 0, each written beside its target and renamed): [weights] path, the weights with the best validation
loss so far (the latest without a validation split), as NanoLlm writes it; PATH.checkpoint at checkpoint_interval and
at the end, NanoLlm's checkpoint (weights, AdamW moments, step), so `make train CONFIG=... RESUME=1` continues the
run in NanoLlm; PATH.metrics.csv with NanoLlm's columns. stdout: a summary line like NanoLlm's, and with --json a JSON
line of per-step wall times and losses, the final losses, torch's thread count and VmHWM.
"""

import argparse
import csv
import json
import math
import os
import sys
import time
import tomllib

import torch

from model import GPT, GPTConfig, load_gpt, read_safetensors, save_gpt
from muon import Muon, build_optimizers, set_learning_rate

BYTE_COUNT = 256
BYTE_LEVEL_TOKENIZER = '{"type":"byte_bpe","merges":[]}'
KNOWN_KEYS = {
    "model": {"name", "vocab_size", "context_length", "embedding_size", "layers", "heads", "ffn_ratio", "positional",
              "tie_embeddings", "dropout", "attention_dropout", "norm", "activation", "qk_norm", "rope_base"},
    "training": {"corpus", "steps", "epochs", "batch_size", "seed", "val_fraction", "eval_interval", "eval_batches",
                 "optimizer", "learning_rate", "min_learning_rate", "warmup_steps", "lr_schedule", "decay_steps",
                 "beta1", "beta2", "eps", "weight_decay", "grad_clip", "grad_accumulation_steps", "checkpoint_interval",
                 "decay_fraction", "weight_decay_embeddings", "muon_learning_rate", "muon_momentum", "muon_weight_decay",
                 "time_budget_minutes"},
    "weights": {"path"},
    "sampling": {"max_new_tokens", "temperature", "top_k", "top_p", "repetition_penalty", "seed"},
}
OPTIMIZER_PREFIX = "optimizer."
OPTIMIZER_CLASSES = {"adamw": "AdamW", "sgd": "Sgd", "muon": "Muon"}
MUON_MOMENTUM = "muon.momentum"
ADAMW_MOMENTS = {"exp_avg": "adamw.m", "exp_avg_sq": "adamw.v"}
METRICS_HEADER = ["step", "elapsed_s", "loss", "train_loss", "val_loss", "val_bpb", "learning_rate", "grad_norm", "tokens_per_s"]
LOSS_WINDOW = 20


class UsageError(Exception):
    """A problem with the run file, the arguments or an input file: one line, exit 2."""


def load_config(path, overrides):
    """The run file as {section: {key: value}}, with --set overrides read as TOML values (else plain strings)."""
    try:
        with open(path, "rb") as file:
            sections = tomllib.load(file)
    except OSError as error:
        raise UsageError(f"{path}: cannot read the run file ({error.strerror})")
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: not valid TOML ({error})")
    for assignment in overrides:
        name, equals, raw = assignment.partition("=")
        section, dot, key = name.strip().partition(".")
        if not equals or not dot:
            raise UsageError(f"--set {assignment}: write it as --set section.key=value")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        table = sections.setdefault(section, {})
        if key.strip() in ("steps", "epochs"):
            # As in NanoLlm: steps and epochs are two ways to say how long; overriding one replaces the other.
            table.pop("steps", None)
            table.pop("epochs", None)
        table[key.strip()] = value
    for section, table in sections.items():
        if section not in KNOWN_KEYS:
            raise UsageError(f"{path}: [{section}]: not a section of a NanoLlm run file (sections: {', '.join(KNOWN_KEYS)})")
        if not isinstance(table, dict):
            raise UsageError(f"{path}: {section} must be a [{section}] table")
        for key in table:
            if key not in KNOWN_KEYS[section]:
                raise UsageError(f"{path}: [{section}] {key}: not a key the PyTorch trainer takes; remove it (keys: {', '.join(sorted(KNOWN_KEYS[section]))})")
    model = sections.get("model", {})
    if model.get("name") != "gpt":
        raise UsageError(f'{path}: [model] name: "{model.get("name")}" — the PyTorch trainer trains "gpt" only')
    if model.get("dropout", 0) != 0:
        raise UsageError(f"{path}: [model] dropout: the PyTorch trainer has no dropout; set it to 0 or remove it")
    if "time_budget_minutes" in sections.get("training", {}):
        raise UsageError(f"{path}: [training] time_budget_minutes: the PyTorch trainer counts steps; set steps instead")
    if ("steps" in sections.get("training", {})) == ("epochs" in sections.get("training", {})):
        raise UsageError(f"{path}: [training] needs exactly one of steps or epochs")
    for section, key in (("training", "corpus"), ("training", "learning_rate"), ("weights", "path")):
        if key not in sections.get(section, {}):
            raise UsageError(f"{path}: [{section}] {key} is missing")
    return sections


class SplitMix64:
    """NanoLlm's Model/SplitMix64.cs, bit for bit: the generator NanoLlm's trainer draws each step's windows from."""

    MASK = (1 << 64) - 1
    GOLDEN = 0x9E3779B97F4A7C15

    def __init__(self, seed, stream):
        self.state = (((seed & 0xFFFFFFFF) << 32) ^ (stream & self.MASK) ^ self.GOLDEN) & self.MASK

    def next_bits(self):
        self.state = (self.state + self.GOLDEN) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def next_int(self, bound):
        """A number in [0, bound): Lemire's multiply-shift on the top 32 bits, as NanoLlm's Next(bound)."""
        return ((self.next_bits() >> 32) * bound) >> 32


def batch_starts(seed, stream, count, bound):
    random = SplitMix64(seed, stream)
    return [random.next_int(bound) for _ in range(count)]


def bpe_encode(data, merges):
    """NanoLlm's Bpe.Encode: merge i (tokens 256 + i) applied to every occurrence left to right without overlap, in the
    order learned. Linear in the text: each pair that has a merge waits in the bucket of its rank, ranks are taken
    in order, and a merge adds only the two pairs it forms with its neighbours (which have later ranks)."""
    rank_of = {pair: rank for rank, pair in enumerate(merges)}
    count = len(data)
    token = list(data)
    following = list(range(1, count)) + [-1]
    preceding = list(range(-1, count - 1))
    merged_away = bytearray(count)
    waiting = [[] for _ in merges]
    for start in range(count - 1):
        rank = rank_of.get((token[start], token[start + 1]))
        if rank is not None:
            waiting[rank].append(start)
    for rank, (left, right) in enumerate(merges):
        new_token = BYTE_COUNT + rank
        for start in sorted(waiting[rank]):
            after = following[start]
            if merged_away[start] or token[start] != left or after == -1 or token[after] != right:
                continue
            token[start] = new_token
            merged_away[after] = 1
            following[start] = following[after]
            if following[start] != -1:
                preceding[following[start]] = start
            before = preceding[start]
            if before != -1:
                pair_rank = rank_of.get((token[before], new_token))
                if pair_rank is not None:
                    waiting[pair_rank].append(before)
            if following[start] != -1:
                pair_rank = rank_of.get((new_token, token[following[start]]))
                if pair_rank is not None:
                    waiting[pair_rank].append(start)
        waiting[rank] = None
    return [token[i] for i in range(count) if not merged_away[i]]


def tokenizer_merges(tokenizer_json, source):
    document = json.loads(tokenizer_json)
    if document.get("type") != "byte_bpe":
        raise UsageError(f"{source}: tokenizer type {document.get('type')} is not byte_bpe")
    return [tuple(pair) for pair in document["merges"]]


def token_byte_lengths(merges):
    lengths = [1] * BYTE_COUNT
    for left, right in merges:
        lengths.append(lengths[left] + lengths[right])
    return lengths


def learning_rate_at(step, settings):
    """NanoLlm's LearningRateSchedule.At: warmup η·(s+1)/W, then constant, a cosine to η_min at decay_steps, or wsd:
    constant until the last decay_fraction of decay_steps, then a straight line to η_min."""
    if step < settings["warmup"]:
        return settings["lr"] * (step + 1) / settings["warmup"]
    if settings["wsd"]:
        progress = step / settings["decay_steps"]
        if progress < 1 - settings["decay_fraction"]:
            return settings["lr"]
        return settings["min_lr"] + (settings["lr"] - settings["min_lr"]) * max(0.0, 1 - progress) / settings["decay_fraction"]
    if not settings["cosine"]:
        return settings["lr"]
    if step >= settings["decay_steps"]:
        return settings["min_lr"]
    progress = (step - settings["warmup"]) / max(1, settings["decay_steps"] - settings["warmup"])
    return settings["min_lr"] + 0.5 * (1 + math.cos(math.pi * progress)) * (settings["lr"] - settings["min_lr"])


@torch.no_grad()
def evaluate(model, split, byte_lengths, length, batch_size, eval_batches):
    """NanoLlm's Trainer.Evaluate: consecutive windows from the split's start; (nats per token, bits per byte)."""
    windows = (len(split) - 1) // length
    if eval_batches > 0:
        windows = min(windows, eval_batches * batch_size)
    if windows == 0:
        return None
    model.eval()
    nats = 0.0
    text_bytes = 0
    for first in range(0, windows, batch_size):
        rows = min(batch_size, windows - first)
        starts = torch.arange(first, first + rows, device=split.device) * length
        x, y = windows_at(split, starts, length)
        _, loss = model(x, y)
        nats += loss.item() * rows * length
        text_bytes += int(byte_lengths[y].sum().item())
    model.train()
    return nats / (windows * length), nats / math.log(2) / text_bytes


def windows_at(split, starts, length):
    offsets = starts[:, None] + torch.arange(length, device=split.device)[None, :]
    return split[offsets].long(), split[offsets + 1].long()


def peak_rss_kib():
    """VmHWM from /proc/self/status (Linux), in KiB; None elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def load_initial(path, config, run_path):
    """The weights and metadata of a NanoLlm weights file or checkpoint, checked against the run file's model."""
    try:
        model, metadata = load_gpt(path)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as error:
        raise UsageError(f"{path}: not a usable NanoLlm GPT weights file ({error})")
    if model.config != config:
        raise UsageError(f"{run_path}: [model] differs from {path} ({model.config}): use the run file that wrote it")
    return model.state_dict(), metadata


def read_checkpoint(path, config, optimizer_name, run_path):
    """NanoLlm's Checkpoint.Read: the weights, tokenizer, optimizer buffers and where training stood."""
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no checkpoint to resume from: train {run_path} without --resume first")
    initial, metadata = load_initial(path, config, run_path)
    tensors, _ = read_safetensors(path)
    written_by = metadata.get("optimizer")
    if written_by != OPTIMIZER_CLASSES[optimizer_name]:
        raise UsageError(f"{run_path}: [training] optimizer is {optimizer_name}, the checkpoint {path} was written by {written_by}: resume with the same optimizer")
    try:
        state = {
            "step": int(metadata["checkpoint_step"]),
            "updates": int(metadata["optimizer_step"]),
            "best_val_loss": float(metadata.get("best_val_loss", "inf").replace("Infinity", "inf")),
            "moments": {key: tensors[OPTIMIZER_PREFIX + key] for key in optimizer_buffers(optimizer_name)},
        }
    except (KeyError, ValueError) as error:
        raise UsageError(f"{path}: not a complete NanoLlm checkpoint ({error})")
    return initial, metadata, state


def optimizer_buffers(optimizer_name):
    """The flat buffers NanoLlm's optimizer saves under optimizer.: AdamW's moments, Muon's momentum besides them."""
    return {"adamw": list(ADAMW_MOMENTS.values()), "muon": [MUON_MOMENTUM, *ADAMW_MOMENTS.values()]}.get(optimizer_name, [])


def restore_optimizers(optimizers, model, moments, updates, device):
    """Puts NanoLlm's flat buffers (ParameterSet order) into torch's per-parameter state: AdamW's moments with
    t = updates for the parameters AdamW updates, Muon's momentum for the hidden matrices."""
    parameters = dict(model.named_parameters())
    offset = 0
    for name in nanollm_parameter_order(model):
        parameter = parameters[name]
        count = parameter.numel()
        for optimizer in optimizers:
            if not any(parameter is p for group in optimizer.param_groups for p in group["params"]):
                continue
            state = optimizer.state[parameter]
            if isinstance(optimizer, Muon):
                state["momentum_buffer"] = moments[MUON_MOMENTUM][offset:offset + count].reshape(parameter.shape).to(device).clone()
            else:
                for moment, key in ADAMW_MOMENTS.items():
                    state[moment] = moments[key][offset:offset + count].reshape(parameter.shape).to(device).clone()
                state["step"] = torch.tensor(float(updates))
        offset += count


def nanollm_parameter_order(model):
    """The order of NanoLlm's ParameterSet (GptModel's specs), in which its optimizer keeps one flat buffer."""
    config = model.config
    names = ["wte"] + (["wpe"] if config.positional == "learned" else [])
    for layer in range(config.layers):
        prefix = f"h.{layer}"
        names += [f"{prefix}.ln_1.weight", f"{prefix}.ln_1.bias", f"{prefix}.attn.c_attn.weight", f"{prefix}.attn.c_attn.bias",
                  f"{prefix}.attn.c_proj.weight", f"{prefix}.attn.c_proj.bias", f"{prefix}.ln_2.weight", f"{prefix}.ln_2.bias",
                  f"{prefix}.mlp.c_fc.weight", f"{prefix}.mlp.c_fc.bias", f"{prefix}.mlp.c_proj.weight", f"{prefix}.mlp.c_proj.bias"]
    names += ["ln_f.weight", "ln_f.bias"] + ([] if config.tie_embeddings else ["lm_head.weight"])
    if config.norm == "rmsnorm":
        names = [name for name in names if not (name.endswith(".bias") and ("ln_" in name))]
    return names


def write_checkpoint(path, model, optimizers, optimizer_name, tokenizer, step, updates, best_validation_loss):
    """NanoLlm's Checkpoint.Write: the weights file's tensors and metadata, the optimizer's buffers flat in
    ParameterSet order (zeros where a parameter is another optimizer's), and the step, the optimizer's step and the
    best validation loss."""
    parameters = dict(model.named_parameters())
    tensors = dict(model.state_dict())
    order = nanollm_parameter_order(model)
    for key in optimizer_buffers(optimizer_name):
        moment = "momentum_buffer" if key == MUON_MOMENTUM else next(m for m, k in ADAMW_MOMENTS.items() if k == key)
        parts = []
        for name in order:
            state = next((o.state[parameters[name]] for o in optimizers if parameters[name] in o.state), {})
            parts.append(state[moment].flatten() if moment in state else torch.zeros(parameters[name].numel()))
        tensors[OPTIMIZER_PREFIX + key] = torch.cat([p.detach().cpu() for p in parts])
    metadata = {
        "checkpoint_step": str(step),
        "optimizer": OPTIMIZER_CLASSES[optimizer_name],
        "optimizer_step": str(updates),
        "best_val_loss": "Infinity" if math.isinf(best_validation_loss) else repr(best_validation_loss),
    }
    save_gpt(model, path, tokenizer, tensors=tensors, extra_metadata=metadata)


def main():
    parser = argparse.ArgumentParser(description="Train NanoLlm's GPT in PyTorch from a NanoLlm run file (torchrun for many processes).")
    parser.add_argument("config")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--init-from", metavar="WEIGHTS", help="start from a NanoLlm weights file or checkpoint (its tokenizer too)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint beside [weights] path (NanoLlm's or the twin's)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: CUDA when available, else CPU")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--json", action="store_true", help="print a JSON line of results after the summary line")
    parser.add_argument("--no-save", action="store_true", help="write no weights, checkpoint or metrics")
    args = parser.parse_args()
    try:
        train(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


def train(args):
    sections = load_config(args.config, args.overrides)
    model_section = {k: v for k, v in sections["model"].items() if k != "name"}
    training = sections["training"]
    vocab_size = model_section.pop("vocab_size", BYTE_COUNT)
    try:
        config = GPTConfig.from_hyperparameters(vocab_size, model_section)
    except (TypeError, ValueError) as error:
        raise UsageError(f"{args.config}: [model] {error}")

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    if use_cuda and not torch.cuda.is_available():
        raise UsageError("--device cuda: torch sees no CUDA device here")
    device = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    batch_size = training.get("batch_size", 32)
    if batch_size % world_size != 0:
        raise UsageError(f"{args.config}: [training] batch_size {batch_size} does not divide among {world_size} processes: "
                         f"use a multiple of {world_size}")
    seed = training.get("seed", 1337)
    eval_interval = training.get("eval_interval", 0)
    eval_batches = training.get("eval_batches", 0)
    checkpoint_interval = training.get("checkpoint_interval", 0)
    accumulation = training.get("grad_accumulation_steps", 1)
    lr = float(training["learning_rate"])
    grad_clip = float(training.get("grad_clip", 0))
    optimizer_name = training.get("optimizer", "sgd")
    if optimizer_name not in OPTIMIZER_CLASSES:
        raise UsageError(f'{args.config}: [training] optimizer: "{optimizer_name}" is not "sgd", "adamw" or "muon"')
    if training.get("lr_schedule", "constant") not in ("constant", "cosine", "wsd"):
        raise UsageError(f'{args.config}: [training] lr_schedule: "{training["lr_schedule"]}" is not "constant", "cosine" or "wsd"')

    weights_path = sections["weights"]["path"]
    checkpoint_path = weights_path + ".checkpoint"
    resumed = None
    if args.resume and args.init_from:
        raise UsageError("--resume and --init-from exclude each other: a resumed run starts from its checkpoint")
    if args.resume:
        initial, metadata, resumed = read_checkpoint(checkpoint_path, config, optimizer_name, args.config)
        tokenizer = metadata["tokenizer"]
    elif args.init_from:
        initial, metadata = load_initial(args.init_from, config, args.config)
        tokenizer = metadata["tokenizer"]
    elif vocab_size == BYTE_COUNT:
        initial, tokenizer = None, BYTE_LEVEL_TOKENIZER
    else:
        raise UsageError(f"{args.config}: [model] vocab_size {vocab_size} needs NanoLlm's tokenizer: write it with "
                         f"make train CONFIG={args.config} ARGS=--init-only, then pass --init-from {sections['weights']['path']}")
    merges = tokenizer_merges(tokenizer, args.init_from or "byte level")
    if BYTE_COUNT + len(merges) != vocab_size:
        raise UsageError(f"{args.init_from}: the tokenizer has {BYTE_COUNT + len(merges)} tokens, [model] vocab_size is {vocab_size}")

    try:
        with open(training["corpus"], "rb") as file:
            text = file.read()
    except OSError as error:
        raise UsageError(f"{args.config}: [training] corpus: cannot read {training['corpus']} ({error.strerror})")
    # Byte level: the bytes are the tokens (one byte each, as NanoLlm holds them, not a list of Python ints).
    if merges:
        tokens = torch.tensor(bpe_encode(text, merges), dtype=torch.int32, device=device)
    else:
        tokens = torch.frombuffer(bytearray(text), dtype=torch.uint8).to(device)
    byte_lengths = torch.tensor(token_byte_lengths(merges), dtype=torch.long, device=device)
    validation_length = int(len(tokens) * training.get("val_fraction", 0.1))
    train_split, validation_split = tokens[:len(tokens) - validation_length], tokens[len(tokens) - validation_length:]
    if len(train_split) < 2:
        raise UsageError(f"{args.config}: [training] corpus {training['corpus']} is too short to train on")
    length = min(config.context_length, len(train_split) - 1)
    steps = training.get("steps") or training["epochs"] * math.ceil((len(train_split) - 1) / (batch_size * length * accumulation))
    schedule = {
        "lr": lr,
        "min_lr": float(training.get("min_learning_rate", lr / 10)),
        "warmup": training.get("warmup_steps", 0),
        "cosine": training.get("lr_schedule", "constant") == "cosine",
        "wsd": training.get("lr_schedule", "constant") == "wsd",
        "decay_fraction": float(training.get("decay_fraction", 0.2)),
        "decay_steps": training.get("decay_steps", 0) or steps,
    }

    torch.manual_seed(seed)
    model = GPT(config)
    if initial is not None:
        model.load_state_dict(initial)
    model.to(device).train()
    trained = model
    if world_size > 1:
        torch.distributed.init_process_group("nccl" if use_cuda else "gloo")
        trained = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local_rank] if use_cuda else None)
    optimizers = build_optimizers(model, training)

    start_step, start_updates, best_validation_loss = 0, 0, math.inf
    if resumed is not None:
        start_step, start_updates, best_validation_loss = resumed["step"], resumed["updates"], resumed["best_val_loss"]
        restore_optimizers(optimizers, model, resumed["moments"], start_updates, device)
        if start_step >= steps:
            raise UsageError(f"{checkpoint_path}: the run already reached step {start_step} of {steps}: raise [training] steps to continue it")

    writes = rank == 0 and not args.no_save
    metrics = None
    if writes:
        os.makedirs(os.path.dirname(os.path.abspath(weights_path)), exist_ok=True)
        # A resumed run adds to the CSV it continues, as NanoLlm's does.
        metrics_path = weights_path + ".metrics.csv"
        appending = resumed is not None and os.path.isfile(metrics_path)
        metrics_file = open(metrics_path, "a" if appending else "w", newline="")
        metrics = csv.writer(metrics_file)
        if not appending:
            metrics.writerow(METRICS_HEADER)
    if rank == 0:
        print(f"training gpt on {training['corpus']} with torch {torch.__version__} on {device}, {world_size} process(es), "
              f"{torch.get_num_threads()} thread(s) each, {steps} steps", file=sys.stderr)

    rows = batch_size // world_size
    first_row = rank * rows
    step_seconds = []
    losses = []
    recent = []
    validation = None
    clock = time.perf_counter()
    for step in range(start_step, steps):
        begin = time.perf_counter()
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss_sum = torch.zeros((), device=device)
        for micro in range(accumulation):
            # The global batch of NanoLlm's step; this process computes its share of the rows.
            starts = batch_starts(seed, step * accumulation + micro, batch_size, len(train_split) - length)[first_row:first_row + rows]
            x, y = windows_at(train_split, torch.tensor(starts, device=device), length)
            if world_size > 1 and micro < accumulation - 1:
                with trained.no_sync():
                    _, loss = trained(x, y)
                    (loss / accumulation).backward()
            else:
                _, loss = trained(x, y)
                (loss / accumulation).backward()
            loss_sum += loss.detach() / accumulation
        if world_size > 1:
            torch.distributed.all_reduce(loss_sum)
            loss_sum /= world_size
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip if grad_clip > 0 else math.inf)
        rate = learning_rate_at(step, schedule)
        set_learning_rate(optimizers, rate, lr)
        for optimizer in optimizers:
            optimizer.step()
        loss_value = loss_sum.item()
        step_seconds.append(time.perf_counter() - begin)
        losses.append(loss_value)
        recent = (recent + [loss_value])[-LOSS_WINDOW:]
        done = step + 1
        evaluated = done == steps or (eval_interval > 0 and done % eval_interval == 0)
        if evaluated:
            validation = evaluate(model, validation_split, byte_lengths, length, batch_size, eval_batches)
            if writes and (validation is None or validation[0] < best_validation_loss):
                save_gpt(model, weights_path, tokenizer)
            if validation is not None:
                best_validation_loss = min(best_validation_loss, validation[0])
            if rank == 0:
                shown = "n/a" if validation is None else f"{validation[0]:.4f}"
                print(f"step {done}/{steps} loss {loss_value:.4f} val_loss {shown} lr {rate:.3g}", file=sys.stderr)
        elapsed = time.perf_counter() - clock
        if metrics is not None:
            metrics.writerow([done, f"{elapsed:.3f}", f"{loss_value:.6f}", "", "" if not evaluated or validation is None else f"{validation[0]:.6f}",
                              "" if not evaluated or validation is None else f"{validation[1]:.6f}", f"{rate:.6g}", f"{norm.item():.6f}",
                              f"{(done - start_step) * batch_size * length * accumulation / elapsed:.0f}"])
        if writes and (done == steps or (checkpoint_interval > 0 and done % checkpoint_interval == 0)):
            write_checkpoint(checkpoint_path, model, optimizers, optimizer_name, tokenizer, done, start_updates + done - start_step, best_validation_loss)
    elapsed = time.perf_counter() - clock
    if metrics is not None:
        metrics_file.close()
    if world_size > 1:
        torch.distributed.destroy_process_group()
    if rank != 0:
        return

    tokens_per_step = batch_size * length * accumulation
    mean_loss = sum(recent) / len(recent)
    parts = ["trained", "model=gpt", f"steps={steps}", f"loss={mean_loss:.4f}"]
    if validation is not None:
        parts += [f"val_loss={validation[0]:.4f}", f"val_bpb={validation[1]:.4f}"]
    parts += [f"tokens_per_s={(steps - start_step) * tokens_per_step / elapsed:.0f}", f"seconds={elapsed:.1f}"]
    if writes:
        parts += [f"weights={weights_path}", f"checkpoint={checkpoint_path}"]
    print(" ".join(parts))
    if args.json:
        print(json.dumps({
            "implementation": "pytorch",
            "torch": torch.__version__,
            "device": str(device),
            "world_size": world_size,
            "threads": torch.get_num_threads(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "steps": steps,
            "tokens_per_step": tokens_per_step,
            "step_seconds": step_seconds,
            "losses": losses,
            "loss": mean_loss,
            "val_loss": None if validation is None else validation[0],
            "seconds": elapsed,
            "peak_rss_kib": peak_rss_kib(),
        }))


if __name__ == "__main__":
    main()
