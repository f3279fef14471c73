#!/usr/bin/python3
"""gpt2_numpy_check.py EXPORT_DIR LOGITS.h5: an independent GPT-2 in float64 NumPy, written from the papers'
equations (Radford et al. 2018, sec. 3.1: h0 = U We + Wp, h_l = block(h_{l-1}); 2019, sec. 2.3: layer norm moved to
each sub-block's input and one after the last block; masked multi-head self-attention of Vaswani et al. 2017;
GELU of Hendrycks & Gimpel 2016 in its tanh form), reading the weights from the exported model.safetensors files
(plain struct/json, no torch) and HF's sequence-classification pooling (the last token before the first pad).
Compares its logits with those `tal eval --logits-out` wrote for the same tokens. Where those tokens are the whole
test split (--probe-images at least its size), it also recomputes what tal eval reported: a language model's
perplexity (exp of the mean -log softmax of each next token) from its own logits; a classifier's accuracy and
Matthews correlation (from the 2x2 counts for two classes, the correlation of one-hot labels for more) from tal's
logits, which tal eval counted in the same batches (a near tie decided differently by float64 would otherwise
move a count). Shares no code with tal. Exit 1 when any model's logits differ by more than 1e-4 of their scale,
the perplexity by more than 1e-5 of itself, or a count-based metric at all (beyond 1e-9).
"""
import math
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_check import read  # noqa: E402  (the plain-Python safetensors reader)

PAD = 50256


def layer_norm(x, g, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def attention(x, w_qkv, b_qkv, w_o, b_o, heads):
    t, c = x.shape
    q, k, v = np.split(x @ w_qkv + b_qkv, 3, axis=-1)
    dh = c // heads
    q, k, v = (m.reshape(t, heads, dh).transpose(1, 0, 2) for m in (q, k, v))
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(dh)
    scores = np.where(np.tril(np.ones((t, t), bool)), scores, -np.inf)
    p = np.exp(scores - scores.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return (p @ v).transpose(1, 0, 2).reshape(t, c) @ w_o + b_o


def gpt2(w, tokens, depth, heads):
    h = w["transformer.wte.weight"][tokens] + w["transformer.wpe.weight"][: len(tokens)]
    for l in range(depth):
        p = "transformer.h.%d." % l
        a = layer_norm(h, w[p + "ln_1.weight"], w[p + "ln_1.bias"])
        h = h + attention(a, w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"], w[p + "attn.c_proj.weight"],
                          w[p + "attn.c_proj.bias"], heads)
        m = layer_norm(h, w[p + "ln_2.weight"], w[p + "ln_2.bias"])
        h = h + gelu(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]) @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    h = layer_norm(h, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"])
    if "score.weight" in w:
        pads = np.flatnonzero(tokens == PAD)
        last = (pads[0] - 1) % len(tokens) if len(pads) else len(tokens) - 1
        return h[last] @ w["score.weight"].T
    return h @ w["lm_head.weight"].T


def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def mcc(labels, predicted, k):
    if k == 2:  # Matthews (1975): tp tn - fp fn over the root of the four margins
        tp = float(np.sum((predicted == 1) & (labels == 1))); tn = float(np.sum((predicted == 0) & (labels == 0)))
        fp = float(np.sum((predicted == 1) & (labels == 0))); fn = float(np.sum((predicted == 0) & (labels == 1)))
        d = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        return float(tp * tn - fp * fn) / d if d > 0 else 0.0
    t, p = np.eye(k)[labels], np.eye(k)[predicted]  # the correlation of the one-hot labels
    t, p = t - t.mean(0), p - p.mean(0)
    d = math.sqrt(float((t * t).sum() * (p * p).sum()))
    return float((t * p).sum()) / d if d > 0 else 0.0


def metrics(g, got, want, tokens):
    """What tal eval reported for the whole test split, recomputed: [(name, tal, here, tolerance)]."""
    if "test_examples" not in g.attrs or len(tokens) != int(g.attrs["test_examples"]):
        return []
    if got.ndim == 3:  # a language model: position t predicts token t + 1
        nll = -np.take_along_axis(log_softmax(got[:, :-1]), tokens[:, 1:, None], -1)
        accuracy = float((want[:, :-1].argmax(-1) == tokens[:, 1:]).mean())
        return [("perplexity", float(g.attrs["test_perplexity"]), math.exp(float(nll.mean())), 1e-5),
                ("next-token accuracy", float(g.attrs["test_accuracy"]), accuracy, 1e-9)]
    labels = g["labels"][()]
    predicted = want.argmax(-1)
    out = [("accuracy", float(g.attrs["test_accuracy"]), float((predicted == labels).mean()), 1e-9)]
    if "test_mcc" in g.attrs:
        out.append(("MCC", float(g.attrs["test_mcc"]), mcc(labels, predicted, want.shape[-1]), 1e-9))
    return out


def main(export_dir, logits_path):
    files = {}
    for root, _, names in os.walk(export_dir):
        if "model.safetensors" in names:
            files[os.path.basename(root)] = os.path.join(root, "model.safetensors")
    failures = checked = 0
    with h5py.File(logits_path, "r") as f:
        for arch_id in f:
            g = f[arch_id]
            spec = dict(kv.split("=") for kv in g.attrs["spec"].partition(":")[2].split(","))
            tensors, _ = read(files[arch_id])
            w = {k: v.astype(np.float64) for k, v in tensors.items()}
            tokens, want = g["tokens"][()], g["logits"][()].astype(np.float64)
            got = np.stack([gpt2(w, row, int(spec["depth"]), int(spec["heads"])) for row in tokens])
            err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-12)
            ok = err <= 1e-4
            failures += not ok
            checked += 1
            print("%s: %d sequences, NumPy vs tal logits: max relative difference %.2e %s" %
                  (arch_id, len(tokens), err, "ok" if ok else "FAIL"))
            for name, reported, recomputed, tolerance in metrics(g, got, want, tokens):
                close = abs(reported - recomputed) <= tolerance * max(1.0, abs(recomputed))
                failures += not close
                print("%s: test %s: tal eval %.6f, NumPy %.6f %s" %
                      (arch_id, name, reported, recomputed, "ok" if close else "FAIL"))
    if checked == 0:
        print("no models in", logits_path)
        failures += 1
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(*sys.argv[1:])
