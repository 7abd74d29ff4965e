"""Checks NanoLlm's Muon step against the twin's (muon.py): the same weights and gradients, the same weights after.

    muon_parity.py DIR

DIR is what `NanoLlm.Bench --muon-parity DIR` writes: weights.safetensors (a GPT) and nanollm.safetensors (the
gradients of each step, grad.STEP.NAME, the weights after the last step, after.NAME, and the [training] settings in
its metadata). The twin builds its optimizers as train.py does, takes the same steps at the same rates, and every
weight must agree within the tolerance below (float32 products summed in another order). Exits 1 if not.
"""

import os
import sys

import torch

from model import load_gpt, read_safetensors
from muon import build_optimizers, set_learning_rate

TOLERANCE = 1e-6


def main():
    directory = sys.argv[1]
    model, _ = load_gpt(os.path.join(directory, "weights.safetensors"))
    tensors, metadata = read_safetensors(os.path.join(directory, "nanollm.safetensors"))
    training = {key: float(metadata[key]) for key in
                ("learning_rate", "weight_decay", "beta1", "beta2", "muon_learning_rate", "muon_momentum", "muon_weight_decay")}
    training["optimizer"] = "muon"
    optimizers = build_optimizers(model, training)
    parameters = dict(model.named_parameters())
    for step, rate in enumerate(float(r) for r in metadata["rates"].split(",")):
        for name, parameter in parameters.items():
            parameter.grad = tensors[f"grad.{step}.{name}"].clone()
        set_learning_rate(optimizers, rate, training["learning_rate"])
        for optimizer in optimizers:
            optimizer.step()
    differences = {name: (parameter.detach() - tensors[f"after.{name}"]).abs().max().item() for name, parameter in parameters.items()}
    moved = {name: (tensors[f"after.{name}"] - initial).abs().max().item()
             for name, initial in load_gpt(os.path.join(directory, "weights.safetensors"))[0].state_dict().items()}
    worst = max(differences, key=differences.get)
    print(f"muon parity: {metadata['steps']} steps, largest difference {differences[worst]:.2e} ({worst}, which moved by "
          f"{moved[worst]:.2e}); smallest move of any tensor {min(moved.values()):.2e}; tolerance {TOLERANCE:.0e}")
    if differences[worst] > TOLERANCE or min(moved.values()) <= 100 * TOLERANCE:
        print("muon parity: FAILED", file=sys.stderr)
        sys.exit(1)
    print("muon parity: NanoLlm's Muon and AdamW steps match the twin's")


if __name__ == "__main__":
    main()
