#!/usr/bin/python3
"""safetensors_check.py ARCHIVE.h5 EXPORT_DIR: reads every model.safetensors under EXPORT_DIR with plain Python
(struct for the header length, json for the header, numpy for the data; no safetensors or torch loader) and checks
that each holds exactly the tensors of its archive group, bit for bit, with the spec in its metadata. Where a
config.json is beside it, checks it names the sizes of the spec; where `transformers` is importable (it is not in
Debian), also loads the export with from_pretrained. Exit 1 on any mismatch."""
import json
import os
import struct
import sys

import h5py
import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32,
          "I8": np.int8, "U8": np.uint8}


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=DTYPES[e["dtype"]]).reshape(e["shape"])
    return tensors, meta


def main(archive, export_dir):
    failures, models = 0, 0
    with h5py.File(archive, "r") as arc:
        for task in arc:
            for arch_id in arc[task]:
                group = arc[task][arch_id]
                path = os.path.join(export_dir, task, arch_id, "model.safetensors")
                tensors, meta = read(path)
                models += 1
                names = set(group.keys())
                if set(tensors) != names:
                    print("%s: tensors %s differ from the archive's" % (path, sorted(set(tensors) ^ names)))
                    failures += 1
                for name in names & set(tensors):
                    if not np.array_equal(tensors[name], group[name][()]):
                        print("%s: %s differs from the archive" % (path, name))
                        failures += 1
                if meta.get("tal.spec") != group.attrs["spec"] or meta.get("format") != "pt":
                    print("%s: metadata %s" % (path, meta))
                    failures += 1
                config = os.path.join(os.path.dirname(path), "config.json")
                if os.path.exists(config):
                    cfg = json.load(open(config))
                    spec = dict(kv.split("=") for kv in group.attrs["spec"].partition(":")[2].split(","))
                    if (cfg["n_layer"], cfg["n_embd"], cfg["n_head"]) != (int(spec["depth"]), int(spec["width"]),
                                                                          int(spec["heads"])):
                        print("%s: %s does not match the spec" % (config, cfg))
                        failures += 1
                    try:
                        import transformers  # noqa: F401
                    except ImportError:
                        pass
                    else:
                        model = getattr(transformers, cfg["architectures"][0]).from_pretrained(os.path.dirname(path))
                        print("%s: from_pretrained loaded %d parameters" % (path, model.num_parameters()))
                print("%s: %d tensors match the archive" % (path, len(tensors)))
    if models == 0:
        print("no models in", archive)
        failures += 1
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(*sys.argv[1:])
