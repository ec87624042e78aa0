// Test data shared by the UI's unit tests.
import type { Citation } from "./types";

/** A citation of source `n`, on page `page` (default: page n). */
export function citation(n: number, page = n): Citation {
  return {
    n,
    cited: true,
    attributed: false,
    chunk_id: n * 10,
    document_id: 1,
    title: `Doc ${n}`,
    path: `/d/${n}.pdf`,
    page_start: page,
    page_end: page,
    char_start: 0,
    char_end: 5,
    text: "text",
  };
}
