import { describe, expect, it } from "vitest";
import { appendText, applyAsk, isBlank, pageLabel, type Streaming } from "./answer";
import { citation } from "./fixtures";
import type { Answer, AskEvent } from "./types";

const cite = (n: number) => citation(n);

/** A finished answer with only the fields the window reads here (the rest are statistics). */
function answer(over: Partial<Answer>): Answer {
  return { conversation_id: 1, message_id: 2, answer: "", segments: [], citations: [], quotes: [], ...over } as Answer;
}

describe("an answer being written", () => {
  it("joins text pieces and puts the engine's citations between them", () => {
    const events: AskEvent[] = [
      { event: "sources", data: [cite(1), cite(2)] },
      { event: "text", data: "Use " },
      { event: "text", data: "margins" },
      { event: "cite", data: [1, 2] },
      { event: "text", data: ". See" },
      { event: "text", data: " also." },
    ];
    let s: Streaming = { citations: [], segments: [] };
    for (const e of events) s = applyAsk(s, e);
    expect(s.citations.map((c) => c.n)).toEqual([1, 2]);
    expect(s.segments).toEqual([
      { kind: "text", text: "Use margins" },
      { kind: "cite", sources: [1, 2] },
      { kind: "text", text: ". See also." },
    ]);
  });

  it("takes the finished answer's segments and citations over the streamed ones", () => {
    let s: Streaming = { citations: [cite(1)], segments: [{ kind: "text", text: "Use margins." }] };
    const final = answer({
      answer: "Use margins. [1]",
      segments: [{ kind: "text", text: "Use margins. " }, { kind: "cite", sources: [1] }],
      citations: [cite(1)],
    });
    s = applyAsk(s, { event: "done", data: final });
    expect(s.segments).toEqual(final.segments);
    expect(s.citations).toEqual(final.citations);
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
