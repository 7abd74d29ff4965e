"""Checks NanoLlm's GPT against its PyTorch twin on one batch: loss, logits and every parameter's gradient.

    parity.py DIR [--dtype float32|float64]

DIR holds one folder per GPT variant, as `NanoLlm.Bench --parity DIR` writes them: weights.safetensors (the model,
a NanoLlm weights file), batch.json (inputs and targets [B, T]) and nanollm.safetensors (NanoLlm's loss, logits
[B, T, V] and grad.<parameter>). The twin loads the same weights, runs forward and backward on the same batch, and
the largest absolute differences must stay within the tolerances below. It also saves the weights with model.py's
writer as reference.safetensors and reads them back (`make parity` then has NanoLlm read that file too), so both
directions of the file format are exercised. Exits 1 if any check fails.

With --dtype float64 the twin computes in double precision, so the differences are NanoLlm's float32 error alone;
the default float32 compares like with like.
"""

import argparse
import json
import os
import sys

import torch

from model import load_gpt, read_safetensors, save_gpt

LOSS_TOLERANCE = 1e-4
LOGITS_TOLERANCE = 1e-4
GRADIENT_TOLERANCE = 1e-3


def max_difference(actual, expected):
    return (actual.detach().double() - expected.double()).abs().max().item()


def compare(folder, dtype):
    """Runs the twin on one variant's folder; returns the measured differences and the scales they are relative to."""
    model, metadata = load_gpt(os.path.join(folder, "weights.safetensors"))
    model.to(dtype)
    with open(os.path.join(folder, "batch.json")) as file:
        batch = json.load(file)
    shape = (batch["batch_size"], batch["length"])
    inputs = torch.tensor(batch["inputs"], dtype=torch.long).view(shape)
    targets = torch.tensor(batch["targets"], dtype=torch.long).view(shape)

    logits, loss = model(inputs, targets)
    loss.backward()

    nanollm, _ = read_safetensors(os.path.join(folder, "nanollm.safetensors"))
    gradients = {name: p.grad for name, p in model.named_parameters()}
    dumped = {name[len("grad."):] for name in nanollm if name.startswith("grad.")}
    if dumped != set(gradients):
        raise ValueError(f"{folder}: NanoLlm's gradients {sorted(dumped)} are not the model's parameters {sorted(gradients)}")
    gradient_differences = {name: max_difference(g, nanollm[f"grad.{name}"]) for name, g in gradients.items()}
    worst = max(gradient_differences, key=gradient_differences.get)
    return {
        "loss": loss.item(),
        "loss_difference": abs(loss.item() - nanollm["loss"].item()),
        "logits_difference": max_difference(logits, nanollm["logits"]),
        "logits_scale": logits.abs().max().item(),
        "gradient_difference": gradient_differences[worst],
        "worst_gradient": worst,
        # The tensors' largest |gradient|, smallest and largest over tensors: the tolerance must sit well below both.
        "gradient_scales": (min(g.abs().max().item() for g in gradients.values()), max(g.abs().max().item() for g in gradients.values())),
        "round_trip": round_trip(model, metadata, os.path.join(folder, "reference.safetensors")),
    }


def round_trip(model, metadata, path):
    """Saves the loaded model with model.py's writer and reads it back: True when tensors and metadata survive."""
    save_gpt(model, path, metadata["tokenizer"])
    reloaded, reloaded_metadata = load_gpt(path)
    same_tensors = all(torch.equal(a.float(), b) for a, b in zip(model.state_dict().values(), reloaded.state_dict().values()))
    same_metadata = {**reloaded_metadata, "hyperparameters": json.loads(reloaded_metadata["hyperparameters"])} == {
        **metadata, "hyperparameters": json.loads(metadata["hyperparameters"])}
    return same_tensors and same_metadata


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="the folder NanoLlm.Bench --parity wrote")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    arguments = parser.parse_args()
    dtype = getattr(torch, arguments.dtype)

    variants = sorted(entry.name for entry in os.scandir(arguments.directory) if entry.is_dir())
    if not variants:
        print(f"parity: no variant folders in {arguments.directory}", file=sys.stderr)
        return 2
    print(f"torch {torch.__version__}, {arguments.dtype}, {torch.get_num_threads()} thread(s) "
          f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})")
    print(f"tolerances (max |difference|): loss {LOSS_TOLERANCE:g}, logits {LOGITS_TOLERANCE:g}, gradients {GRADIENT_TOLERANCE:g}")
    print(f"{'variant':<18} {'loss':>9} {'Δloss':>9} {'Δlogits':>9} {'|logits|':>9} {'Δgrad':>9} {'|grad|':>13}  worst gradient")
    failures = 0
    for variant in variants:
        r = compare(os.path.join(arguments.directory, variant), dtype)
        ok = (r["loss_difference"] <= LOSS_TOLERANCE and r["logits_difference"] <= LOGITS_TOLERANCE
              and r["gradient_difference"] <= GRADIENT_TOLERANCE and r["round_trip"])
        failures += not ok
        print(f"{variant:<18} {r['loss']:9.6f} {r['loss_difference']:9.2e} {r['logits_difference']:9.2e} {r['logits_scale']:9.3f} "
              f"{r['gradient_difference']:9.2e} {r['gradient_scales'][0]:6.3f}–{r['gradient_scales'][1]:.3f}  {r['worst_gradient']:<24} "
              f"{'ok' if ok else 'FAIL'}{'' if r['round_trip'] else ' (weights file round trip changed the model)'}")
    if failures:
        print(f"parity: {failures} of {len(variants)} variants FAILED", file=sys.stderr)
        return 1
    print(f"parity: all {len(variants)} variants agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
