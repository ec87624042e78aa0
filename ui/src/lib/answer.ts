// How an answer's text is shown: plain text with citation chips where it says [n].
import type { Citation } from "./types";

export type Segment =
  | { kind: "text"; text: string }
  | { kind: "cite"; n: number; citation: Citation | null };

const OPEN = "[［【";
const CLOSE = "]］】";

/** Numbers inside one bracket: "2", "1, 3", "2-4", "Source 2"; null when it is not a citation. */
export function parseMarker(inner: string, sources: number): number[] | null {
  let body = inner.trim().replace(/^source\s*/i, "");
  if (!/^[0-9][0-9 ,;，、\-–]*$/.test(body)) return null;
  const out: number[] = [];
  for (const part of body.split(/[,;，、 ]+/)) {
    if (!part) continue;
    const range = part.split(/[-–]/);
    const nums =
      range.length === 2
        ? expand(Number(range[0]), Number(range[1]))
        : range.length === 1
          ? [Number(range[0])]
          : [];
    for (const n of nums) {
      if (Number.isInteger(n) && n >= 1 && n <= sources && !out.includes(n)) out.push(n);
    }
  }
  return out.length ? out : null;
}

function expand(a: number, b: number): number[] {
  if (!(a <= b) || b - a >= 20) return [];
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

/** Splits `text` into text and citation segments; markers that match no source stay text. */
export function segments(text: string, citations: Citation[]): Segment[] {
  const out: Segment[] = [];
  const byN = new Map(citations.map((c) => [c.n, c]));
  let plain = "";
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (OPEN.includes(ch)) {
      let j = i + 1;
      while (j < text.length && !CLOSE.includes(text[j]) && j - i < 40) j++;
      if (j < text.length && CLOSE.includes(text[j])) {
        const nums = parseMarker(text.slice(i + 1, j), citations.length);
        if (nums) {
          if (plain) out.push({ kind: "text", text: plain });
          plain = "";
          for (const n of nums) out.push({ kind: "cite", n, citation: byN.get(n) ?? null });
          i = j + 1;
          continue;
        }
      }
    }
    plain += ch;
    i++;
  }
  if (plain) out.push({ kind: "text", text: plain });
  return out;
}

/** "p. 3" or "pp. 3–4". */
export function pageLabel(start: number, end: number): string {
  return start === end ? `p. ${start}` : `pp. ${start}–${end}`;
}
