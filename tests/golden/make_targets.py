#!/usr/bin/python3
"""Writes tests/golden/targets.h5: torchvision ViTs and a plain-PyTorch GPT-2 in HF's GPT2LMHeadModel layout, with
weights, inputs, logits and the gradients of a fixed probe loss, so the C++ functional forwards can be checked.

Run with Debian's interpreter (python3-torch, python3-torchvision, python3-h5py):
    /usr/bin/python3 tests/golden/make_targets.py tests/golden/targets.h5
"""
import math
import sys

import h5py
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.vision_transformer import VisionTransformer

VITS = [
    # spec keys as in DESIGN.md 4.1; channels=1 replaces conv_proj (torchvision hard-wires 3)
    dict(depth=2, width=64, heads=2, mlp=128, patch=4, image=28, channels=1, classes=10),
    dict(depth=1, width=48, heads=3, mlp=96, patch=8, image=32, channels=3, classes=7),
    dict(depth=3, width=32, heads=4, mlp=80, patch=4, image=16, channels=3, classes=5),
]
GPTS = [
    dict(depth=2, width=32, heads=4, mlp=128, vocab=101, context=16),
    dict(depth=1, width=48, heads=3, mlp=96, vocab=57, context=12),
]


def spec_str(family, s):
    return family + ":" + ",".join(f"{k}={v}" for k, v in s.items())


class Block(nn.Module):
    """One HF GPT2Block (Conv1D weights stored [in, out], gelu_new, eps 1e-5)."""

    def __init__(self, c, heads, mlp):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(c, eps=1e-5)
        self.attn = nn.Module()
        self.attn.c_attn = Conv1D(c, 3 * c)
        self.attn.c_proj = Conv1D(c, c)
        self.ln_2 = nn.LayerNorm(c, eps=1e-5)
        self.mlp = nn.Module()
        self.mlp.c_fc = Conv1D(c, mlp)
        self.mlp.c_proj = Conv1D(mlp, c)

    def forward(self, x):
        b, t, c = x.shape
        hd = c // self.heads
        q, k, v = self.attn.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, hd).transpose(1, 2) for z in (q, k, v))
        w = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        w = w.masked_fill(~causal, float("-inf")).softmax(-1)
        y = (w @ v).transpose(1, 2).reshape(b, t, c)
        x = x + self.attn.c_proj(y)
        return x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh"))


class Conv1D(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_in, n_out) * 0.02)
        self.bias = nn.Parameter(torch.randn(n_out) * 0.02)

    def forward(self, x):
        return x @ self.weight + self.bias


class GPT2(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.transformer = nn.Module()
        self.transformer.wte = nn.Embedding(s["vocab"], s["width"])
        self.transformer.wpe = nn.Embedding(s["context"], s["width"])
        self.transformer.h = nn.ModuleList(Block(s["width"], s["heads"], s["mlp"]) for _ in range(s["depth"]))
        self.transformer.ln_f = nn.LayerNorm(s["width"], eps=1e-5)
        self.lm_head = nn.Linear(s["width"], s["vocab"], bias=False)

    def hidden(self, ids):
        x = self.transformer.wte(ids) + self.transformer.wpe(torch.arange(ids.shape[1]))
        for block in self.transformer.h:
            x = block(x)
        return self.transformer.ln_f(x)

    def forward(self, ids):
        return self.lm_head(self.hidden(ids))

    def features(self, ids):
        """The mean final hidden state over the sequence: what a GPT-2 task embedding averages."""
        return self.hidden(ids).mean(1)


def vit_features(model, x):
    """torchvision's encoder output at the class token (after the final LayerNorm): the ViT's feature."""
    tokens = model._process_input(x)
    tokens = torch.cat([model.class_token.expand(x.shape[0], -1, -1), tokens], dim=1)
    return model.encoder(tokens)[:, 0]


def randomize(model):
    # Non-trivial values everywhere (torchvision zero-initialises the head and class token).
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.05 * torch.randn_like(p))


def dump(f, group, spec, model, x, is_tokens, features):
    g = f.create_group(group)
    g.attrs["spec"] = spec
    if not is_tokens:
        x = x.clone().requires_grad_(True)
    logits = model(x)
    probe = torch.randn_like(logits)
    (logits * probe).sum().backward()
    for name, p in model.state_dict().items():
        g.create_dataset("weights/" + name, data=p.numpy())
    for name, p in model.named_parameters():
        g.create_dataset("grads/" + name, data=p.grad.numpy())
    g.create_dataset("input", data=x.detach().numpy())
    g.create_dataset("logits", data=logits.detach().numpy())
    g.create_dataset("probe", data=probe.numpy())
    if not is_tokens:
        g.create_dataset("input_grad", data=x.grad.numpy())
    with torch.no_grad():
        g.create_dataset("features", data=features(x.detach()).numpy())


def main(out):
    torch.manual_seed(2024)
    with h5py.File(out, "w") as f:
        f.attrs["torch"] = str(torch.__version__)
        f.attrs["made_by"] = "tests/golden/make_targets.py"
        for i, s in enumerate(VITS):
            model = VisionTransformer(image_size=s["image"], patch_size=s["patch"], num_layers=s["depth"],
                                      num_heads=s["heads"], hidden_dim=s["width"], mlp_dim=s["mlp"],
                                      num_classes=s["classes"])
            if s["channels"] != 3:
                model.conv_proj = nn.Conv2d(s["channels"], s["width"], s["patch"], s["patch"])
            randomize(model)
            model.eval()
            x = torch.randn(3, s["channels"], s["image"], s["image"])
            dump(f, f"vit/{i}", spec_str("vit", s), model, x, False, lambda t, m=model: vit_features(m, t))
        for i, s in enumerate(GPTS):
            model = GPT2(s)
            randomize(model)
            ids = torch.randint(0, s["vocab"], (2, s["context"] - 2))
            dump(f, f"gpt2/{i}", spec_str("gpt2", s), model, ids, True, model.features)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/golden/targets.h5")
