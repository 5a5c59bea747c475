"""Recompute a language model's held-out loss from the published files, with NumPy alone.

Usage: python3 recompute_language_loss.py model.safetensors data.csv [validation|test]

model.safetensors is a model of the language or the finetune report (its models/ folder),
data.csv the same report's "held-out-windows" figure's data file. Prints, as JSON, the
cross-entropy per token and the next-token accuracy over every window of the split (default:
test): the numbers of the report's "models" figure and of the weights file's own `testMetrics`.

The forward pass, written from the weights file's `layout` metadata (no biases, matrices stored
(out, in), so y = x Wᵀ; N(v, g) = g ⊙ v / √(mean(v²) + ε) with RMSNorm, v itself with
shape.norm "none"):

    x = embed[t]
    per layer:  a = N(x, attn_norm)
                q, k, v = a wqᵀ, a wkᵀ, a wvᵀ, split into heads; q and k rotated (RoPE, pairs
                (2i, 2i+1) of each head, angle pos / θ^(i / head size)); causal softmax(q kᵀ / √hs) v;
                x += (heads joined) woᵀ
                h = N(x, mlp_norm)
                x += w2 ((w1 h) ⊙ (w3 h))            (bilinear MLP; gated: Swish_β(w1 h) ⊙ (w3 h))
    logits = N(x, final_norm) unembedᵀ             (unembed = embed when tied)

A window holds T + 1 ids: the model reads the first T and is scored on predicting each next one.
"""
import csv
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "U8": np.uint8}


def load_safetensors(path):
    """The format: u64 little-endian header length, a JSON header, then raw little-endian tensors."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).astype(np.float64)
    return tensors, metadata


def rope(x, theta):
    """Rotates pairs (2i, 2i+1) of the last axis of x (..., T, hs) by angle pos / θ^(2i / hs)."""
    T, hs = x.shape[-2:]
    freq = 1.0 / theta ** (np.arange(0, hs, 2) / hs)
    angle = np.arange(T)[:, None] * freq[None, :]  # (T, hs / 2)
    cos, sin = np.cos(angle), np.sin(angle)
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = odd * cos + even * sin
    return out


def forward(w, shape, ids):
    """Logits (n, T, vocab) of windows ids (n, T)."""
    normalised = shape.get("norm") != "none"

    def norm(v, gain):
        if not normalised:
            return v
        return w[gain] * v / np.sqrt((v * v).mean(axis=-1, keepdims=True) + shape["normEps"])

    n, T = ids.shape
    H, d = shape["heads"], shape["dim"]
    hs = d // H
    group = H // shape["kvHeads"]
    x = w["embed"][ids]  # (n, T, d)
    causal = np.triu(np.full((T, T), -np.inf), 1)
    for l in range(shape["layers"]):
        p = lambda name: w[f"layers.{l}.{name}"]
        a = norm(x, f"layers.{l}.attn_norm")
        heads = lambda m, count: (a @ m.T).reshape(n, T, count, hs).transpose(0, 2, 1, 3)  # (n, count, T, hs)
        q = rope(heads(p("wq"), H), shape["ropeTheta"])
        k = np.repeat(rope(heads(p("wk"), shape["kvHeads"]), shape["ropeTheta"]), group, axis=1)
        v = np.repeat(heads(p("wv"), shape["kvHeads"]), group, axis=1)
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hs) + causal
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        attended = (scores / scores.sum(axis=-1, keepdims=True)) @ v  # (n, H, T, hs)
        x = x + attended.transpose(0, 2, 1, 3).reshape(n, T, d) @ p("wo").T
        h = norm(x, f"layers.{l}.mlp_norm")
        a, b = h @ p("w1").T, h @ p("w3").T
        gate = a if shape["mlp"] == "bilinear" else a / (1 + np.exp(-shape["beta"] * a))
        x = x + (gate * b) @ p("w2").T
    unembed = w["embed"] if shape["tiedEmbeddings"] else w["unembed"]
    return norm(x, "final_norm") @ unembed.T


def held_out(path, split):
    with open(path, newline="") as f:
        rows = [np.array(r["ids"].split(), dtype=np.int64) for r in csv.DictReader(f) if r["split"] == split]
    if not rows:
        raise SystemExit(f"{path} holds no {split} windows")
    return np.stack(rows)


def main(model_path, windows_path, split="test"):
    w, metadata = load_safetensors(model_path)
    shape = json.loads(metadata["shape"])
    windows = held_out(windows_path, split)
    loss, correct, count = 0.0, 0, 0
    # chunks of at most 2**25 logits (256 MB in float64): a 32,000-token vocabulary makes them large
    per_window = (windows.shape[1] - 1) * w["embed"].shape[0]
    for chunk in np.array_split(windows, max(1, -(-len(windows) * per_window // 2**25))):
        logits = forward(w, shape, chunk[:, :-1])
        targets = chunk[:, 1:]
        top = logits.max(axis=-1, keepdims=True)
        log_z = top[..., 0] + np.log(np.exp(logits - top).sum(axis=-1))
        loss += float((log_z - np.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]).sum())
        correct += int((logits.argmax(axis=-1) == targets).sum())
        count += targets.size
    print(json.dumps({"split": split, "windows": len(windows), "tokens": count, "loss": loss / count, "accuracy": correct / count}))


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__.split("\n\n")[1])
    main(*sys.argv[1:])
