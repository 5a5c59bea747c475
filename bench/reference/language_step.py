"""PyTorch reference for npm run bench: one training step (forward, backward, AdamW) of the language
report's model: one or more layers, no normalisation, rotary pairs (2i, 2i+1), causal attention,
a bilinear or SwiGLU MLP, untied embeddings, latent noise on the MLP input, as
pipeline/models/llama.ts with shape.norm "none". Random weights and tokens; prints the median
milliseconds of the timed steps after one warm-up. CPU only.

usage: language_step.py <dim> <hidden> <layers> <heads> <vocab> <batch> <context> <bilinear|gated> <steps> <threads>
"""
import sys
import time

import torch
import torch.nn.functional as F


def rotate(x, cos, sin):
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)


def forward(p, c, tokens):
    B, T = tokens.shape
    hs = c["dim"] // c["heads"]
    freqs = 1.0 / (10000.0 ** (torch.arange(0, hs, 2).float() / hs))
    angles = torch.outer(torch.arange(T).float(), freqs)[None, :, None, :]
    cos, sin = angles.cos(), angles.sin()
    mask = torch.triu(torch.full((T, T), float("-inf")), 1)
    x = p["embed"][tokens]
    for l in range(c["layers"]):
        q = rotate((x @ p[f"wq{l}"].T).view(B, T, c["heads"], hs), cos, sin).transpose(1, 2)
        k = rotate((x @ p[f"wk{l}"].T).view(B, T, c["heads"], hs), cos, sin).transpose(1, 2)
        v = (x @ p[f"wv{l}"].T).view(B, T, c["heads"], hs).transpose(1, 2)
        a = (F.softmax(q @ k.transpose(-1, -2) / hs ** 0.5 + mask, dim=-1) @ v).transpose(1, 2).reshape(B, T, c["dim"])
        x = x + a @ p[f"wo{l}"].T
        h = x + 0.33 * x.detach().std() * torch.randn_like(x)  # latent noise, as in training
        gate = h @ p[f"w1{l}"].T
        x = x + ((gate if c["mlp"] == "bilinear" else F.silu(gate)) * (h @ p[f"w3{l}"].T)) @ p[f"w2{l}"].T
    return x @ p["unembed"].T


def main():
    dim, hidden, layers, heads, vocab, batch, context = map(int, sys.argv[1:8])
    mlp, steps, threads = sys.argv[8], int(sys.argv[9]), int(sys.argv[10])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    c = dict(dim=dim, hidden=hidden, layers=layers, heads=heads, vocab=vocab, mlp=mlp)
    shapes = {"embed": (vocab, dim), "unembed": (vocab, dim)}
    for l in range(layers):
        shapes.update({f"wq{l}": (dim, dim), f"wk{l}": (dim, dim), f"wv{l}": (dim, dim), f"wo{l}": (dim, dim),
                       f"w1{l}": (hidden, dim), f"w3{l}": (hidden, dim), f"w2{l}": (dim, hidden)})
    params = {k: (torch.randn(s) * 0.02).requires_grad_() for k, s in shapes.items()}
    opt = torch.optim.AdamW(list(params.values()), lr=1e-4, weight_decay=0.1)
    data = torch.randint(0, vocab, (batch, context + 1))
    times = []
    for i in range(steps + 1):
        started = time.perf_counter()
        logits = forward(params, c, data[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, vocab), data[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= 1:
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(times[len(times) // 2])


if __name__ == "__main__":
    main()
