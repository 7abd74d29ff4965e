"""Trains the PyTorch twin (model.py) from a NanoLlm run file, the way NanoLlm's trainer does (Training/Trainer.cs).

    train.py CONFIG [--set section.key=value ...] [--threads N] [--json] [--no-save]

Reads the TOML with Python's tomllib and takes the keys NanoLlm's RunConfigLoader takes, with its defaults:
[model] name = "gpt" with vocab_size = 256 (byte level; no BPE here), context_length, embedding_size, layers, heads,
ffn_ratio, positional, tie_embeddings; [training] corpus, steps or epochs, batch_size, seed, val_fraction,
eval_interval, eval_batches, optimizer (adamw or sgd), learning_rate, min_learning_rate, warmup_steps, lr_schedule,
decay_steps, beta1, beta2, eps, weight_decay, grad_clip, grad_accumulation_steps (checkpoint_interval is accepted
and ignored); [weights] path; [sampling] is ignored. As in NanoLlm: the last val_fraction of the bytes is the
validation split; a step samples batch_size random windows of the training split (torch's generator, not NanoLlm's
SplitMix64, so the batches differ); AdamW decays only the matrices NanoLlm marks Decay (every 2-D weight but wte and
wpe); the learning rate warms up linearly over warmup_steps, then follows a cosine to min_learning_rate at
decay_steps (the last step by default); gradients are clipped by global norm; an evaluation scores eval_batches
batches of consecutive windows from the start of the split (all of it when 0), every eval_interval steps and at the
end. The final weights go to [weights] path as a NanoLlm weights file (save_gpt), unless --no-save.

stdout: a summary line like NanoLlm's train program (`trained model=gpt steps=… val_loss=… tokens_per_s=…`), and
with --json a JSON line after it: the per-step wall times in seconds (batch sampling, forward, backward, clip and
update; evaluations excluded), the final losses, torch's thread count and VmHWM (peak resident memory). One process;
torchrun with more than one rank is not supported yet.
"""

import argparse
import json
import math
import os
import sys
import time
import tomllib

import torch

from model import GPT, GPTConfig

BYTE_LEVEL_TOKENIZER = '{"type":"byte_bpe","merges":[]}'
MODEL_KEYS = {"name", "vocab_size", "context_length", "embedding_size", "layers", "heads", "ffn_ratio", "positional", "tie_embeddings"}
TRAINING_KEYS = {
    "corpus", "steps", "epochs", "batch_size", "seed", "val_fraction", "eval_interval", "eval_batches", "optimizer",
    "learning_rate", "min_learning_rate", "warmup_steps", "lr_schedule", "decay_steps", "beta1", "beta2", "eps",
    "weight_decay", "grad_clip", "grad_accumulation_steps", "checkpoint_interval",
}


def load_config(path, overrides):
    """The run file as {section: {key: value}}, with --set overrides read as TOML values (else plain strings)."""
    with open(path, "rb") as file:
        sections = tomllib.load(file)
    for assignment in overrides:
        name, equals, raw = assignment.partition("=")
        section, dot, key = name.strip().partition(".")
        if not equals or not dot:
            raise SystemExit(f"error: --set {assignment}: write it as --set section.key=value")
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
    for section, known in (("model", MODEL_KEYS), ("training", TRAINING_KEYS)):
        unknown = set(sections.get(section, {})) - known
        if unknown:
            raise SystemExit(f"error: {path}: [{section}] keys the twin does not take: {sorted(unknown)}")
    return sections


def learning_rate_at(step, settings):
    """NanoLlm's LearningRateSchedule.At: warmup η·(s+1)/W, then constant or a cosine to η_min at decay_steps."""
    if step < settings["warmup"]:
        return settings["lr"] * (step + 1) / settings["warmup"]
    if not settings["cosine"]:
        return settings["lr"]
    if step >= settings["decay_steps"]:
        return settings["min_lr"]
    progress = (step - settings["warmup"]) / max(1, settings["decay_steps"] - settings["warmup"])
    return settings["min_lr"] + 0.5 * (1 + math.cos(math.pi * progress)) * (settings["lr"] - settings["min_lr"])


@torch.no_grad()
def evaluate(model, split, length, batch_size, eval_batches, max_windows=None):
    """NanoLlm's Trainer.Evaluate: consecutive windows from the split's start, mean cross-entropy in nats per token."""
    windows = (len(split) - 1) // length
    if eval_batches > 0:
        windows = min(windows, eval_batches * batch_size)
    if max_windows is not None:
        windows = min(windows, max_windows)
    if windows == 0:
        return None
    model.eval()
    total = 0.0
    for first in range(0, windows, batch_size):
        rows = min(batch_size, windows - first)
        starts = torch.arange(first, first + rows) * length
        x, y = windows_at(split, starts, length)
        _, loss = model(x, y)
        total += loss.item() * rows * length
    model.train()
    return total / (windows * length)


def windows_at(split, starts, length):
    offsets = starts[:, None] + torch.arange(length)[None, :]
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


def main():
    parser = argparse.ArgumentParser(description="Train NanoLlm's GPT twin in PyTorch from a NanoLlm run file.")
    parser.add_argument("config")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--json", action="store_true", help="print a JSON line of results after the summary line")
    parser.add_argument("--no-save", action="store_true", help="do not write the weights file")
    args = parser.parse_args()

    if int(os.environ.get("WORLD_SIZE", "1")) != 1:
        raise SystemExit("error: train.py runs one process; torchrun with more than one rank is not supported yet")
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    sections = load_config(args.config, args.overrides)
    model_section = dict(sections.get("model", {}))
    training = sections.get("training", {})
    name = model_section.pop("name", None)
    if name != "gpt":
        raise SystemExit(f'error: {args.config}: [model] name is "{name}"; the twin trains "gpt" only')
    vocab_size = model_section.pop("vocab_size", 256)
    if vocab_size != 256:
        raise SystemExit(f"error: {args.config}: [model] vocab_size {vocab_size}: the twin is byte level (256) only")
    config = GPTConfig.from_hyperparameters(vocab_size, model_section)

    if ("steps" in training) == ("epochs" in training):
        raise SystemExit(f"error: {args.config}: [training] needs exactly one of steps or epochs")
    batch_size = training.get("batch_size", 32)
    seed = training.get("seed", 1337)
    eval_interval = training.get("eval_interval", 0)
    eval_batches = training.get("eval_batches", 0)
    accumulation = training.get("grad_accumulation_steps", 1)
    lr = float(training["learning_rate"])
    grad_clip = float(training.get("grad_clip", 0))
    optimizer_name = training.get("optimizer", "sgd")

    with open(training["corpus"], "rb") as file:
        data = torch.frombuffer(bytearray(file.read()), dtype=torch.uint8)
    validation_length = int(len(data) * training.get("val_fraction", 0.1))
    train_split, validation_split = data[:len(data) - validation_length], data[len(data) - validation_length:]
    length = min(config.context_length, len(train_split) - 1)
    steps = training.get("steps") or training["epochs"] * math.ceil((len(train_split) - 1) / (batch_size * length * accumulation))
    schedule = {
        "lr": lr,
        "min_lr": float(training.get("min_learning_rate", lr / 10)),
        "warmup": training.get("warmup_steps", 0),
        "cosine": training.get("lr_schedule", "constant") == "cosine",
        "decay_steps": training.get("decay_steps", 0) or steps,
    }

    torch.manual_seed(seed)
    model = GPT(config)
    model.train()
    if optimizer_name == "adamw":
        decayed = [p for n, p in model.named_parameters() if p.dim() == 2 and n not in ("wte", "wpe")]
        kept = [p for n, p in model.named_parameters() if not (p.dim() == 2 and n not in ("wte", "wpe"))]
        optimizer = torch.optim.AdamW(
            [{"params": decayed, "weight_decay": float(training.get("weight_decay", 0.1))}, {"params": kept, "weight_decay": 0.0}],
            lr=lr, betas=(float(training.get("beta1", 0.9)), float(training.get("beta2", 0.95))), eps=float(training.get("eps", 1e-8)),
            foreach=True)
    elif optimizer_name == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    else:
        raise SystemExit(f'error: {args.config}: [training] optimizer "{optimizer_name}" is not "sgd" or "adamw"')

    print(f"training gpt on {training['corpus']} with torch {torch.__version__}, {torch.get_num_threads()} thread(s), {steps} steps", file=sys.stderr)
    generator = torch.Generator().manual_seed(seed)
    step_seconds = []
    recent = []
    validation_loss = None
    clock = time.perf_counter()
    for step in range(steps):
        begin = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss_sum = 0.0
        for _ in range(accumulation):
            starts = torch.randint(len(train_split) - length, (batch_size,), generator=generator)
            x, y = windows_at(train_split, starts, length)
            _, loss = model(x, y)
            (loss / accumulation).backward()
            loss_sum += loss.item() / accumulation
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        rate = learning_rate_at(step, schedule)
        for group in optimizer.param_groups:
            group["lr"] = rate
        optimizer.step()
        step_seconds.append(time.perf_counter() - begin)
        recent = (recent + [loss_sum])[-20:]
        if step + 1 == steps or (eval_interval > 0 and (step + 1) % eval_interval == 0):
            validation_loss = evaluate(model, validation_split, length, batch_size, eval_batches)
            shown = "n/a" if validation_loss is None else f"{validation_loss:.4f}"
            print(f"step {step + 1}/{steps} loss {loss_sum:.4f} val_loss {shown} lr {rate:.3g}", file=sys.stderr)
    elapsed = time.perf_counter() - clock

    weights = sections.get("weights", {}).get("path")
    if weights and not args.no_save:
        os.makedirs(os.path.dirname(os.path.abspath(weights)), exist_ok=True)
        from model import save_gpt
        save_gpt(model, weights, BYTE_LEVEL_TOKENIZER)

    tokens_per_step = batch_size * length * accumulation
    mean_loss = sum(recent) / len(recent)
    parts = ["trained", "model=gpt", f"steps={steps}", f"loss={mean_loss:.4f}"]
    if validation_loss is not None:
        parts += [f"val_loss={validation_loss:.4f}", f"val_bpb={validation_loss / math.log(2):.4f}"]
    parts += [f"tokens_per_s={steps * tokens_per_step / elapsed:.0f}", f"seconds={elapsed:.1f}"]
    if weights and not args.no_save:
        parts.append(f"weights={weights}")
    print(" ".join(parts))
    if args.json:
        print(json.dumps({
            "implementation": "pytorch",
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "steps": steps,
            "tokens_per_step": tokens_per_step,
            "step_seconds": step_seconds,
            "loss": mean_loss,
            "val_loss": validation_loss,
            "seconds": elapsed,
            "peak_rss_kib": peak_rss_kib(),
        }))


if __name__ == "__main__":
    main()
