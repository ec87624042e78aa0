// How an answer is shown while it is written. The engine parses the citation markers; the
// window only puts the pieces it sends together.
import type { AskEvent, Citation, Segment } from "./types";

/** An answer being written: its sources and the segments streamed so far. */
export interface Streaming {
  citations: Citation[];
  segments: Segment[];
}

/** `segments` with `text` added to the last text segment (or a new one after a citation). */
export function appendText(segments: Segment[], text: string): Segment[] {
  if (!text) return segments;
  const last = segments[segments.length - 1];
  if (last && last.kind === "text") {
    return [...segments.slice(0, -1), { kind: "text", text: last.text + text }];
  }
  return [...segments, { kind: "text", text }];
}

/** The answer after one event: sources, a text piece, a citation, or the finished answer (whose
 * segments and citations replace the streamed ones: Quire may have added citations). */
export function applyAsk(prev: Streaming, event: AskEvent): Streaming {
  switch (event.event) {
    case "sources":
      return { ...prev, citations: event.data };
    case "text":
      return { ...prev, segments: appendText(prev.segments, event.data) };
    case "cite":
      return event.data.length > 0
        ? { ...prev, segments: [...prev.segments, { kind: "cite", sources: event.data }] }
        : prev;
    case "done":
      return { citations: event.data.citations, segments: event.data.segments };
  }
}

/** Whether the segments say nothing (no text but white space, no citation). */
export function isBlank(segments: Segment[]): boolean {
  return segments.every((s) => (s.kind === "text" ? s.text.trim() === "" : s.sources.length === 0));
}

/** "p. 3" or "pp. 3–4". */
export function pageLabel(start: number, end: number): string {
  return start === end ? `p. ${start}` : `pp. ${start}–${end}`;
}
