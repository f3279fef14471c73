#!/usr/bin/python3
"""A CoLA-like acceptability task from Debian's fortunes, written in CoLA's own TSV layout.

GLUE's CoLA (in_domain_train.tsv, in_domain_dev.tsv: no header; source, label, the author's '*' mark, sentence) is
not installable here, so this makes a task of the same kind and imbalance (a third of its size) from text a fresh machine
has: one-line fortunes of 6-16 words are the acceptable sentences (label 1); about 30% of them are made
unacceptable (label 0) by one local edit: two adjacent words swapped, a word dropped, a word doubled, or a word
moved. Each sentence appears once, edited or not, so no pair gives the answer away. Deterministic (seed 0).

Usage: launch/acceptability_tsv.py [FORTUNES_DIR] OUT_DIR   (writes OUT_DIR/in_domain_{train,dev}.tsv)
Import:  tal data import table OUT_DIR/in_domain_train.tsv --test OUT_DIR/in_domain_dev.tsv \\
             --text-column 3 --label-column 1 --header=false --out data/acceptability.h5
"""
import os
import random
import re
import sys


def sentences(root):
    out, seen = [], set()
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if "." in name or not os.path.isfile(path):
            continue
        text = open(path, encoding="utf-8", errors="replace").read()
        for item in text.split("\n%\n"):
            s = item.strip()
            words = s.split()
            if "\n" in s or not 6 <= len(words) <= 16 or not re.fullmatch(r"[A-Za-z0-9 ,.;:'!?-]+[.!?]", s):
                continue
            if s not in seen:
                seen.add(s)
                out.append((name, s))
    return out


def corrupt(words, rng):
    w = list(words)
    kind = rng.randrange(4)
    if kind == 0:  # two adjacent words swapped
        i = rng.randrange(len(w) - 1)
        w[i], w[i + 1] = w[i + 1], w[i]
    elif kind == 1:  # a word dropped
        del w[rng.randrange(1, len(w))]
    elif kind == 2:  # a word doubled
        i = rng.randrange(len(w))
        w.insert(i, w[i])
    else:  # a word moved at least two places
        i = rng.randrange(len(w))
        word = w.pop(i)
        j = rng.choice([k for k in range(len(w) + 1) if abs(k - i) >= 2] or [0])
        w.insert(j, word)
    return w


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit(__doc__.strip().splitlines()[-3])
    root = argv[1] if len(argv) == 3 else "/usr/share/games/fortunes"
    out = argv[-1]
    if not os.path.isdir(root):
        sys.exit(f"acceptability_tsv: {root}: no fortunes here (apt-get install fortunes)")
    rng = random.Random(0)
    items = sentences(root)
    rng.shuffle(items)
    rows = []
    for source, s in items:
        words = s.split()
        if rng.random() < 0.3:
            edited = corrupt(words, rng)
            if edited != words:
                rows.append((f"fort-{source}", 0, "*", " ".join(edited)))
                continue
        rows.append((f"fort-{source}", 1, "", " ".join(words)))
    dev = max(1, len(rows) * 15 // 100)
    os.makedirs(out, exist_ok=True)
    for name, part in (("in_domain_dev.tsv", rows[:dev]), ("in_domain_train.tsv", rows[dev:])):
        tmp = os.path.join(out, name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for r in part:
                f.write("\t".join(str(x) for x in r) + "\n")
        os.replace(tmp, os.path.join(out, name))
    ones = sum(r[1] for r in rows)
    print(f"acceptability_tsv: {len(rows) - dev} train and {dev} dev sentences, {100 * ones / len(rows):.1f}% "
          f"acceptable, in {out}")


if __name__ == "__main__":
    main(sys.argv)
