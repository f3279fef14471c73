#!/usr/bin/python3
"""Writes a torchvision VisionTransformer's state dict as safetensors (the layout `tal export` writes), for the
`tal ancestry import` test: a ViT of depth 2, width 32, 2 heads, MLP 64, patch 4 on 28x28 single-channel images with
6 classes, initialised by Debian's torchvision from a fixed seed (the 3-channel patch embedding swapped for a
1-channel one, as a user with grey images does). Options damage the file the way the import must refuse.
Usage: torchvision_vit_safetensors.py OUT.safetensors [--rename OLD NEW] [--drop NAME] [--reshape NAME]"""
import json
import struct
import sys

import torch
import torchvision

out = sys.argv[1]
torch.manual_seed(7)
model = torchvision.models.VisionTransformer(image_size=28, patch_size=4, num_layers=2, num_heads=2, hidden_dim=32,
                                             mlp_dim=64, num_classes=6)
model.conv_proj = torch.nn.Conv2d(1, 32, kernel_size=4, stride=4)
with torch.no_grad():
    for p in model.parameters():  # a model that is not at its (zero-head) initialisation
        p.add_(0.02 * torch.randn_like(p))
model.eval()
state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
args = sys.argv[2:]
while args:
    if args[0] == "--rename":
        state[args[2]] = state.pop(args[1])
        args = args[3:]
    elif args[0] == "--drop":
        del state[args[1]]
        args = args[2:]
    elif args[0] == "--reshape":
        state[args[1]] = state[args[1]].flatten()
        args = args[2:]
    else:
        sys.exit("unknown argument " + args[0])
header, blobs, offset = {}, [], 0
for name, t in state.items():
    data = t.numpy().astype("<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for b in blobs:
        f.write(b)
