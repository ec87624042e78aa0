// Scanned pages: which OCR words of a page a cited passage covers (their boxes are drawn over
// the page, which has no text layer to highlight), and how a passage read by OCR is marked.
import type { WordBox } from "./types";

/** Below this OCR confidence (0–100) a page's text may be wrong in places: the engine's
 * `quire_engine::LOW_CONFIDENCE`. */
export const LOW_CONFIDENCE = 70;

/** Where a passage lies: from `charStart` in page `pageStart`'s text to `charEnd` (exclusive) in
 * page `pageEnd`'s, offsets in chars (Unicode scalar values), as the engine stores them. */
export interface PassageRange {
  pageStart: number;
  pageEnd: number;
  charStart: number;
  charEnd: number;
}

/** The chars `[start, end)` of `page`'s text that the passage covers; null when it covers none
 * of that page. `end` is Infinity when the passage goes on past the page. */
export function rangeOnPage(range: PassageRange, page: number): { start: number; end: number } | null {
  if (page < range.pageStart || page > range.pageEnd) return null;
  const start = page === range.pageStart ? range.charStart : 0;
  const end = page === range.pageEnd ? range.charEnd : Infinity;
  return start < end ? { start, end } : null;
}

/** The words of `page` (read by OCR) whose chars overlap the passage. */
export function citedWords(words: WordBox[], range: PassageRange, page: number): WordBox[] {
  const span = rangeOnPage(range, page);
  if (!span) return [];
  return words.filter((w) => w.start < span.end && w.end > span.start);
}

/** How a passage is marked: read from a scanned page by OCR ("scanned"), one OCR was unsure of
 * ("uncertain": its text may be wrong), or not at all (its pages have a text layer). */
export function scanMark(confidence: number | null): "scanned" | "uncertain" | null {
  if (confidence === null) return null;
  return confidence < LOW_CONFIDENCE ? "uncertain" : "scanned";
}

const names: Record<string, string> = {
  eng: "English",
  chi_sim: "简体中文",
  chi_tra: "繁體中文",
  jpn: "日本語",
  kor: "한국어",
  deu: "Deutsch",
  fra: "Français",
  spa: "Español",
};

/** A Tesseract language as Settings lists it: "English (eng)", or the code alone. */
export function languageName(code: string): string {
  return code in names ? `${names[code]} (${code})` : code;
}
