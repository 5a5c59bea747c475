"""Recompute an output token's eigenvalues in the language report, from the published files, with NumPy alone.

Usage: python3 recompute_token_eigenvalues.py model.safetensors vocabulary.csv WORD

model.safetensors is the language report's bilinear model (its models/ folder), vocabulary.csv
the "vocabulary" figure's data file (each compact id's text). WORD is a whole word, read as the
token with a leading space (" girl"). Prints, as JSON, every eigenvalue of the token's interaction
matrix in order of |λ|: the numbers of the "output-spectra" figure's data.json for that token.

For the one-layer model without normalisation, the MLP's share of the token's logit is exactly
xᵀ Q_u x on the MLP's input x, with u = unembed[token] and

    Q_u = sym(w1ᵀ diag(w2ᵀ u) w3),   sym(A) = (A + Aᵀ) / 2,

since w2 ((w1 x) ⊙ (w3 x)) · u = Σ_k (w2ᵀ u)_k (w1_k · x)(w3_k · x).
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
    header.pop("__metadata__", None)
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).astype(np.float64)
    return tensors


def token_id(vocabulary_csv, word):
    with open(vocabulary_csv, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["text"] == " " + word:
                return int(row["id"])
    sys.exit(f"the vocabulary has no token ' {word}'")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    w = load_safetensors(sys.argv[1])
    u = w["unembed"][token_id(sys.argv[2], sys.argv[3])]
    q = w["layers.0.w1"].T @ np.diag(w["layers.0.w2"].T @ u) @ w["layers.0.w3"]
    q = (q + q.T) / 2
    values = np.linalg.eigvalsh(q)
    # by |λ|, largest first; on ties in magnitude, positive first (the site's canonical order)
    order = sorted(range(len(values)), key=lambda i: (-abs(values[i]), -values[i]))
    print(json.dumps([float(values[i]) for i in order]))


if __name__ == "__main__":
    main()
