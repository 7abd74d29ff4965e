"""Muon for the PyTorch twin (torch 1.13 has none): NanoLlm's Training/Muon.cs in torch, float32.

Each hidden matrix (a 2-D parameter inside the blocks; attention's fused query/key/value taken as three matrices)
moves by its Nesterov momentum made orthogonal by five Newton-Schulz iterations (modded-nanogpt's quintic), scaled by
sqrt(max(1, rows / columns)); everything else is left to AdamW. build_optimizers gives both, grouped as NanoLlm groups
them, with each group's base rate so the schedule can scale them together.
"""

import math

import torch

NEWTON_SCHULZ_STEPS = 5
QUINTIC = (3.4445, -4.7750, 2.0315)
NORM_EPSILON = 1e-7


def orthogonalize(matrix):
    """About U·Vᵀ of matrix = U·S·Vᵀ: X ← a·X + (b·A + c·A²)·X with A = X·Xᵀ, on the wide orientation."""
    a, b, c = QUINTIC
    tall = matrix.size(0) > matrix.size(1)
    x = matrix.T if tall else matrix
    x = x / (x.double().norm().item() + NORM_EPSILON)
    for _ in range(NEWTON_SCHULZ_STEPS):
        gram = x @ x.T
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x.T if tall else x


def stacked_matrices(name):
    """How many matrices a parameter stacks along its rows: attention's fused query, key and value are three."""
    return 3 if name.endswith("attn.c_attn.weight") else 1


def is_hidden_matrix(name, parameter):
    return parameter.dim() == 2 and name.startswith("h.")


class Muon(torch.optim.Optimizer):
    """buf ← μ·buf + (1−μ)·g;  u = (1−μ)·g + μ·buf;  θ ← θ·(1 − η·λ) − η·sqrt(max(1, rows/cols))·NS₅(u), per stacked matrix."""

    def __init__(self, named_parameters, lr, momentum, weight_decay):
        named = list(named_parameters)
        self.stacks = {parameter: stacked_matrices(name) for name, parameter in named}
        super().__init__([parameter for _, parameter in named], {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            lr, momentum, decay = group["lr"], group["momentum"], group["weight_decay"]
            for parameter in group["params"]:
                state = self.state[parameter]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(parameter)
                buffer = state["momentum_buffer"]
                gradient = (1 - momentum) * parameter.grad
                buffer.mul_(momentum).add_(gradient)
                update = gradient + momentum * buffer
                rows = parameter.size(0) // self.stacks[parameter]
                scale = math.sqrt(max(1.0, rows / parameter.size(1)))
                for first in range(0, parameter.size(0), rows):
                    block = parameter[first:first + rows]
                    if decay:
                        block.mul_(1 - lr * decay)
                    block.add_(orthogonalize(update[first:first + rows]), alpha=-lr * scale)


def build_optimizers(model, training):
    """The optimizers a NanoLlm [training] section asks for, each param group with its base_lr: AdamW (decaying the
    matrices, and the embedding tables with weight_decay_embeddings), SGD, or Muon for the hidden matrices beside
    AdamW for the rest."""
    lr = float(training["learning_rate"])
    name = training.get("optimizer", "sgd")
    named = list(model.named_parameters())
    if name == "sgd":
        optimizer = torch.optim.SGD([p for _, p in named], lr=lr)
        optimizer.param_groups[0]["base_lr"] = lr
        return [optimizer]
    muon = name == "muon"
    embeddings = ("wte", "wpe")
    decay_embeddings = bool(training.get("weight_decay_embeddings", False))
    rest = [(n, p) for n, p in named if not (muon and is_hidden_matrix(n, p))]
    decayed = [p for n, p in rest if p.dim() == 2 and (decay_embeddings or n not in embeddings)]
    kept = [p for n, p in rest if not (p.dim() == 2 and (decay_embeddings or n not in embeddings))]
    adamw = torch.optim.AdamW(
        [{"params": decayed, "weight_decay": float(training.get("weight_decay", 0.1))}, {"params": kept, "weight_decay": 0.0}],
        lr=lr, betas=(float(training.get("beta1", 0.9)), float(training.get("beta2", 0.95))), eps=float(training.get("eps", 1e-8)),
        foreach=True)
    for group in adamw.param_groups:
        group["base_lr"] = lr
    if not muon:
        return [adamw]
    muon_lr = float(training.get("muon_learning_rate", 0.02))
    hidden = Muon([(n, p) for n, p in named if is_hidden_matrix(n, p)], lr=muon_lr,
                  momentum=float(training.get("muon_momentum", 0.95)), weight_decay=float(training.get("muon_weight_decay", 0)))
    hidden.param_groups[0]["base_lr"] = muon_lr
    return [adamw, hidden]


def set_learning_rate(optimizers, rate, learning_rate):
    """The schedule's rate for this step: every group at its base rate scaled by rate / learning_rate."""
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            # AdamW's groups take the rate itself, as NanoLlm's AdamW does; Muon's its own rate scaled alike.
            group["lr"] = rate if group["base_lr"] == learning_rate else group["base_lr"] * rate / learning_rate
