"""The PyTorch twin of NanoLlm's GPT (src/NanoLlm/Model/GptModel.cs), and its weights file.

The same architecture, parameter names and shapes as NanoLlm, written the plain nanoGPT way so that autograd's
gradients can check NanoLlm's hand-written backward pass (parity.py), and so a later train.py can import GPT and
train it. A NanoLlm weights file is safetensors with a `__metadata__` map (format, format_version, model, vocab_size,
hyperparameters, tokenizer); read_safetensors / write_safetensors below handle the format in a few lines because
the `safetensors` package is not in Debian and there is no package index here.
"""

import json
import math
import os
import struct
from dataclasses import dataclass, fields

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT_NAME = "nanollm"
FORMAT_VERSION = "1"
MODEL_NAME = "gpt"
SINUSOIDAL = "sinusoidal"
LEARNED = "learned"
ROPE = "rope"
ROPE_BASE = 10_000.0
NORMS = ("layernorm", "rmsnorm")
ACTIVATIONS = ("gelu", "swiglu", "relu2")
EPSILON = 1e-5


@dataclass
class GPTConfig:
    """The [model] keys of a NanoLlm run file, with NanoLlm's defaults (GptModel's constructor)."""

    vocab_size: int
    context_length: int = 64
    embedding_size: int = 128
    layers: int = 4
    heads: int = 4
    ffn_ratio: int = 4
    positional: str = SINUSOIDAL
    tie_embeddings: bool = False
    dropout: float = 0  # recorded as NanoLlm records it; the twin implements none, so it must be 0
    attention_dropout: float = 0  # the same
    norm: str = "layernorm"
    activation: str = "gelu"
    qk_norm: bool = False
    rope_base: float = None  # with positional = "rope" only (NanoLlm refuses it otherwise); 10000 when absent

    @classmethod
    def from_hyperparameters(cls, vocab_size, hyperparameters):
        """Builds a config from a weights file's `hyperparameters` JSON object; absent keys take the defaults."""
        known = {f.name for f in fields(cls)} - {"vocab_size"}
        unknown = set(hyperparameters) - known
        if unknown:
            raise ValueError(f"hyperparameters the GPT does not take: {sorted(unknown)}")
        config = cls(vocab_size=vocab_size, **hyperparameters)
        if config.positional not in (SINUSOIDAL, LEARNED, ROPE):
            raise ValueError(f'positional "{config.positional}" is not "{SINUSOIDAL}", "{LEARNED}" or "{ROPE}"')
        if config.rope_base is not None and config.positional != ROPE:
            raise ValueError(f'rope_base: only rotary positions have a base, and positional is "{config.positional}"')
        if config.positional == ROPE and config.rope_base is None:
            config.rope_base = ROPE_BASE
        if config.norm not in NORMS:
            raise ValueError(f'norm "{config.norm}" is not one of {", ".join(NORMS)}')
        if config.activation not in ACTIVATIONS:
            raise ValueError(f'activation "{config.activation}" is not one of {", ".join(ACTIVATIONS)}')
        if config.dropout != 0 or config.attention_dropout != 0:
            raise ValueError(f"dropout {config.dropout}, attention_dropout {config.attention_dropout}: the twin implements no dropout")
        if config.embedding_size % config.heads != 0:
            raise ValueError(f"heads {config.heads} does not divide embedding_size {config.embedding_size}")
        if config.positional == ROPE and (config.embedding_size // config.heads) % 2 != 0:
            raise ValueError(f"rotary positions need an even head size, not {config.embedding_size // config.heads}")
        return config

    def hyperparameters(self):
        """The resolved keys as NanoLlm records them: every [model] key but vocab_size (and rope_base without rotary
        positions), sorted by name."""
        return {f.name: getattr(self, f.name) for f in sorted(fields(self), key=lambda f: f.name)
                if f.name != "vocab_size" and not (f.name == "rope_base" and getattr(self, f.name) is None)}

    def feed_forward_size(self):
        """The activation's width: ratio·C, or for SwiGLU 2/3 of it, rounded (the parameter count of the other two)."""
        if self.activation == "swiglu":
            return max(1, round(2 * self.ffn_ratio * self.embedding_size / 3))
        return self.ffn_ratio * self.embedding_size


class RMSNorm(nn.Module):
    """y = x / √(mean(x²) + ε) · γ (torch 1.13 has no nn.RMSNorm); without a gain for QK-norm."""

    def __init__(self, channels=None):
        super().__init__()
        self.weight = None if channels is None else nn.Parameter(torch.ones(channels))

    def forward(self, x):
        y = x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + EPSILON)
        return y if self.weight is None else y * self.weight


def normalization(config):
    return RMSNorm(config.embedding_size) if config.norm == "rmsnorm" else nn.LayerNorm(config.embedding_size, eps=EPSILON)


def rotary_tables(positions, head_size, base):
    """cos and sin of p·θᵢ, θᵢ = base^(−2i/D), [positions, D/2]: in float64, rounded once to float32, as NanoLlm does."""
    p = torch.arange(positions, dtype=torch.float64)[:, None]
    i = torch.arange(head_size // 2, dtype=torch.float64)
    angle = p * torch.pow(torch.tensor(base, dtype=torch.float64), -2 * i / head_size)
    return torch.cos(angle).to(torch.float32), torch.sin(angle).to(torch.float32)


def rotate(x, cos, sin):
    """Turns planes (i, i + D/2) of x [B, H, T, D] by the angles of positions 0..T−1."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention: c_attn makes [q|k|v] (output columns 0..C, C..2C, 2C..3C), c_proj mixes the heads."""

    def __init__(self, config):
        super().__init__()
        c = config.embedding_size
        self.heads = config.heads
        self.c_attn = nn.Linear(c, 3 * c)
        self.c_proj = nn.Linear(c, c)
        # 1 where a position may attend, as uint8 rather than bool: DDP broadcasts buffers, and gloo has no bool.
        causal = torch.tril(torch.ones(config.context_length, config.context_length, dtype=torch.uint8))
        self.register_buffer("causal", causal, persistent=False)
        self.qk_norm = RMSNorm() if config.qk_norm else None
        self.rotary = config.positional == ROPE
        if self.rotary:
            cos, sin = rotary_tables(config.context_length, c // config.heads, config.rope_base)
            self.register_buffer("cos", cos, persistent=False)
            self.register_buffer("sin", sin, persistent=False)

    def forward(self, x):
        b, t, c = x.shape
        d = c // self.heads
        q, k, v = self.c_attn(x).split(c, dim=2)
        # [B, T, C] -> [B, H, T, D]: head h is columns h*D..(h+1)*D of each third, as in NanoLlm.
        q, k, v = (z.view(b, t, self.heads, d).transpose(1, 2) for z in (q, k, v))
        if self.qk_norm is not None:
            q, k = self.qk_norm(q), self.qk_norm(k)
        if self.rotary:
            q, k = rotate(q, self.cos[:t], self.sin[:t]), rotate(k, self.cos[:t], self.sin[:t])
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d))
        scores = scores.masked_fill(self.causal[:t, :t] == 0, float("-inf"))
        y = F.softmax(scores, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))


class FeedForward(nn.Module):
    """Linear C -> H, an activation, Linear back to C: GELU in GPT-2's tanh form (NanoLlm's Gelu kernel), ReLU², or
    SwiGLU, whose c_fc makes [gate | up] (2H) and whose activation is SiLU(gate)·up."""

    def __init__(self, config):
        super().__init__()
        c, hidden = config.embedding_size, config.feed_forward_size()
        self.activation = config.activation
        self.hidden = hidden
        self.c_fc = nn.Linear(c, 2 * hidden if self.activation == "swiglu" else hidden)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(hidden, c)

    def forward(self, x):
        h = self.c_fc(x)
        if self.activation == "swiglu":
            gate, up = h.split(self.hidden, dim=-1)
            a = F.silu(gate) * up
        elif self.activation == "relu2":
            a = F.relu(h).square()
        else:
            a = self.gelu(h)
        return self.c_proj(a)


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln_1(x)), then + mlp(ln_2(x)). LayerNorm: eps 1e-5, biased variance."""

    def __init__(self, config):
        super().__init__()
        self.ln_1 = normalization(config)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = normalization(config)
        self.mlp = FeedForward(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """NanoLlm's GPT. Parameter names are NanoLlm's (wte, wpe, h.{l}...., ln_f, lm_head.weight), so a state_dict is
    a weights file's tensors one for one; registration order follows NanoLlm's, so files list them in the same order."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        c = config.embedding_size
        self.wte = nn.Parameter(torch.empty(config.vocab_size, c))
        self.wpe = nn.Parameter(torch.empty(config.context_length, c)) if config.positional == LEARNED else None
        if config.positional == SINUSOIDAL:
            self.register_buffer("sinusoids", sinusoidal_table(config.context_length, c), persistent=False)
        self.h = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.ln_f = normalization(config)
        # Tied: the head is wte itself (no head bias either way).
        self.lm_head = None if config.tie_embeddings else nn.Linear(c, config.vocab_size, bias=False)
        self.reset_parameters()

    def reset_parameters(self):
        """NanoLlm's initialization (GptModel.Initialize), in distribution: nanoGPT's N(0, 0.02²) for matrices and
        embeddings, N(0, (0.02/√(2·layers))²) for the c_proj layers that write into the residual stream, zero
        biases, LayerNorm (or RMSNorm) γ = 1 and β = 0; with sinusoidal positions the token embedding is N(0, 1/C) instead,
        because it is multiplied by √C on the way in to match the sinusoids' amplitude."""
        std = 0.02
        projection_std = std / math.sqrt(2 * self.config.layers)
        for name, parameter in self.named_parameters():
            if name == "wte":
                sinusoidal = self.config.positional == SINUSOIDAL
                nn.init.normal_(parameter, std=1 / math.sqrt(self.config.embedding_size) if sinusoidal else std)
            elif name.endswith("c_proj.weight"):
                nn.init.normal_(parameter, std=projection_std)
            elif name.endswith(".bias"):
                nn.init.zeros_(parameter)
            elif ".ln_" in name or name.startswith("ln_f"):
                nn.init.ones_(parameter)
            else:
                nn.init.normal_(parameter, std=std)

    def forward(self, idx, targets=None):
        """idx, targets: [B, T] token ids. Returns logits [B, T, V] and the mean cross-entropy (None without targets)."""
        t = idx.shape[1]
        if t > self.config.context_length:
            raise ValueError(f"the model sees at most {self.config.context_length} positions, not {t}")
        if self.wpe is not None:
            x = self.wte[idx] + self.wpe[:t]
        elif self.config.positional == SINUSOIDAL:
            x = self.wte[idx] * math.sqrt(self.config.embedding_size) + self.sinusoids[:t]
        else:
            x = self.wte[idx]  # rotary positions act inside attention
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        logits = x @ self.wte.t() if self.lm_head is None else self.lm_head(x)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))
        return logits, loss


def sinusoidal_table(positions, channels):
    """PE[p, 2i] = sin(p / 10000^(2i/C)), PE[p, 2i+1] = cos(same angle) (Vaswani et al. 2017, §3.5); computed in
    float64 and rounded once to float32, as NanoLlm does."""
    p = torch.arange(positions, dtype=torch.float64)[:, None]
    i = torch.arange(channels)
    angle = p / torch.pow(10_000.0, (i - i % 2).to(torch.float64) / channels)
    return torch.where(i % 2 == 0, torch.sin(angle), torch.cos(angle)).to(torch.float32)


# --- safetensors: an 8-byte little-endian header length, a JSON header (name -> dtype, shape, data_offsets, plus a
# --- `__metadata__` map of strings), then the raw little-endian data. NanoLlm writes and reads F32 only.

def read_safetensors(path):
    """Returns ({name: float32 tensor}, metadata) in file order; refuses anything but well-formed F32 tensors."""
    with open(path, "rb") as file:
        blob = file.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (header_length,) = struct.unpack("<Q", blob[:8])
    if 8 + header_length > len(blob):
        raise ValueError(f"{path}: header length {header_length} runs past the end of the file")
    header = json.loads(blob[8:8 + header_length])
    metadata = header.pop("__metadata__", {})
    data = memoryview(blob)[8 + header_length:]
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {entry['dtype']}; NanoLlm files hold F32 only")
        begin, end = entry["data_offsets"]
        shape = entry["shape"]
        if end - begin != 4 * math.prod(shape) or end > len(data):
            raise ValueError(f"{path}: tensor {name} has shape {shape} but data_offsets [{begin}, {end}]")
        # np.frombuffer views the file's bytes; astype copies them, so torch gets its own writable memory.
        values = np.frombuffer(data[begin:end], dtype="<f4").astype(np.float32).reshape(shape)
        tensors[name] = torch.from_numpy(values)
    return tensors, metadata


def write_safetensors(path, tensors, metadata):
    """Writes {name: tensor} as F32 in the given order, with metadata (a map of strings), as NanoLlm does: the
    header padded with spaces so the data starts 8-byte aligned, written beside the target and then renamed, so an
    interrupted save never leaves half a file under the target's name."""
    header = {"__metadata__": dict(metadata)}
    chunks = []
    offset = 0
    for name, tensor in tensors.items():
        raw = tensor.detach().to(torch.float32).contiguous().cpu().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-(8 + len(encoded)) % 8)
    temporary = f"{path}.tmp"
    with open(temporary, "wb") as file:
        file.write(struct.pack("<Q", len(encoded)))
        file.write(encoded)
        for chunk in chunks:
            file.write(chunk)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


# --- NanoLlm weights files: the GPT's tensors plus the metadata that lets chat rebuild model and tokenizer.

def config_from_metadata(metadata):
    """The GPTConfig a NanoLlm weights file describes: its hyperparameters (the [model] keys NanoLlm resolved, which
    may include the run file's name and vocab_size) and vocab_size."""
    hyperparameters = {k: v for k, v in json.loads(metadata["hyperparameters"]).items() if k not in ("name", "vocab_size")}
    return GPTConfig.from_hyperparameters(int(metadata["vocab_size"]), hyperparameters)


def load_gpt(path):
    """Builds the GPT a NanoLlm weights file (or checkpoint, whose optimizer.* tensors are skipped) describes and
    loads its weights. Returns (model, metadata)."""
    tensors, metadata = read_safetensors(path)
    if metadata.get("format") != FORMAT_NAME or metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: not a NanoLlm weights file of format version {FORMAT_VERSION}")
    if metadata.get("model") != MODEL_NAME:
        raise ValueError(f"{path}: holds a {metadata.get('model')} model, not a {MODEL_NAME}")
    model = GPT(config_from_metadata(metadata))
    tensors = {name: t for name, t in tensors.items() if not name.startswith("optimizer.")}
    expected = {name: tuple(p.shape) for name, p in model.state_dict().items()}
    found = {name: tuple(t.shape) for name, t in tensors.items()}
    if expected != found:
        raise ValueError(f"{path}: tensors {found} do not match the model's {expected}")
    model.load_state_dict(tensors)
    return model, metadata


def save_gpt(model, path, tokenizer, tensors=None, extra_metadata=None):
    """Writes a weights file NanoLlm's Cortex.Load reads; tokenizer is the metadata's tokenizer JSON string
    (byte level: {"type":"byte_bpe","merges":[]}). tensors (default: the model's state_dict) and extra_metadata let
    a checkpoint add the optimizer's buffers and its step."""
    config = model.config
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "model": MODEL_NAME,
        "vocab_size": str(config.vocab_size),
        # As NanoLlm's Cortex records them: the resolved [model] keys with the model's name and vocabulary size.
        "hyperparameters": json.dumps(dict(sorted({**config.hyperparameters(), "name": MODEL_NAME, "vocab_size": config.vocab_size}.items())),
                                      separators=(",", ":")),
        "tokenizer": tokenizer,
        **(extra_metadata or {}),
    }
    write_safetensors(path, model.state_dict() if tensors is None else tensors, metadata)
