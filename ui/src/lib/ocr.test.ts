import { describe, expect, it } from "vitest";
import { citedWords, rangeOnPage, scanMark } from "./ocr";
import type { WordBox } from "./types";

/** Words of five chars with a space between: word i is chars 6i..6i+5. */
const words: WordBox[] = Array.from({ length: 6 }, (_, i) => ({
  start: 6 * i,
  end: 6 * i + 5,
  x: 0.1 + 0.1 * i,
  y: 0.2,
  w: 0.08,
  h: 0.02,
}));
const starts = (ws: WordBox[]) => ws.map((w) => w.start);

describe("a cited passage on a scanned page", () => {
  it("covers its words from its start on its first page to its end on its last", () => {
    const range = { pageStart: 2, pageEnd: 4, charStart: 13, charEnd: 8 };
    expect(rangeOnPage(range, 1)).toBeNull();
    expect(rangeOnPage(range, 2)).toEqual({ start: 13, end: Infinity });
    expect(rangeOnPage(range, 3)).toEqual({ start: 0, end: Infinity });
    expect(rangeOnPage(range, 4)).toEqual({ start: 0, end: 8 });
    expect(rangeOnPage(range, 5)).toBeNull();
    // From the middle of word 2 (12..17) to the end of the page.
    expect(starts(citedWords(words, range, 2))).toEqual([12, 18, 24, 30]);
    // The whole page between.
    expect(citedWords(words, range, 3)).toHaveLength(6);
    // Up to the middle of word 1 (6..11).
    expect(starts(citedWords(words, range, 4))).toEqual([0, 6]);
    expect(citedWords(words, range, 5)).toEqual([]);
  });

  it("on one page takes the words that overlap it, not those it only touches", () => {
    const range = (charStart: number, charEnd: number) => ({ pageStart: 3, pageEnd: 3, charStart, charEnd });
    expect(starts(citedWords(words, range(5, 18), 3))).toEqual([6, 12]);
    expect(starts(citedWords(words, range(11, 13), 3))).toEqual([12]);
    expect(citedWords(words, range(5, 6), 3)).toEqual([]);
    expect(citedWords(words, range(9, 9), 3)).toEqual([]);
    expect(citedWords([], range(0, 40), 3)).toEqual([]);
  });

  it("is marked as read by OCR, and as uncertain below the engine's low confidence", () => {
    expect(scanMark(null)).toBeNull();
    expect(scanMark(96.5)).toBe("scanned");
    expect(scanMark(70)).toBe("scanned");
    expect(scanMark(69.9)).toBe("uncertain");
  });
});
