import { describe, expect, it } from "vitest";
import { pageLabel, parseMarker, segments } from "./answer";
import type { Citation } from "./types";

function cite(n: number): Citation {
  return {
    n,
    cited: true,
    attributed: false,
    chunkId: n * 10,
    documentId: 1,
    title: `Doc ${n}`,
    path: `/d/${n}.pdf`,
    pageStart: n,
    pageEnd: n,
    charStart: 0,
    charEnd: 5,
    text: "text",
  };
}

describe("citation markers", () => {
  it("parses the forms models write", () => {
    expect(parseMarker("2", 5)).toEqual([2]);
    expect(parseMarker("1, 3", 5)).toEqual([1, 3]);
    expect(parseMarker("2-4", 5)).toEqual([2, 3, 4]);
    expect(parseMarker("Source 2", 5)).toEqual([2]);
    expect(parseMarker("3、4", 5)).toEqual([3, 4]);
    expect(parseMarker("9", 5)).toBeNull();
    expect(parseMarker("x", 5)).toBeNull();
  });

  it("turns markers into chips and leaves everything else as text", () => {
    const s = segments("Use margins [1][2]. See 【3】 and [9] or [a].", [cite(1), cite(2), cite(3)]);
    expect(s.map((x) => (x.kind === "text" ? x.text : `#${x.n}`))).toEqual([
      "Use margins ",
      "#1",
      "#2",
      ". See ",
      "#3",
      " and [9] or [a].",
    ]);
    const chip = s[1];
    expect(chip.kind === "cite" && chip.citation?.pageStart).toBe(1);
  });

  it("labels pages", () => {
    expect(pageLabel(3, 3)).toBe("p. 3");
    expect(pageLabel(3, 4)).toBe("pp. 3–4");
  });
});
