"""GPT-2 as Hugging Face lays it out (modeling_gpt2.py, GPT2LMHeadModel), for checking NanoLlm's importer and exporter.

    gpt2_hf.py make DIR [--layers L --heads H --channels C --positions T --merges M --seed S]
    gpt2_hf.py logits DIR OUT [--batch B --length T --seed S]

`make` writes a small random GPT-2 checkpoint as transformers saves one: config.json (GPT2LMHeadModel, gelu_new),
model.safetensors (the `transformer.` names, Conv1D weights [in, out], the head tied to wte so no lm_head.weight,
and the causal-mask buffers `attn.bias` older files carry), and a byte-level BPE tokenizer of 256 bytes, M merges
and <|endoftext|> as vocab.json + merges.txt, spelled through GPT-2's byte-to-unicode table. Weights are random normals
wide enough that attention is far from uniform, LayerNorm gains near 1.

`logits` loads a directory by the documented layout alone (Conv1D: y = x @ W + b; GELU's tanh form "gelu_new";
LayerNorm eps 1e-5; logits = ln_f(x) @ wte^T) and writes a batch of random tokens with the twin's logits
[B, T, V] to OUT, the file `NanoLlm.Bench --logits-check WEIGHTS OUT` compares NanoLlm's logits against. No
transformers and no safetensors package are needed: Debian ships neither.
"""

import argparse
import json
import math
import os
import re
import sys

import torch
import torch.nn.functional as F

from model import read_safetensors, write_safetensors


def bytes_to_unicode():
    """GPT-2's table: printable bytes stand for themselves, the others for code points from 256 up, in byte order."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def make(args):
    generator = torch.Generator().manual_seed(args.seed)
    c, layers, positions = args.channels, args.layers, args.positions

    # A tokenizer: merges of the most frequent adjacent pairs inside the words of a small text (GPT-2 merges only
    # inside the pieces its pattern cuts, " word" and the like), as spelled strings.
    spell = bytes_to_unicode()
    text = ("ROMEO: But soft, what light through yonder window breaks? It is the east, and Juliet is the sun. "
            "JULIET: O Romeo, Romeo, wherefore art thou Romeo? ") * 4
    vocab = {spell[b]: b for b in range(256)}
    merges = []
    words = [[spell[b] for b in piece.encode("utf-8")] for piece in re.findall(r" ?[A-Za-z]+| ?[^A-Za-z\s]+|\s+", text)]
    while len(merges) < args.merges:
        counts = {}
        for word in words:
            for pair in zip(word, word[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        pair = max(sorted(counts), key=lambda p: counts[p])
        merges.append(pair)
        vocab[pair[0] + pair[1]] = len(vocab)
        for word in words:
            i = 0
            while i < len(word) - 1:
                if (word[i], word[i + 1]) == pair:
                    word[i:i + 2] = [pair[0] + pair[1]]
                i += 1
    vocab["<|endoftext|>"] = len(vocab)
    vocab_size = len(vocab)

    def normal(*shape, std=0.02, mean=0.0):
        return torch.randn(*shape, generator=generator) * std + mean

    tensors = {"transformer.wte.weight": normal(vocab_size, c, std=0.1), "transformer.wpe.weight": normal(positions, c, std=0.01)}
    mask = torch.tril(torch.ones(positions, positions)).view(1, 1, positions, positions)
    for l in range(layers):
        h = f"transformer.h.{l}."
        tensors[h + "ln_1.weight"] = normal(c, std=0.1, mean=1.0)
        tensors[h + "ln_1.bias"] = normal(c, std=0.1)
        tensors[h + "attn.bias"] = mask
        tensors[h + "attn.masked_bias"] = torch.tensor(-1e4)
        tensors[h + "attn.c_attn.weight"] = normal(c, 3 * c, std=0.2)
        tensors[h + "attn.c_attn.bias"] = normal(3 * c, std=0.02)
        tensors[h + "attn.c_proj.weight"] = normal(c, c, std=0.2)
        tensors[h + "attn.c_proj.bias"] = normal(c, std=0.02)
        tensors[h + "ln_2.weight"] = normal(c, std=0.1, mean=1.0)
        tensors[h + "ln_2.bias"] = normal(c, std=0.1)
        tensors[h + "mlp.c_fc.weight"] = normal(c, 4 * c, std=0.2)
        tensors[h + "mlp.c_fc.bias"] = normal(4 * c, std=0.02)
        tensors[h + "mlp.c_proj.weight"] = normal(4 * c, c, std=0.2)
        tensors[h + "mlp.c_proj.bias"] = normal(c, std=0.02)
    tensors["transformer.ln_f.weight"] = normal(c, std=0.1, mean=1.0)
    tensors["transformer.ln_f.bias"] = normal(c, std=0.1)

    os.makedirs(args.dir, exist_ok=True)
    write_safetensors(os.path.join(args.dir, "model.safetensors"), tensors, {"format": "pt"})
    config = {
        "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
        "bos_token_id": vocab_size - 1, "embd_pdrop": 0.1, "eos_token_id": vocab_size - 1, "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": positions, "n_embd": c, "n_head": args.heads,
        "n_inner": None, "n_layer": layers, "n_positions": positions, "resid_pdrop": 0.1, "vocab_size": vocab_size,
    }
    with open(os.path.join(args.dir, "config.json"), "w") as file:
        json.dump(config, file, indent=2)
    with open(os.path.join(args.dir, "vocab.json"), "w", encoding="utf-8") as file:
        json.dump(vocab, file, ensure_ascii=False)
    with open(os.path.join(args.dir, "merges.txt"), "w", encoding="utf-8") as file:
        file.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    print(f"wrote a random GPT-2 ({layers} layers, {args.heads} heads, {c} wide, {positions} positions, vocabulary {vocab_size}) to {args.dir}")


def load(directory):
    """The config and the tensors by their names without `transformer.`, checked against config.json's shapes."""
    with open(os.path.join(directory, "config.json")) as file:
        config = json.load(file)
    if config.get("activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh"):
        raise ValueError(f"{directory}: activation_function {config['activation_function']} is not GPT-2's")
    tensors, _ = read_safetensors(os.path.join(directory, "model.safetensors"))
    tensors = {name[len("transformer."):] if name.startswith("transformer.") else name: t for name, t in tensors.items()}
    c = config["n_embd"]
    if tuple(tensors["wte.weight"].shape) != (config["vocab_size"], c):
        raise ValueError(f"{directory}: wte.weight is {tuple(tensors['wte.weight'].shape)}, config says {(config['vocab_size'], c)}")
    return config, tensors


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def forward(config, w, idx):
    """GPT2LMHeadModel's forward, written from the documented layout: logits [B, T, V]."""
    b, t = idx.shape
    c, heads, eps = config["n_embd"], config["n_head"], config.get("layer_norm_epsilon", 1e-5)
    d = c // heads
    x = w["wte.weight"][idx] + w["wpe.weight"][:t]
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    for l in range(config["n_layer"]):
        p = lambda name: w[f"h.{l}.{name}"]
        h = F.layer_norm(x, (c,), p("ln_1.weight"), p("ln_1.bias"), eps)
        q, k, v = (h @ p("attn.c_attn.weight") + p("attn.c_attn.bias")).split(c, dim=2)
        q, k, v = (z.view(b, t, heads, d).transpose(1, 2) for z in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d)
        scores = scores.masked_fill(~causal, float("-inf"))
        y = (F.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, t, c)
        x = x + (y @ p("attn.c_proj.weight") + p("attn.c_proj.bias"))
        h = F.layer_norm(x, (c,), p("ln_2.weight"), p("ln_2.bias"), eps)
        x = x + (gelu_new(h @ p("mlp.c_fc.weight") + p("mlp.c_fc.bias")) @ p("mlp.c_proj.weight") + p("mlp.c_proj.bias"))
    x = F.layer_norm(x, (c,), w["ln_f.weight"], w["ln_f.bias"], eps)
    head = w.get("lm_head.weight", w["wte.weight"])
    return x @ head.t()


def logits(args):
    config, tensors = load(args.dir)
    generator = torch.Generator().manual_seed(args.seed)
    length = min(args.length, config["n_positions"])
    tokens = torch.randint(0, config["vocab_size"], (args.batch, length), generator=generator)
    with torch.no_grad():
        out = forward(config, tensors, tokens)
    write_safetensors(args.out, {"tokens": tokens.to(torch.float32), "logits": out}, {})
    print(f"twin: logits of a [{args.batch}, {length}] batch through {args.dir} (largest |logit| {out.abs().max().item():.3f}) -> {args.out}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    m = commands.add_parser("make")
    m.add_argument("dir")
    m.add_argument("--layers", type=int, default=2)
    m.add_argument("--heads", type=int, default=4)
    m.add_argument("--channels", type=int, default=64)
    m.add_argument("--positions", type=int, default=128)
    m.add_argument("--merges", type=int, default=64)
    m.add_argument("--seed", type=int, default=1337)
    g = commands.add_parser("logits")
    g.add_argument("dir")
    g.add_argument("out")
    g.add_argument("--batch", type=int, default=2)
    g.add_argument("--length", type=int, default=64)
    g.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    try:
        make(args) if args.command == "make" else logits(args)
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
