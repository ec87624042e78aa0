#!/usr/bin/env python3
"""A GGUF of the same shape as a real one, with random weights, for timing generation where the
real file cannot travel (bench/gpu.sh: the GPU machine gets at most ~60 MB, the default answer
model is 253 MB). Same metadata, tokenizer, tensor names, shapes and quantisation types, so
llama.cpp does exactly the same work per token; only the numbers (and so the words) differ.

  python3 bench/gguf_random.py skeleton REAL.gguf SKELETON      header only (a few MB)
  python3 bench/gguf_random.py expand SKELETON OUT.gguf [SEED]  header + random tensor data

Quantised blocks get random quants with small, finite scales, so every weight is a sane number.
Standard library only (the GPU machine may have nothing else).
"""

import random
import struct
import sys

# ggml type -> (elements per block, bytes per block, byte offsets of f16 scales in a block)
TYPES = {
    0: (1, 4, []),  # F32
    1: (1, 2, []),  # F16
    2: (32, 18, [0]),  # Q4_0
    3: (32, 20, [0, 2]),  # Q4_1
    6: (32, 22, [0]),  # Q5_0
    7: (32, 24, [0, 2]),  # Q5_1
    8: (32, 34, [0]),  # Q8_0
    10: (256, 84, [80, 82]),  # Q2_K
    11: (256, 110, [108]),  # Q3_K
    12: (256, 144, [0, 2]),  # Q4_K
    13: (256, 176, [0, 2]),  # Q5_K
    14: (256, 210, [208]),  # Q6_K
    30: (1, 2, []),  # BF16
}
SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


class Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values[0] if len(values) == 1 else values

    def string(self) -> str:
        n = self.take("Q")
        s = self.data[self.pos : self.pos + n].decode("utf-8", "replace")
        self.pos += n
        return s

    def value(self, kind: int):
        if kind == 8:
            return self.string()
        if kind == 9:
            item, count = self.take("I"), self.take("Q")
            if item in SCALAR_SIZES:  # skip arrays of numbers in one step
                self.pos += SCALAR_SIZES[item] * count
                return None
            return [self.value(item) for _ in range(count)]
        fmt = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}[kind]
        return self.take(fmt)


def parse(data: bytes):
    """The header's end, the data alignment and the tensors (name, dims, type, offset)."""
    r = Reader(data)
    if r.take("4s") != b"GGUF":
        sys.exit("not a GGUF file")
    version = r.take("I")
    if version < 2:
        sys.exit(f"GGUF version {version} is not supported")
    tensors, kvs = r.take("Q"), r.take("Q")
    alignment = 32
    for _ in range(kvs):
        key, kind = r.string(), r.take("I")
        value = r.value(kind)
        if key == "general.alignment":
            alignment = value
    infos = []
    for _ in range(tensors):
        name = r.string()
        dims = [r.take("Q") for _ in range(r.take("I"))]
        infos.append((name, dims, r.take("I"), r.take("Q")))
    return r.pos, alignment, infos


def tensor_bytes(dims, kind) -> int:
    if kind not in TYPES:
        sys.exit(f"ggml type {kind} is not handled here")
    per_block, block_bytes, _ = TYPES[kind]
    count = 1
    for d in dims:
        count *= d
    return count // per_block * block_bytes


def random_tensor(dims, kind, rng: random.Random) -> bytes:
    per_block, block_bytes, scales = TYPES[kind]
    size = tensor_bytes(dims, kind)
    if kind in (0, 1, 30):
        # Random bits with the exponent pinned near 2^-7: weights of about +-0.01.
        data = bytearray(rng.randbytes(size))
        width = 4 if kind == 0 else 2
        hi = 0x20 if kind == 1 else 0x3C
        table = bytes((b & 0x80) | hi | (b & 0x03 if kind == 1 else 0) for b in range(256))
        data[width - 1 :: width] = data[width - 1 :: width].translate(table)
        return bytes(data)
    data = bytearray(rng.randbytes(size))
    scale = struct.pack("<e", 0.002)
    for block in range(0, size, block_bytes):
        for off in scales:
            data[block + off : block + off + 2] = scale
    return bytes(data)


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[1] not in ("skeleton", "expand"):
        sys.exit(__doc__)
    source, target = sys.argv[2], sys.argv[3]
    with open(source, "rb") as f:
        data = f.read(64 << 20) if sys.argv[1] == "skeleton" else f.read()
    end, alignment, infos = parse(data)
    if sys.argv[1] == "skeleton":
        with open(target, "wb") as f:
            f.write(data[:end])
        print(f"{len(infos)} tensors, header {end} bytes -> {target}")
        return
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    with open(target, "wb") as f:
        f.write(data[:end])
        start = -(-end // alignment) * alignment
        f.write(b"\0" * (start - end))
        written = 0
        for name, dims, kind, offset in sorted(infos, key=lambda t: t[3]):
            if offset < written:
                sys.exit(f"tensor {name} overlaps the previous one")
            f.write(b"\0" * (offset - written))
            blob = random_tensor(dims, kind, rng)
            f.write(blob)
            written = offset + len(blob)
    print(f"{len(infos)} tensors, {start + written} bytes -> {target}")


if __name__ == "__main__":
    main()
