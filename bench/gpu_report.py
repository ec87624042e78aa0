#!/usr/bin/env python3
"""The table of bench/gpu.sh's results (markdown on stdout), for docs/benchmarks.md.

python3 bench/gpu_report.py OUT_DIR
"""

import json
import sys
from pathlib import Path


def load(out: Path, name: str):
    path = out / name
    return json.loads(path.read_text()) if path.exists() else None


def main() -> None:
    out = Path(sys.argv[1])
    gpu = (out / "gpu.txt").read_text().strip() if (out / "gpu.txt").exists() else "unknown GPU"
    cpu = (out / "cpu.txt").read_text().strip() if (out / "cpu.txt").exists() else "unknown CPU"
    lines = [f"GPU: {gpu}; CPU: {cpu}. All rows from one run of bench/gpu.sh.", ""]
    q = load(out, "embed-quire.json")
    t16, t32 = load(out, "embed-torch-float16.json"), load(out, "embed-torch-float32.json")
    if q:
        base = t16["chunks_per_s"] if t16 else None
        ratio = lambda v: f"{v / base:.2f}x" if base else "n/a"
        lines += [
            f"Embedding, all-MiniLM-L6-v2 shape (random weights), {q['chunks']} chunks of ~256 tokens "
            f"({q['distinct_chunks']} distinct), chunks/s:",
            "",
            "| encoder | chunks/s | vs PyTorch fp16 |",
            "|---|---|---|",
            f"| Quire ({q['backend']}) | {q['gpu_fused_chunks_per_s']:,.0f} | {ratio(q['gpu_fused_chunks_per_s'])} |",
            f"| same model on candle's CUDA ops | {q['gpu_candle_chunks_per_s']:,.0f} | {ratio(q['gpu_candle_chunks_per_s'])} |",
        ]
        for t in (t16, t32):
            if t:
                lines.append(f"| PyTorch {t['torch']} {t['dtype']}, batch {t['batch']}, {t['attention']} attention | {t['chunks_per_s']:,.0f} | {ratio(t['chunks_per_s'])} |")
        lines += [
            f"| Quire f32 on the CPU ({q['cpu_threads']} threads, {q['cpu_sample']} chunks) | {q['cpu_chunks_per_s']:,.1f} | {ratio(q['cpu_chunks_per_s'])} |",
            "",
            f"GPU vs CPU vectors on those {q['cpu_sample']} chunks: lowest cosine {q['min_cosine_gpu_cpu']:.6f}, "
            f"mean {q['mean_cosine_gpu_cpu']:.6f}.",
            "",
        ]
    ingest = {d: load(out, f"ingest-{d}.json") for d in ("all-cuda", "sample-cuda", "sample-cpu")}
    if any(ingest.values()):
        lines += ["Ingestion (`Library::add` into a fresh library; `all`: every PDF that travelled, "
                  "`sample`: the same few PDFs on the GPU and on the CPU):", "",
                  "| PDFs | device | files | failed | pages | chunks | seconds | extract | embed |", "|---|---|---|---|---|---|---|---|---|"]
        for d, r in ingest.items():
            if r:
                s = r["stages"]
                lines.append(f"| {d.split('-')[0]} | {r['embedding_device'] or d} | {r['files']} | {r['failed']} | {r['pages']:,} | {r['chunks']:,} | "
                             f"{r['seconds']:.1f} | {s['extract']:.1f} | {s['embed']:.1f} |")
        lines.append("")
    gen = {w: load(out, f"generate-{w}.json") for w in ("gpu", "cpu")}
    if any(gen.values()):
        lines += ["Generation, gemma-3-270m Q4_K_M shape (random weights):", "",
                  "| layers on | prompt tokens | first token (s) | prompt tokens/s | generated tokens/s |", "|---|---|---|---|---|"]
        for w, r in gen.items():
            if r:
                lines.append(f"| {r['device']} | {r['prompt_tokens']:.0f} | {r['time_to_first_token_s']:.3f} | "
                             f"{r['prompt_tokens_per_s']:,.0f} | {r['tokens_per_s']:,.1f} |")
        lines.append("")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
