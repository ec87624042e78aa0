"""Turns the JSON results of bench/run.sh into docs/benchmarks.md and PNG plots.

python bench/report.py RESULTS_DIR DOCS_DIR
Only sections with results are reported; every figure comes from the files in RESULTS_DIR.
"""

import json
import os
import sys
from datetime import date, datetime, timezone

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(results: str, name: str):
    path = os.path.join(results, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def fmt(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "–"


def save(fig, plots: str, name: str) -> None:
    fig.tight_layout()
    fig.savefig(os.path.join(plots, name), dpi=120)
    plt.close(fig)


def status(ok: bool) -> str:
    return "met" if ok else "not yet"


def team_section(results: str) -> list:
    """The team library against the embedded one on the same PDFs, and under load."""
    up = load(results, "team-ingestion-postgres.json")
    emb = load(results, "team-ingestion-embedded.json")
    rp = load(results, "team-retrieval-postgres.json")
    re_ = load(results, "team-retrieval-embedded.json")
    ld = load(results, "team-load.json")
    if not (up and emb and rp and re_):
        return ["Not measured yet."]
    when = datetime.fromtimestamp(os.path.getmtime(os.path.join(results, "team-load.json"
                                  if ld else "team-retrieval-postgres.json")), timezone.utc)
    lines = [f"Measured {when.strftime('%Y-%m-%d %H:%M UTC')}, both libraries in the same run, "
             "int8 encoder. PostgreSQL 18.3 with pgvector 0.8.2 on loopback (scripts/postgres.sh); "
             "two `quire serve` processes share its ingestion queue; uploads through the HTTP API.\n",
             "| measure | embedded (SQLite + usearch) | PostgreSQL (two servers) |",
             "|---|---|---|",
             f"| documents / chunks | {re_['documents_in_library']} / {re_['chunks_in_library']:,} | "
             f"{rp['documents_in_library']} / {rp['chunks_in_library']:,} |",
             f"| seconds until every document is searchable by words | {fmt(emb['searchable_seconds'], 0)} | "
             f"{fmt(up['seconds_to_searchable'], 0)} |",
             f"| seconds until every document is searchable by meaning | {fmt(emb['seconds'], 0)} | "
             f"{fmt(up['seconds_to_embedded'], 0)} |"]
    for e, p in zip(re_["modes"], rp["modes"]):
        lines.append(f"| {e['mode']}: search p50 / p95 (full query, one client) | "
                     f"{fmt(e['latency_ms_p50'])} / {fmt(e['latency_ms_p95'])} ms | "
                     f"{fmt(p['latency_ms_p50'])} / {fmt(p['latency_ms_p95'])} ms |")
    for e, p in zip(re_["modes"], rp["modes"]):
        lines.append(f"| {e['mode']}: hit@5 / MRR@10 | {e['hit_at_5']:.3f} / {e['mrr_at_10']:.3f} | "
                     f"{p['hit_at_5']:.3f} / {p['mrr_at_10']:.3f} |")
    if up.get("jobs_by_server"):
        shares = ", ".join(str(n) for n in up["jobs_by_server"].values())
        lines.append(f"| uploads ingested by each server | | {shares} |")
    if ld:
        lines += ["", f"Load for {ld['seconds']} s against {ld['servers']} servers on one database "
                  f"(bench/team_load.py), {fmt(ld['requests_per_second'])} requests/s in all:\n",
                  "| requests | clients | done | errors | p50 | p95 | max |", "|---|---|---|---|---|---|---|"]
        for kind, label in (("search", "search"), ("ask", "ask (answer streamed to its end)")):
            k = ld[kind]
            lat = [k[f"latency_ms_{p}"] for p in ("p50", "p95", "max")]
            lines.append(f"| {label} | {k['clients']} | {k['requests'] - k['errors']} | {k['errors']} | "
                         + " | ".join(f"{fmt(v)} ms" if v is not None else "" for v in lat) + " |")
            for example in k.get("error_examples", []):
                lines.append(f"\n- {kind} error: {example}")
    return lines



def embedding_rows(rows, bars, model, em_q, em_p, em_v):
    """The embedding rows of one model: Quire f32 and int8 against sentence-transformers (f32,
    and PyTorch's dynamic int8), and int8 without AMX tiles where the CPU has them (em_v)."""
    if not (em_q and em_p):
        return
    q, p = em_q["quire_chunks_per_s"], em_p["chunks_per_s"]
    rows.append(("Embedding", f"{model}chunks/s ({em_q['mean_tokens']} tokens avg, {em_q['threads']} threads)",
                 fmt(q), f"sentence-transformers (PyTorch {em_p['torch']})", fmt(p), ratio(q, p),
                 "≥ 1.0×", status(q >= p)))
    rows.append(("Embedding", f"{model}candle's stock BertModel, same chunks", fmt(em_q["candle_bert_chunks_per_s"]),
                 "", "", "", "", ""))
    if not model:
        bars.append(("embedding\nchunks/s", q, p))
    if "quire_int8_chunks_per_s" in em_q and "int8_chunks_per_s" in em_p:
        # The int8 path: against Quire's f32 (the goal), and against PyTorch's own dynamic
        # int8 quantisation of the same model, each with its vectors' cosine to its f32 ones.
        q8, p8 = em_q["quire_int8_chunks_per_s"], em_p["int8_chunks_per_s"]
        rows.append(("Embedding", f"{model}int8 chunks/s ({em_q['int8_backend']}) against Quire's f32 above",
                     fmt(q8), "Quire f32", fmt(q), ratio(q8, q), "≥ 2.0× Quire f32", status(q8 >= 2 * q)))
        if em_v and "AMX" not in em_v.get("int8_backend", "AMX"):
            v8 = em_v["quire_int8_chunks_per_s"]
            rows.append(("Embedding", f"{model}int8 chunks/s without the AMX tiles ({em_v['int8_backend']}, "
                         "QUIRE_NO_AMX=1, same chunks)", fmt(v8), "Quire f32", fmt(q), ratio(v8, q), "", ""))
        rows.append(("Embedding", f"{model}int8 vectors: lowest / mean cosine to f32's",
                     f"{em_q['int8_min_cosine']:.4f} / {em_q['int8_mean_cosine']:.4f}",
                     f"PyTorch int8 ({em_p['int8_quantized_engine']})",
                     f"{em_p['int8_min_cosine']:.4f} / {em_p['int8_mean_cosine']:.4f}", "",
                     "lowest ≥ 0.99", status(em_q["int8_min_cosine"] >= 0.99)))
        rows.append(("Embedding", f"{model}int8 chunks/s against PyTorch's dynamic int8 quantisation",
                     fmt(q8), f"sentence-transformers, quantize_dynamic ({em_p['int8_quantized_engine']})",
                     fmt(p8), ratio(q8, p8), "", ""))
        if not model:
            bars.append(("embedding int8\nchunks/s", q8, p8))


def main() -> None:
    results, docs = sys.argv[1], sys.argv[2]
    plots = os.path.join(docs, "bench")
    os.makedirs(plots, exist_ok=True)
    machine = open(os.path.join(results, "machine.txt")).read().strip() if os.path.exists(
        os.path.join(results, "machine.txt")) else "unknown machine"

    rows = []  # (stage, metric, quire, baseline name, baseline, ratio, goal, status)
    lines = []
    bars = []  # (label, quire, baseline) throughput pairs for the overview plot

    ex_q, ex_p = load(results, "extraction-quire.json"), load(results, "extraction-pdftotext.json")
    if ex_q and ex_p:
        q_rate, p_rate = ex_q["pages"] / ex_q["seconds"], ex_p["pages"] / ex_p["seconds"]
        rows.append(("Extraction", f"pages/s ({ex_q['threads']} workers)", fmt(q_rate), "pdftotext",
                     fmt(p_rate), ratio(q_rate, p_rate), "≥ 1.0× pdftotext",
                     status(q_rate >= p_rate)))
        rows.append(("Extraction", "files read / failed", f"{ex_q['read']} / {ex_q['failed']}",
                     "pdftotext", f"{ex_p['read']} / {ex_p['failed']}", "",
                     "no more failures than pdftotext", status(ex_q["failed"] <= ex_p["failed"])))
        bars.append(("extraction\npages/s", q_rate, p_rate))

    # One block of rows per embedding model: the default model, then the multilingual one.
    for suffix, model in [("", ""), ("-multilingual-e5-small", "multilingual-e5-small: ")]:
        embedding_rows(rows, bars, model, load(results, f"embedding-quire{suffix}.json"),
                       load(results, f"embedding-pytorch{suffix}.json"),
                       load(results, f"embedding-quire{suffix}-vnni.json"))

    ing, mem = load(results, "ingestion.json"), load(results, "ingestion-memory.json")
    if ing:
        secs = ing["seconds"]
        rows.append(("Ingestion", f"{ing['files']} PDFs ({ing['failed']} failed): pages/s",
                     fmt(ing["pages"] / secs), "", "", "", "", ""))
        rows.append(("Ingestion", f"chunks/s ({ing['chunks']:,} chunks in {fmt(secs, 0)} s)",
                     fmt(ing["chunks"] / secs), "", "", "", "", ""))
        if "searchable_seconds" in ing:
            # Two-phase indexing: every document is searchable by its words first, by meaning
            # once all vectors are made (the whole run).
            found = ing["searchable_seconds"]
            rows.append(("Ingestion", "seconds until every document is searchable by words",
                         fmt(found, 1), "", "", "", "< 60 s on 2 cores", status(found < 60)))
            rows.append(("Ingestion", "seconds until every document is searchable by meaning",
                         fmt(secs, 0), "", "", "", "", ""))
        if mem:
            rows.append(("Ingestion", "peak memory (process tree)", f"{fmt(mem['peak_mib'], 0)} MiB",
                         "", "", "", "", ""))
        # Extraction runs on its own thread, one file ahead: the stage times add up to more than
        # the wall time by the part of the extraction that was hidden behind the other stages.
        stages_sum = sum(ing["stages"].values())
        extract = ing["stages"].get("extract", 0.0)
        hidden = min(1.0, max(0.0, (stages_sum - secs) / extract)) if extract > 0 else 0.0
        if "searchable_seconds" not in ing:
            # Before two-phase indexing, extraction ran one file ahead of the embedding.
            rows.append(("Ingestion", f"extraction hidden behind embedding (of {fmt(extract, 0)} s extracting; "
                         f"stage time ÷ wall {ing['stage_sum_over_wall']:.2f})", f"{hidden:.0%}", "", "", "",
                         "extraction overlaps embedding", status(hidden >= 0.5)))
        if mem and "cores_busy" in mem:
            rows.append(("Ingestion", f"cores busy (CPU time ÷ wall time × {mem['cores']} cores)",
                         f"{mem['cores_busy']:.0%}", "", "", "", "cores kept busy (≥ 90 %)",
                         status(mem["cores_busy"] >= 0.9)))
        fig, ax = plt.subplots(figsize=(6, 3.2))
        stages = ing["stages"]
        left = 0.0
        for name, value in stages.items():
            ax.barh(["stages"], [value], left=left, label=f"{name} {value:.0f} s")
            left += value
        ax.barh(["wall"], [secs], color="grey", label=f"wall {secs:.0f} s")
        ax.set_xlabel("seconds")
        ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.3))
        ax.set_title("Ingestion of the texlive collection: time per stage")
        save(fig, plots, "ingestion-stages.png")

    ing8 = load(results, "ingestion-int8.json")
    if ing8:
        rows.append(("Ingestion", "int8: seconds until every document is searchable by words",
                     fmt(ing8["searchable_seconds"], 1), "", "", "", "< 60 s on 2 cores",
                     status(ing8["searchable_seconds"] < 60)))
        rows.append(("Ingestion", f"int8: seconds until every document is searchable by meaning "
                     f"({ing8['chunks']:,} chunks, {fmt(ing8['chunks'] / ing8['seconds'])} chunks/s)",
                     fmt(ing8["seconds"], 0), "f32 (above)", fmt(ing["seconds"], 0) if ing else "",
                     ratio(ing["seconds"], ing8["seconds"]) if ing else "", "", ""))
        mem8 = load(results, "ingestion-int8-memory.json")
        if mem8 and "cores_busy" in mem8:
            rows.append(("Ingestion", f"int8: cores busy (CPU time ÷ wall time × {mem8['cores']} cores)",
                         f"{mem8['cores_busy']:.0%}", "", "", "", "cores kept busy (≥ 90 %)",
                         status(mem8["cores_busy"] >= 0.9)))

    ret = load(results, "retrieval.json")
    for label, ret32, ret8 in [
            ("int8 library", ret, load(results, "retrieval-int8.json")),
            ("multilingual-e5-small, int8 library (section multilingual-full)",
             load(results, "retrieval-multilingual-e5-small-f32.json"),
             load(results, "retrieval-multilingual-e5-small-int8.json"))]:
        if not (ret32 and ret8):
            continue
        h32 = next(m for m in ret32["modes"] if m["mode"] == "hybrid")
        h8 = next(m for m in ret8["modes"] if m["mode"] == "hybrid")
        d32 = next(m for m in ret32["modes"] if m["mode"] == "dense")
        d8 = next(m for m in ret8["modes"] if m["mode"] == "dense")
        rows.append(("Retrieval", f"{label}: hit@5 hybrid (dense only)",
                     f"{h8['hit_at_5']:.3f} ({d8['hit_at_5']:.3f})", "f32 library",
                     f"{h32['hit_at_5']:.3f} ({d32['hit_at_5']:.3f})", "", "within 0.01 of f32",
                     status(abs(h8["hit_at_5"] - h32["hit_at_5"]) <= 0.01
                            and abs(d8["hit_at_5"] - d32["hit_at_5"]) <= 0.01)))
    if ret:
        hybrid = next(m for m in ret["modes"] if m["mode"] == "hybrid")
        rows.append(("Search", f"full query p50 / p95 ({ret['documents_in_library']} PDFs, {ret['chunks_in_library']:,} chunks)",
                     f"{fmt(hybrid['latency_ms_p50'])} / {fmt(hybrid['latency_ms_p95'])} ms", "", "", "",
                     "p50 < 50 ms", status(hybrid["latency_ms_p50"] < 50)))
        best_other = max(m["hit_at_5"] for m in ret["modes"] if m["mode"] != "hybrid")
        rows.append(("Retrieval", f"hit@5, hybrid ({ret['questions']} labelled questions)", f"{hybrid['hit_at_5']:.3f}",
                     "best of dense / BM25", f"{best_other:.3f}", ratio(hybrid["hit_at_5"], best_other),
                     "hybrid beats both", status(hybrid["hit_at_5"] > best_other)))
        lines.append("\n### Retrieval quality and latency per mode\n")
        lines.append(f"{ret['questions']} questions in `bench/retrieval/questions.json` (document + pages that "
                     "answer each; a hit is a passage of that document overlapping those pages).\n")
        lines.append("| mode | hit@1 | hit@5 | MRR@10 | latency p50 | latency p95 |")
        lines.append("|---|---|---|---|---|---|")
        for m in ret["modes"]:
            lines.append(f"| {m['mode']} | {m['hit_at_1']:.3f} | {m['hit_at_5']:.3f} | {m['mrr_at_10']:.3f} | "
                         f"{fmt(m['latency_ms_p50'])} ms | {fmt(m['latency_ms_p95'])} ms |")
        fig, ax = plt.subplots(figsize=(6, 3))
        names = [m["mode"] for m in ret["modes"]]
        width = 0.25
        for i, metric in enumerate(["hit_at_1", "hit_at_5", "mrr_at_10"]):
            ax.bar([x + i * width for x in range(len(names))], [m[metric] for m in ret["modes"]], width,
                   label=metric.replace("_at_", "@"))
        ax.set_xticks([x + width for x in range(len(names))], names)
        ax.set_ylim(0, 1)
        ax.legend(fontsize=8)
        ax.set_title("Retrieval quality")
        save(fig, plots, "retrieval.png")
        passages = ret.get("passages")
        if passages:
            lines.append("\n### Focused passages: prompt tokens against the evidence they keep\n")
            lines.append("For each question, the hybrid top 5 cut to a budget of answer-model tokens per "
                         "passage around the sentences with the question's words (`crates/engine/src/focus.rs`); "
                         "evidence kept: the share of the "
                         f"{passages['questions_with_evidence_in_top5']} questions whose labelled evidence is in the "
                         "whole top 5 that still have it. `quire ask` uses whole passages when this machine reads "
                         "them within ~1 s, else the largest budget that fits, never below "
                         f"{passages['min_passage_tokens']} tokens.\n")
            lines.append("| tokens per passage | source tokens in the prompt (mean) | evidence kept |")
            lines.append("|---|---|---|")
            for b in passages["budgets"]:
                name = "whole" if b["passage_tokens"] == 0 else str(b["passage_tokens"])
                lines.append(f"| {name} | {fmt(b['source_tokens_mean'], 0)} | {b['evidence_kept']:.3f} |")

    idx = load(results, "index.json")
    if idx:
        for r in idx["rows"]:
            if r["quire_setting"]:
                goal = r["vectors"] >= 1_000_000
                rows.append(("Vector index", f"{r['vectors']:,} vectors: p50 / p95, recall@10",
                             f"{r['p50_ms']:.2f} / {r['p95_ms']:.2f} ms, {r['recall_at_10']:.3f}",
                             "exact search (recall 1.0)", "", "",
                             "p50 < 5 ms, recall ≥ 0.95 at 1M" if goal else "",
                             status(r["p50_ms"] < 5 and r["recall_at_10"] >= 0.95) if goal else ""))
        lines.append("\n### Vector index (HNSW, Quire's settings; expansion_search varied)\n")
        lines.append(f"{idx['dimensions']}-d unit vectors clustered around 2,000 random centres "
                     f"(see `crates/engine/examples/index_bench.rs`), {idx['queries']} queries, "
                     f"built with {idx['threads']} threads; recall against exact search.\n")
        lines.append("| vectors | expansion | p50 | p95 | recall@10 | build | memory |")
        lines.append("|---|---|---|---|---|---|---|")
        for r in idx["rows"]:
            mark = " (Quire)" if r["quire_setting"] else ""
            lines.append(f"| {r['vectors']:,} | {r['expansion_search']}{mark} | {r['p50_ms']:.2f} ms | "
                         f"{r['p95_ms']:.2f} ms | {r['recall_at_10']:.3f} | {fmt(r['build_seconds'], 0)} s | "
                         f"{fmt(r['memory_mb'], 0)} MB |")
        fig, ax = plt.subplots(figsize=(6, 3.2))
        for size in sorted({r["vectors"] for r in idx["rows"]}):
            pts = [r for r in idx["rows"] if r["vectors"] == size]
            ax.plot([r["p50_ms"] for r in pts], [r["recall_at_10"] for r in pts], marker="o",
                    label=f"{size:,} vectors")
        ax.set_xlabel("p50 latency (ms)")
        ax.set_ylabel("recall@10")
        ax.axhline(0.95, color="grey", linestyle=":", linewidth=1)
        ax.axvline(5, color="grey", linestyle=":", linewidth=1)
        ax.legend(fontsize=8)
        ax.set_title("Vector index: latency vs recall (expansion 64…256)")
        save(fig, plots, "index.png")

    gen = load(results, "generation.json")
    if gen:
        rows.append(("Generation", f"tokens/s ({gen['threads']} threads)", fmt(gen["quire_tokens_per_s"]),
                     "llama-bench (same llama.cpp)", fmt(gen["llama_bench_tokens_per_s"]),
                     ratio(gen["quire_tokens_per_s"], gen["llama_bench_tokens_per_s"]), "≥ 0.95×",
                     status(gen["quire_tokens_per_s"] >= 0.95 * gen["llama_bench_tokens_per_s"])))
        whole = gen.get("whole")
        focus = f", passages focused to ~{gen['passage_tokens']:.0f} tokens" if gen.get("passage_tokens") else ""
        rows.append(("Generation", f"time to first token, default ({fmt(gen['prompt_tokens'], 0)}-token "
                     f"5-source prompt{focus})",
                     f"{gen['quire_ttft_s']:.2f} s", "llama-bench prompt rate", f"{gen['llama_bench_ttft_s']:.2f} s",
                     ratio(gen["llama_bench_ttft_s"], gen["quire_ttft_s"]), "< 1 s",
                     status(gen["quire_ttft_s"] < 1)))
        if whole:
            rows.append(("Generation", f"time to first token, whole passages ({fmt(whole['prompt_tokens'], 0)} "
                         "tokens)", f"{whole['quire_ttft_s']:.2f} s", "llama-bench prompt rate",
                         f"{whole['llama_bench_ttft_s']:.2f} s",
                         ratio(whole["llama_bench_ttft_s"], whole["quire_ttft_s"]), "", ""))
        bars.append(("generation\ntokens/s", gen["quire_tokens_per_s"], gen["llama_bench_tokens_per_s"]))

    if bars:
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.bar(range(len(bars)), [q / b for _, q, b in bars], color="#2f6fde")
        ax.axhline(1.0, color="grey", linestyle=":", linewidth=1)
        ax.set_xticks(range(len(bars)), [label for label, _, _ in bars])
        ax.set_ylabel("Quire ÷ baseline")
        ax.set_title("Throughput against the baseline (same machine, same run)")
        save(fig, plots, "throughput-ratios.png")

    out = [
        "# Benchmarks",
        "",
        f"Produced by `make bench` (bench/run.sh, then bench/report.py) on {date.today().isoformat()}; "
        f"{machine}, CPU only. A section can be rerun alone, so each section's time of measurement is "
        "listed below the table; within a section, Quire and its baseline ran on the same input in the "
        "same run. Ratios: Quire ÷ baseline for rates, baseline ÷ Quire for "
        "times, so > 1 always means Quire is ahead.",
        "",
        "Inputs: the PDFs of Debian's `texlive-latex-base-doc`; generated vectors for the index.",
        "",
        "| stage | measure | Quire | baseline | baseline's figure | ratio | goal | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    measured = []
    for section, files in [("extraction", ["extraction-quire.json", "extraction-pdftotext.json"]),
                           ("embedding", ["embedding-quire.json", "embedding-pytorch.json"]),
                           ("ingestion", ["ingestion.json"]), ("search and retrieval", ["retrieval.json"]),
                           ("generation", ["generation.json"]), ("vector index", ["index.json"])]:
        times = [os.path.getmtime(os.path.join(results, f)) for f in files
                 if os.path.exists(os.path.join(results, f))]
        if times:
            when = datetime.fromtimestamp(max(times), timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            measured.append(f"{section} {when}")
    if measured:
        out += ["", "Measured: " + "; ".join(measured) + "."]
    # Notes kept by hand beside the tables (what was tried, what the numbers mean).
    notes = os.path.join(plots, "ingestion-notes.md")
    if os.path.exists(notes):
        out += ["", open(notes).read().strip()]
    out += lines
    out.append("\n### Plots\n")
    for name, title in [("throughput-ratios.png", "Throughput ratios"), ("ingestion-stages.png", "Ingestion stages"),
                        ("retrieval.png", "Retrieval quality"), ("index.png", "Vector index")]:
        if os.path.exists(os.path.join(plots, name)):
            out.append(f"![{title}](bench/{name})\n")
    out.append("\n## Team library: PostgreSQL + pgvector behind `quire serve` (bench/team.sh)\n")
    out += team_section(results)
    notes = os.path.join(plots, "team-notes.md")
    if os.path.exists(notes):
        out += ["", open(notes).read().strip()]
    answers = os.path.join(plots, "answers.md")
    out.append("\n## Answers (bench/answers.sh)\n")
    out.append(open(answers).read().strip() if os.path.exists(answers) else "Not measured yet.")
    # The multilingual section: the tables bench/multilingual.py writes, then the notes kept by
    # hand beside them (what was tried, what the numbers mean).
    out.append("\n## Multilingual (bench/multilingual.sh)\n")
    for name in ("multilingual.md", "multilingual-notes.md"):
        path = os.path.join(plots, name)
        if os.path.exists(path):
            out.append(open(path).read().strip() + "\n")
    # Scanned pages: the table bench/ocr.py writes.
    ocr = os.path.join(plots, "ocr.md")
    out.append("\n## Scanned pages: OCR (bench/ocr.sh)\n")
    out.append(open(ocr).read().strip() if os.path.exists(ocr) else "Not measured yet.")
    # The GPU section comes from another machine (bench/gpu.sh writes gpu.md; keep it as
    # docs/bench/gpu.md), so it is carried over, not remade here.
    gpu = os.path.join(plots, "gpu.md")
    out.append("\n## On the GPU (bench/gpu.sh)\n")
    out.append(open(gpu).read().strip() if os.path.exists(gpu) else "Not measured yet.")
    with open(os.path.join(docs, "benchmarks.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {os.path.join(docs, 'benchmarks.md')} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
