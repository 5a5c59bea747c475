"""PyTorch reference for npm run bench: one training step (forward, backward, AdamW) of the language
report's model: one or more layers, no normalisation, rotary pairs (2i, 2i+1), causal attention,
a bilinear or SwiGLU MLP, untied embeddings, latent noise on the MLP input, as
pipeline/models/llama.ts with shape.norm "none". Random weights and tokens; prints the median
milliseconds of the timed steps after one warm-up. CPU only.

usage: language_step.py <dim> <hidden> <layers> <heads> <vocab> <batch> <context> <bilinear|gated> <steps> <threads>
"""
import sys

import torch
import torch.nn.functional as F

from llama_step import attend, median_step_ms, rope, rotate  # the stories15M reference's parts


def forward(p, c, tokens):
    B, T = tokens.shape
    hs = c["dim"] // c["heads"]
    cos, sin = rope(T, hs)
    x = p["embed"][tokens]
    for l in range(c["layers"]):
        q = rotate((x @ p[f"wq{l}"].T).view(B, T, c["heads"], hs), cos, sin).transpose(1, 2)
        k = rotate((x @ p[f"wk{l}"].T).view(B, T, c["heads"], hs), cos, sin).transpose(1, 2)
        v = (x @ p[f"wv{l}"].T).view(B, T, c["heads"], hs).transpose(1, 2)
        x = x + attend(q, k, v) @ p[f"wo{l}"].T
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
    print(median_step_ms(params, lambda tokens: forward(params, c, tokens), vocab, batch, context, steps))


if __name__ == "__main__":
    main()
