"""Recompute a figure's eigenvalues from a published model file, with NumPy alone.

Usage: python3 recompute_eigenvalues.py model.safetensors DIGIT [TOP]

Prints, as JSON, the TOP (default 30) eigenvalues of largest magnitude of the digit's interaction
matrix Q = sym(Wᵀ diag(P[digit]) V), in order of |λ|: the numbers of the report's
"eigenvalue-spectra" figure (its data.json or data.csv). With the `safetensors` package installed,
`safetensors.numpy.load_file(path)` replaces load_safetensors below.
"""
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
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return tensors


def class_eigenvalues(path, digit, top):
    t = load_safetensors(path)
    W, V, P = (t[name].astype(np.float64) for name in ("W", "V", "P"))  # (m, d), (m, d), (c, m)
    Q = W.T @ np.diag(P[digit]) @ V  # Σ_k P[digit, k] w_k v_kᵀ, (d, d)
    Q = (Q + Q.T) / 2  # only the symmetric part acts on eᵀ Q e
    eigenvalues = np.linalg.eigvalsh(Q)
    order = np.lexsort((-eigenvalues, -np.abs(eigenvalues)))  # by |λ| descending, positive first on ties
    return eigenvalues[order][:top]


if __name__ == "__main__":
    path, digit = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    print(json.dumps(class_eigenvalues(path, digit, top).tolist()))
