// How an answer is shown. The engine parses the citation markers and checks the answer; the
// window only puts the pieces it sends together and renders what the engine decided.
import type {
  AnswerSentence,
  AskEvent,
  Checked,
  Citation,
  OmitReason,
  Quote,
  Segment,
  StoredMessage,
} from "./types";

/** An answer as the window shows it: while it is written, and once the engine has checked it. */
export interface AnswerView {
  citations: Citation[];
  /** The extractive answer ("From your documents"), shown before the model writes. */
  quotes: Quote[];
  /** The model's text and citation markers as written: a draft, not yet checked. */
  draft: Segment[];
  /** The answer's text as stored: the checked text, or the statement that the documents do not
   * cover the question. */
  text: string;
  /** `text` split into text and citations: how answers stored before checking are shown. */
  segments: Segment[];
  /** The checked answer; null while the model writes, and for answers stored before Quire
   * checked them (those are shown from `segments`). */
  checked: Checked | null;
  /** Why the answer ended ("cancelled", "max_tokens", …). */
  stop: string | null;
}

export const emptyAnswer = (): AnswerView => ({
  citations: [],
  quotes: [],
  draft: [],
  text: "",
  segments: [],
  checked: null,
  stop: null,
});

/** A stored answer as the window shows it (`checked` is null for answers stored before Quire
 * checked them). */
export const storedAnswer = (m: StoredMessage): AnswerView => ({
  citations: m.citations,
  quotes: m.quotes,
  draft: [],
  text: m.content,
  segments: m.segments,
  checked: m.checked,
  stop: m.stop,
});

/** `segments` with `text` added to the last text segment (or a new one after a citation). */
export function appendText(segments: Segment[], text: string): Segment[] {
  if (!text) return segments;
  const last = segments[segments.length - 1];
  if (last && last.kind === "text") {
    return [...segments.slice(0, -1), { kind: "text", text: last.text + text }];
  }
  return [...segments, { kind: "text", text }];
}

/** The answer after one event: sources, the extractive answer, a piece of the draft, a marker,
 * or the finished, checked answer (which replaces the draft). */
export function applyAsk(prev: AnswerView, event: AskEvent): AnswerView {
  switch (event.event) {
    case "sources":
      return { ...prev, citations: event.data };
    case "quotes":
      return { ...prev, quotes: event.data };
    case "text":
      return { ...prev, draft: appendText(prev.draft, event.data) };
    case "cite":
      return event.data.length > 0
        ? { ...prev, draft: [...prev.draft, { kind: "cite", sources: event.data }] }
        : prev;
    case "done": {
      const a = event.data;
      return {
        citations: a.citations,
        quotes: a.quotes,
        draft: [],
        text: a.answer,
        segments: a.segments,
        checked: { outcome: a.outcome, sentences: a.sentences, omitted: a.omitted },
        stop: a.stop,
      };
    }
  }
}

/** Whether the segments say nothing (no text but white space, no citation). */
export function isBlank(segments: Segment[]): boolean {
  return segments.every((s) => (s.kind === "text" ? s.text.trim() === "" : s.sources.length === 0));
}

/** What goes before a checked sentence (nothing, a space, or its line break) and its text. */
export function sentenceLayout(s: AnswerSentence, first: boolean): { before: string; text: string } {
  const text = s.text.replace(/^\n+/, "");
  if (first) return { before: "", text };
  return { before: text.length < s.text.length ? "\n" : " ", text };
}

/** `text` cut into pieces, those that are one of the engine's `unknown` terms marked. */
export function markUnknown(text: string, unknown: string[]): { text: string; unknown: boolean }[] {
  const terms = unknown.filter((u) => u.length > 0).sort((a, b) => b.length - a.length);
  const pieces: { text: string; unknown: boolean }[] = [];
  let rest = text;
  while (rest.length > 0) {
    let at = -1;
    let term = "";
    for (const u of terms) {
      const i = rest.indexOf(u);
      if (i >= 0 && (at < 0 || i < at)) [at, term] = [i, u];
    }
    if (at < 0) break;
    if (at > 0) pieces.push({ text: rest.slice(0, at), unknown: false });
    pieces.push({ text: term, unknown: true });
    rest = rest.slice(at + term.length);
  }
  if (rest.length > 0) pieces.push({ text: rest, unknown: false });
  return pieces;
}

/** Whether the model wrote anything that was checked (a from-documents answer says so only
 * then; without a model there is nothing to set aside). */
export function modelWrote(checked: Checked): boolean {
  return checked.sentences.length > 0 || checked.omitted.length > 0;
}

/** The reasons of the omissions, each once, in the order they first occur. */
export function omitReasons(omitted: { reason: OmitReason }[]): OmitReason[] {
  return [...new Set(omitted.map((o) => o.reason))];
}

/** "p. 3" or "pp. 3–4". */
export function pageLabel(start: number, end: number): string {
  return start === end ? `p. ${start}` : `pp. ${start}–${end}`;
}
