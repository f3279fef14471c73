#!/usr/bin/python3
"""compare_checkpoints.py A.h5 B.h5 TOL: the largest per-tensor relative difference of the hypernet parameters
(max |a - b| / max |a|). TOL 0 demands byte-equal tensors. Exit 1 when the difference exceeds TOL."""
import sys

import h5py
import numpy as np


def load(path):
    with h5py.File(path, "r") as f:
        g = f["hypernet"]
        return {k: g[k][()] for k in g if k != ".names"}


a, b, tol = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
assert a.keys() == b.keys(), "different parameter names"
if tol == 0:
    same = all(a[k].tobytes() == b[k].tobytes() for k in a)
    print("byte-equal" if same else "NOT byte-equal")
    sys.exit(0 if same else 1)
worst, name = 0.0, ""
for k in a:
    d = float(np.abs(a[k] - b[k]).max() / max(np.abs(a[k]).max(), 1e-12))
    if d > worst:
        worst, name = d, k
print("max relative difference %.3g (%s), tolerance %.3g" % (worst, name or "-", tol))
sys.exit(0 if worst <= tol else 1)
