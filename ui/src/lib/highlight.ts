// Which text-layer spans of a PDF page belong to a cited passage.

/** Shorter spans could match the passage by chance. */
const MIN_SPAN = 12;

function normalise(text: string): string {
  return text.normalize("NFKC").toLowerCase().replace(/[\s\u00ad]+/g, " ").trim();
}

/** For each span of a page's text layer, whether its text is part of `passage`. Spans too short
 * to tell (a word, a number) count only between two matching neighbours. */
export function highlightSpans(spans: string[], passage: string): boolean[] {
  const target = normalise(passage).replace(/-\s/g, "");
  const inPassage = spans.map((s) => {
    const n = normalise(s).replace(/-$/, "");
    return n.length >= MIN_SPAN && target.includes(n);
  });
  return inPassage.map((hit, i) => {
    if (hit) return true;
    const short = normalise(spans[i]).length < MIN_SPAN;
    return short && i > 0 && i + 1 < spans.length && inPassage[i - 1] && inPassage[i + 1];
  });
}
