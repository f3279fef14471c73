#!/usr/bin/python3
"""archive_check.py ARCHIVE.h5 TASK LOGITS.h5: loads each archived ViT into torchvision's VisionTransformer (a dict
comprehension over the archive group, class_token zeros) and checks its logits on the stored images against the
C++ forward that `tal eval --logits-out` wrote. Exit 1 on any mismatch."""
import sys

import h5py
import torch
import torch.nn as nn
from torchvision.models.vision_transformer import VisionTransformer


def spec_of(text):
    family, _, rest = text.partition(":")
    assert family == "vit", text
    return {k: int(v) for k, v in (kv.split("=") for kv in rest.split(","))}


def main(archive, task, logits_path):
    worst = 0.0
    with h5py.File(archive, "r") as arc, h5py.File(logits_path, "r") as ref:
        for arch_id in ref:
            s = spec_of(arc[task][arch_id].attrs["spec"])
            model = VisionTransformer(image_size=s["image"], patch_size=s["patch"], num_layers=s["depth"],
                                      num_heads=s["heads"], hidden_dim=s["width"], mlp_dim=s["mlp"],
                                      num_classes=s["classes"])
            if s["channels"] != 3:
                model.conv_proj = nn.Conv2d(s["channels"], s["width"], s["patch"], s["patch"])
            state = {k: torch.from_numpy(v[()]) for k, v in arc[task][arch_id].items()}
            state["class_token"] = torch.zeros(1, 1, s["width"])
            model.load_state_dict(state, strict=True)
            model.eval()
            with torch.no_grad():
                logits = model(torch.from_numpy(ref[arch_id]["images"][()]))
            expected = torch.from_numpy(ref[arch_id]["logits"][()])
            diff = float((logits - expected).abs().max() / expected.abs().max().clamp_min(1e-12))
            print("%s: torchvision vs C++ logits, max relative difference %.2e" % (arch_id, diff))
            worst = max(worst, diff)
    sys.exit(0 if worst <= 1e-5 else 1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
