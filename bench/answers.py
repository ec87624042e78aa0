#!/usr/bin/env python3
"""Scores the answer benchmark: reads DIR/answers-<config>.jsonl (bench/answers.sh) and the labels
in bench/retrieval/{questions,debian}.json; writes DIR/answers.json, docs/bench/answers.md (the
table docs/benchmarks.md includes) and DIR/answers-handcheck.md (answers to check by hand).

Per configuration, over the answerable questions with key facts:
  * key facts: the share of questions whose text holds every key fact (case-insensitive,
    NFKC, white space collapsed), for the five passages given, the extractive answer, the
    model's raw output, and the answer as shown (extractive answer + supported sentences);
  * right source: a chip or quote of the shown answer on a labelled page of the labelled document;
  * false refusals: answered "not covered";
and over the unanswerable ones: declined (answered "not covered", the model not asked).
Citation precision by the verifier's rule is 1 by construction (a chip is shown only where the
rule holds); the hand check (bench/answers_handcheck.json) measures it against a person.

usage: answers.py DIR
"""
import json
import os
import random
import re
import statistics
import sys
import unicodedata

LABELS = ["bench/retrieval/questions.json", "bench/retrieval/debian.json"]
CONFIGS = ["extract", "gemma-3-270m", "smollm2-135m"]


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    return re.sub(r"\s+", " ", text)


def holds(text: str, facts) -> bool:
    t = norm(text)
    return all(norm(f) in t for f in facts)


def labels():
    out = {}
    for name in LABELS:
        for q in json.load(open(name)):
            q["collection"] = "latex" if "questions.json" in name else "debian"
            out[q["id"]] = q
    return out


def on_evidence(q, path, page_start, page_end) -> bool:
    doc = os.path.basename(q["document"]).removesuffix(".gz")
    return os.path.basename(path) == doc and any(page_start <= p <= page_end for p in q["pages"])


def score(config: str, rows, qs):
    ans = [(qs[r["id"]], r["answer"]) for r in rows if qs[r["id"]].get("answerable", True)]
    una = [(qs[r["id"]], r["answer"]) for r in rows if not qs[r["id"]].get("answerable", True)]
    m = {"config": config, "answerable": len(ans), "unanswerable": len(una)}
    passages_hold = extract_hold = raw_hold = shown_hold = right = refused = 0
    extract_given_passages = 0
    sentences = {"supported": 0, "unsupported": 0, "no_claim": 0}
    chips = dropped = added = omitted = 0
    outcomes = {}
    for q, a in ans:
        facts = q["key_facts"]
        cites = {c["n"]: c for c in a["citations"]}
        given = " ".join(c["text"] for c in a["citations"])
        quotes = " ".join(x["text"] for x in a["quotes"])
        supported = [s for s in a["sentences"] if s["support"] == "supported"]
        shown = quotes + " " + " ".join(s["text"] for s in supported)
        p = holds(given, facts)
        passages_hold += p
        e = holds(quotes, facts)
        extract_hold += e
        extract_given_passages += e and p
        raw_hold += holds(a["raw"], facts)
        shown_hold += holds(shown, facts)
        refused += a["outcome"] == "not_covered"
        outcomes[a["outcome"]] = outcomes.get(a["outcome"], 0) + 1
        hits = [on_evidence(q, cites[x["n"]]["path"], x["page"], x["page"]) for x in a["quotes"] if x["n"] in cites]
        for s in supported:
            hits += [on_evidence(q, cites[n]["path"], cites[n]["page_start"], cites[n]["page_end"])
                     for n in s["sources"] if n in cites]
        right += any(hits)
    for q, a in ans + una:
        for s in a["sentences"]:
            sentences[s["support"]] += 1
            chips += len(s["sources"]) if s["support"] == "supported" else 0
            dropped += len(s["dropped"])
            added += len(s["added"])
        omitted += len(a["omitted"])
    declined = sum(a["outcome"] == "not_covered" for _, a in una)
    # Unanswerable questions the model was asked about and Quire showed a chip for: an answer
    # presented as grounded where the documents have none.
    una_chips = sum(any(s["sources"] for s in a["sentences"]) for _, a in una)
    n = max(len(ans), 1)
    m.update({
        "passages_hold_key_facts": passages_hold / n,
        "extract_holds_key_facts": extract_hold / n,
        "extract_holds_where_passages_do": extract_given_passages / max(passages_hold, 1),
        "model_raw_holds_key_facts": raw_hold / n,
        "shown_answer_holds_key_facts": shown_hold / n,
        "right_source": right / n,
        "false_refusals": refused / n,
        "declined_unanswerable": declined / max(len(una), 1),
        "unanswerable_with_chips": una_chips,
        "outcomes_answerable": outcomes,
        "sentences": sentences,
        "chips_shown": chips,
        "model_citations_dropped": dropped,
        "citations_added_by_quire": added,
        "omitted_pieces": omitted,
    })
    ttft = [a["time_to_first_token_ms"] for _, a in ans + una if a["model"]]
    tps = [a["tokens_per_second"] for _, a in ans + una if a["model"] and a["tokens_per_second"] > 0]
    m["model"] = next((a["model"] for _, a in ans + una if a["model"]), "")
    m["ttft_ms_median"] = statistics.median(ttft) if ttft else None
    m["tokens_per_second_median"] = statistics.median(tps) if tps else None
    return m


def handcheck_sample(rows_by_config, qs, path):
    """30 answers of the default model with their sentences, verdicts and cited passages, for a
    person to judge; then every chip every model configuration showed (citation precision by
    hand)."""
    default = CONFIGS[1]
    pool = [r for r in rows_by_config.get(default, [])
            if r["answer"]["sentences"] and any(s["support"] != "no_claim" for s in r["answer"]["sentences"])]
    random.Random(14).shuffle(pool)
    with open(path, "w") as f:
        f.write(f"# 30 answers of {default}\n\n")
        for i, r in enumerate(pool[:30], 1):
            a = r["answer"]
            cites = {c["n"]: c for c in a["citations"]}
            f.write(f"## {i}. q{r['id']}: {a['question']}\n\n")
            for s in a["sentences"]:
                f.write(f"- **{s['support']}** {s['sources']} {s['text'].strip()}\n")
                for n in s["sources"]:
                    f.write(f"  - [{n}] p.{cites[n]['page_start']}: {cites[n]['text'][:600]!r}\n")
            f.write("\n")
        f.write("# Every chip shown\n\n")
        k = 0
        for config in CONFIGS[1:]:
            for r in rows_by_config.get(config, []):
                a = r["answer"]
                cites = {c["n"]: c for c in a["citations"]}
                for s in a["sentences"]:
                    for n in s["sources"]:
                        k += 1
                        f.write(f"## chip {k} [{config}] q{r['id']}: {a['question']}\n\n"
                                f"- sentence: {s['text'].strip()}\n- [{n}]: {cites[n]['text']!r}\n\n")


def main():
    out = sys.argv[1]
    qs = labels()
    rows_by_config, results = {}, []
    for config in CONFIGS:
        path = os.path.join(out, f"answers-{config}.jsonl")
        if not os.path.exists(path):
            continue
        rows = [json.loads(l) for l in open(path) if l.strip()]
        rows_by_config[config] = rows
        results.append(score(config, rows, qs))
    json.dump(results, open(os.path.join(out, "answers.json"), "w"), indent=2)
    handcheck_sample(rows_by_config, qs, os.path.join(out, "answers-handcheck.md"))
    pct = lambda x: "–" if x is None else f"{100 * x:.0f} %"
    num = lambda x, d=0: "–" if x is None else f"{x:.{d}f}"
    lines = [
        "| configuration | questions (answerable + not) | passages hold key facts | extractive answer holds them "
        "(where passages do) | model's raw text holds them | shown answer holds them | right source | "
        "false refusals | unanswerable declined (given a chip) | sentences supported / unsupported / no claim | chips shown | "
        "model citations dropped / added by Quire | first token (median) | tokens/s (median) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in results:
        s = m["sentences"]
        lines.append(
            f"| {m['config']} | {m['answerable']} + {m['unanswerable']} | {pct(m['passages_hold_key_facts'])} | "
            f"{pct(m['extract_holds_key_facts'])} ({pct(m['extract_holds_where_passages_do'])}) | "
            f"{pct(m['model_raw_holds_key_facts']) if m['model'] else '–'} | {pct(m['shown_answer_holds_key_facts'])} | "
            f"{pct(m['right_source'])} | {pct(m['false_refusals'])} | {pct(m['declined_unanswerable'])} "
            f"({m['unanswerable_with_chips']}) | "
            f"{s['supported']} / {s['unsupported']} / {s['no_claim']} | {m['chips_shown']} | "
            f"{m['model_citations_dropped']} / {m['citations_added_by_quire']} | "
            f"{num(m['ttft_ms_median'])} ms | {num(m['tokens_per_second_median'], 1)} |")
    table = "\n".join(lines)
    print(table)
    docs = os.path.join("docs", "bench")
    os.makedirs(docs, exist_ok=True)
    intro = (
        "Questions in users' own words with reference answers and key facts: "
        "`bench/retrieval/questions.json` (35 LaTeX manuals of texlive-latex-base-doc) and "
        "`bench/retrieval/debian.json` (Debian Policy, Developer's Reference, FHS, bzip2 manual), "
        "plus questions none of them answers; one library of those 39 PDFs "
        "(`bash bench/answers.sh`). The extractive configuration runs every labelled question, the "
        "model configurations every second answerable one and every unanswerable one. *Key facts "
        "held*: the share of answerable questions whose text holds every key fact; *shown answer* = "
        "the extractive answer plus the model's supported sentences; *right source*: a chip or quote "
        "on a labelled page; *declined*: answered \"not covered\" without the model (in brackets: "
        "unanswerable questions that got a chip anyway). A chip is shown "
        "only where the verifier's rule holds, so the verifier's own citation precision is 1 by "
        "construction; how often the rule is right is measured on labelled pairs and by hand (below). "
        "*Sentences*: the model's, as the verifier marked them (supported = shown with a chip; "
        "unsupported = marked \"not confirmed by your documents\"; no claim = shown plainly).")
    hand = os.path.join("bench", "answers_handcheck.md")
    with open(os.path.join(docs, "answers.md"), "w") as f:
        f.write(intro + "\n\n" + table + "\n")
        if os.path.exists(hand):
            f.write("\n" + open(hand).read().strip() + "\n")
    stale = os.path.join(docs, "answers-table.md")
    if os.path.exists(stale):
        os.remove(stale)


if __name__ == "__main__":
    main()
