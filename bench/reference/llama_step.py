"""PyTorch reference for npm run bench: one stories15M training step (forward, backward, AdamW).

The same model as pipeline/models/llama.ts (RMSNorm, rotary pairs (2i, 2i+1), causal attention,
SwiGLU MLP, tied embedding), read from a llama2.c model.bin byte range, on random tokens; prints
the median milliseconds of the timed steps after one warm-up. CPU only.

With a last argument `next-token` or `distill`, the finetune report's step instead: the MLPs alone
train (w1, w2, w3 and their norm gains), the gate at β = 0.5 (z·σ(βz)), on next-token
cross-entropy or on the KL divergence from the frozen original's next-token distribution.

usage: llama_step.py <file> <start> <end> <batch> <context> <steps> <threads> [next-token|distill]
"""
import struct
import sys
import time

import torch
import torch.nn.functional as F


def read_checkpoint(path, start, end):
    with open(path, "rb") as f:
        f.seek(start)
        raw = f.read(end - start)
    dim, hidden, layers, heads, kv_heads, vocab, context = struct.unpack("7i", raw[:28])
    floats = torch.frombuffer(bytearray(raw[28:]), dtype=torch.float32)
    hs = dim // heads
    sizes = [("embed", (abs(vocab), dim)), ("rms_att", (layers, dim)), ("wq", (layers, dim, dim)),
             ("wk", (layers, kv_heads * hs, dim)), ("wv", (layers, kv_heads * hs, dim)), ("wo", (layers, dim, dim)),
             ("rms_ffn", (layers, dim)), ("w1", (layers, hidden, dim)), ("w2", (layers, dim, hidden)),
             ("w3", (layers, hidden, dim)), ("rms_final", (dim,))]
    weights, offset = {}, 0
    for name, shape in sizes:
        n = 1
        for s in shape:
            n *= s
        weights[name] = floats[offset:offset + n].reshape(shape).clone()
        offset += n
    config = dict(dim=dim, hidden=hidden, layers=layers, heads=heads, kv_heads=kv_heads, vocab=abs(vocab), context=context)
    return config, weights


def rms_norm(x, g):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * g


def rotate(x, cos, sin):
    # x (B, T, H, hs); pairs (2i, 2i+1) turn by pos·θ_i
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)


def rope(T, hs):
    """cos and sin of pos·θ_i for positions 0 … T−1, shaped to broadcast over (B, T, H, hs / 2)."""
    freqs = 1.0 / (10000.0 ** (torch.arange(0, hs, 2).float() / hs))
    angles = torch.outer(torch.arange(T).float(), freqs)[None, :, None, :]
    return angles.cos(), angles.sin()


def attend(q, k, v):
    """Causal softmax attention over (B, H, T, hs), heads joined back into (B, T, H·hs)."""
    B, H, T, hs = q.shape
    mask = torch.triu(torch.full((T, T), float("-inf")), 1)
    return (F.softmax(q @ k.transpose(-1, -2) / hs ** 0.5 + mask, dim=-1) @ v).transpose(1, 2).reshape(B, T, H * hs)


def median_step_ms(params, forward, vocab, batch, context, steps):
    """Median ms of a training step (forward, cross-entropy, backward, AdamW: decay 0.1 on matrices, none on gains) on random tokens, after one warm-up."""
    decay = [v for v in params.values() if v.dim() >= 2]
    rest = [v for v in params.values() if v.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.1}] + ([{"params": rest, "weight_decay": 0.0}] if rest else [])
    data = torch.randint(0, vocab, (batch, context + 1))
    return timed_steps(torch.optim.AdamW(groups, lr=1e-4),
                       lambda: F.cross_entropy(forward(data[:, :-1]).reshape(-1, vocab), data[:, 1:].reshape(-1)),
                       steps)


def timed_steps(opt, loss_of, steps):
    """Median ms of steps + 1 optimiser steps on loss_of() (computed inside the timing), the first, a warm-up, left out."""
    times = []
    for i in range(steps + 1):
        started = time.perf_counter()
        loss = loss_of()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= 1:
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[len(times) // 2]


def forward(p, c, tokens, beta=1.0):
    B, T = tokens.shape
    hs = c["dim"] // c["heads"]
    cos, sin = rope(T, hs)
    x = p["embed"][tokens]
    for l in range(c["layers"]):
        h = rms_norm(x, p["rms_att"][l])
        q = rotate((h @ p["wq"][l].T).view(B, T, c["heads"], hs), cos, sin).transpose(1, 2)
        k = rotate((h @ p["wk"][l].T).view(B, T, c["kv_heads"], hs), cos, sin).transpose(1, 2)
        v = (h @ p["wv"][l].T).view(B, T, c["kv_heads"], hs).transpose(1, 2)
        x = x + attend(q, k, v) @ p["wo"][l].T
        h = rms_norm(x, p["rms_ffn"][l])
        gate = h @ p["w1"][l].T
        swish = F.silu(gate) if beta == 1.0 else gate * torch.sigmoid(beta * gate)
        x = x + (swish * (h @ p["w3"][l].T)) @ p["w2"][l].T
    return rms_norm(x, p["rms_final"]) @ p["embed"].T


MLP = ("w1", "w2", "w3", "rms_ffn")


def finetune_step_ms(c, weights, batch, context, steps, distill):
    """Median ms of the finetune report's step (the MLPs alone; next-token or distilled from the frozen original), after one warm-up."""
    student = {k: v.clone().requires_grad_(k in MLP) for k, v in weights.items()}
    groups = [{"params": [student[k] for k in ("w1", "w2", "w3")], "weight_decay": 0.1},
              {"params": [student["rms_ffn"]], "weight_decay": 0.0}]
    data = torch.randint(0, c["vocab"], (batch, context + 1))
    tokens = data[:, :-1]

    def loss_of():
        logits = forward(student, c, tokens, beta=0.5).reshape(-1, c["vocab"])
        if not distill:
            return F.cross_entropy(logits, data[:, 1:].reshape(-1))
        with torch.no_grad():
            target = F.log_softmax(forward(weights, c, tokens), -1).reshape(-1, c["vocab"])
        return F.kl_div(F.log_softmax(logits, -1), target, log_target=True, reduction="batchmean")

    return timed_steps(torch.optim.AdamW(groups, lr=1e-4), loss_of, steps)


def main():
    path, start, end, batch, context, steps, threads = sys.argv[1], *map(int, sys.argv[2:8])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    config, weights = read_checkpoint(path, start, end)
    if sys.argv[8:] in (["next-token"], ["distill"]):
        print(finetune_step_ms(config, weights, batch, context, steps, sys.argv[8] == "distill"))
        return
    params = {k: v.requires_grad_() for k, v in weights.items()}
    print(median_step_ms(params, lambda tokens: forward(params, config, tokens), config["vocab"], batch, context, steps))


if __name__ == "__main__":
    main()
