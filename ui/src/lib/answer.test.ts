import { describe, expect, it } from "vitest";
import {
  appendText,
  applyAsk,
  emptyAnswer,
  isBlank,
  markUnknown,
  omitReasons,
  pageLabel,
  sentenceLayout,
  storedAnswer,
  type AnswerView,
} from "./answer";
import { answer, citation, quote, sentence, stored } from "./fixtures";
import type { AskEvent } from "./types";

const cite = (n: number) => citation(n);

describe("an answer being written", () => {
  it("shows the extractive answer as soon as it arrives, then the model's draft", () => {
    const events: AskEvent[] = [
      { event: "sources", data: [cite(1), cite(2)] },
      { event: "quotes", data: [quote(2)] },
      { event: "text", data: "Use " },
      { event: "text", data: "margins" },
      { event: "cite", data: [1, 2] },
      { event: "text", data: ". See" },
      { event: "text", data: " also." },
    ];
    let s: AnswerView = emptyAnswer();
    s = applyAsk(s, events[0]);
    s = applyAsk(s, events[1]);
    expect(s.quotes).toEqual([quote(2)]);
    expect(s.draft).toEqual([]);
    for (const e of events.slice(2)) s = applyAsk(s, e);
    expect(s.citations.map((c) => c.n)).toEqual([1, 2]);
    expect(s.checked).toBeNull();
    expect(s.draft).toEqual([
      { kind: "text", text: "Use margins" },
      { kind: "cite", sources: [1, 2] },
      { kind: "text", text: ". See also." },
    ]);
  });

  it("replaces the draft with the checked answer when it is done", () => {
    let s: AnswerView = { ...emptyAnswer(), citations: [cite(1)], draft: [{ kind: "text", text: "Use margins." }] };
    const final = answer({
      answer: "Use margins [1].",
      segments: [{ kind: "text", text: "Use margins " }, { kind: "cite", sources: [1] }, { kind: "text", text: "." }],
      sentences: [sentence("Use margins.", [1])],
      omitted: [{ text: "Answer: x", reason: "scaffolding" }],
      citations: [cite(1)],
      quotes: [quote(1)],
    });
    s = applyAsk(s, { event: "done", data: final });
    expect(s.draft).toEqual([]);
    expect(s.checked).toEqual({ outcome: "verified", sentences: final.sentences, omitted: final.omitted });
    expect(s.citations).toEqual(final.citations);
    expect(s.quotes).toEqual(final.quotes);
    expect(s.text).toBe("Use margins [1].");
    expect(s.stop).toBe("end_of_text");
  });

  it("never changes the segments it was given", () => {
    const before = [{ kind: "text" as const, text: "a" }];
    const after = appendText(before, "b");
    expect(before).toEqual([{ kind: "text", text: "a" }]);
    expect(after).toEqual([{ kind: "text", text: "ab" }]);
  });

  it("tells an empty answer", () => {
    expect(isBlank([])).toBe(true);
    expect(isBlank([{ kind: "text", text: " \n" }])).toBe(true);
    expect(isBlank([{ kind: "cite", sources: [1] }])).toBe(false);
  });

  it("labels pages", () => {
    expect(pageLabel(3, 3)).toBe("p. 3");
    expect(pageLabel(3, 4)).toBe("pp. 3–4");
  });
});

describe("a checked answer", () => {
  it("keeps the line breaks the engine marks and spaces sentences otherwise", () => {
    expect(sentenceLayout(sentence("First.", []), true)).toEqual({ before: "", text: "First." });
    expect(sentenceLayout(sentence("Second.", []), false)).toEqual({ before: " ", text: "Second." });
    expect(sentenceLayout(sentence("\n1. Item.", []), false)).toEqual({ before: "\n", text: "1. Item." });
  });

  it("marks the terms the engine found in no source", () => {
    expect(markUnknown("Set 10000 with \\foo.", ["10000", "\\foo"])).toEqual([
      { text: "Set ", unknown: false },
      { text: "10000", unknown: true },
      { text: " with ", unknown: false },
      { text: "\\foo", unknown: true },
      { text: ".", unknown: false },
    ]);
    expect(markUnknown("Nothing odd.", [])).toEqual([{ text: "Nothing odd.", unknown: false }]);
  });

  it("names each reason for leaving parts out once", () => {
    expect(
      omitReasons([{ reason: "repeated" }, { reason: "invented_list_item" }, { reason: "repeated" }]),
    ).toEqual(["repeated", "invented_list_item"]);
  });

  it("comes back from history as it was shown, or as text for answers stored before checking", () => {
    const checked = { outcome: "verified" as const, sentences: [sentence("Use margins.", [1])], omitted: [] };
    expect(storedAnswer(stored({ content: "Use margins [1].", checked })).checked).toEqual(checked);
    const old = storedAnswer(stored({ content: "Old [1].", segments: [{ kind: "text", text: "Old " }, { kind: "cite", sources: [1] }] }));
    expect(old.checked).toBeNull();
    expect(old.segments).toHaveLength(2);
  });
});
