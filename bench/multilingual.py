#!/usr/bin/env python3
"""Reports bench/multilingual.sh's results: writes docs/bench/multilingual.md (the table
docs/benchmarks.md includes) and prints it.

usage: multilingual.py DIR NAME...   (a model's folder name, "-int8" added for its int8 library)
"""
import json
import os
import sys

SETS = [
    ("questions", "English questions, English LaTeX manuals"),
    ("debian", "English questions, English Debian manuals"),
    ("zh_en_as_asked", "Chinese questions, English manuals, without the dictionary"),
    ("zh_en", "Chinese questions, English manuals"),
    ("zh_en_mixed", "Chinese questions, English manuals, Chinese manuals in the library too"),
    ("zh_en_heldout", "Chinese questions, English manuals, second set (not used for any choice)"),
    ("zh_en_heldout_mixed", "Chinese questions, English manuals, second set, Chinese manuals in the library too"),
    ("zh_zh_alone", "Chinese questions, Chinese manuals (CTeX)"),
    ("zh_zh_as_asked", "Chinese questions, Chinese manuals, English manuals in the library too, without the dictionary"),
    ("zh_zh", "Chinese questions, Chinese manuals, English manuals in the library too"),
]


def main() -> int:
    out, models = sys.argv[1], sys.argv[2:]
    lines = [
        "| model | questions | n | hybrid hit@1 | hybrid hit@5 | hybrid MRR@10 | dense hit@5 | keyword hit@5 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    speed = []
    for name in models:
        base = os.path.join(out, f"multilingual-{name}")
        model = name[:-len("-int8")] + " (int8)" if name.endswith("-int8") else name
        for name, label in SETS:
            path = os.path.join(base, f"{name}.json")
            if not os.path.exists(path):
                continue
            r = json.load(open(path))
            modes = {m["mode"]: m for m in r["modes"]}
            h = modes["hybrid"]
            lines.append(
                f"| {model} | {label} | {r['questions']} | {h['hit_at_1']:.2f} | "
                f"**{h['hit_at_5']:.2f}** | {h['mrr_at_10']:.3f} | {modes['dense']['hit_at_5']:.2f} | "
                f"{modes['bm25']['hit_at_5']:.2f} |"
            )
        ing = os.path.join(base, "ingestion.json")
        if os.path.exists(ing):
            i = json.load(open(ing))
            speed.append(
                f"| {model} | {i['files']} | {i['chunks']} | {i['seconds']:.0f} s | "
                f"{i['chunks'] / max(i['stages']['embed'], 1e-9):.1f} | {i['searchable_seconds']:.1f} s |"
            )
    table = "\n".join(lines)
    if speed:
        table += ("\n\n| model | documents | chunks | indexed in | chunks/s embedded | searchable by words after |\n"
                  "|---|---|---|---|---|---|\n" + "\n".join(speed))
    os.makedirs("docs/bench", exist_ok=True)
    with open("docs/bench/multilingual.md", "w") as f:
        f.write(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
