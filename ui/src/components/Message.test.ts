import { render } from "svelte/server";
import { describe, expect, it } from "vitest";
import { applyAsk, emptyAnswer, storedAnswer, type AnswerView } from "../lib/answer";
import { answer, citation, quote, sentence, stored } from "../lib/fixtures";
import Message from "./Message.svelte";

const cite = (n: number) => citation(n, n + 2);
const show = (view: AnswerView, streaming = false) =>
  render(Message, { props: { role: "assistant", answer: view, streaming, onOpen: () => {} } }).body;
/** The visible text of some HTML. */
const textOf = (html: string) => html.replace(/<!--[^>]*-->/g, "").replace(/<[^>]+>/g, "");
/** The chips (buttons) in some HTML, by their source number. */
const chips = (html: string) => [...html.matchAll(/<button class="chip[^"]*" data-n="(\d+)"/g)].map((m) => Number(m[1]));
/** The checked sentences as rendered: support, text, chips. */
const sentences = (html: string) =>
  html
    .split('<span class="sentence ')
    .slice(1)
    .map((piece) => ({
      support: piece.match(/^[a-z_]+/)?.[0],
      text: textOf(piece.match(/<span class="text[^"]*">([\s\S]*?)<\/span>/)?.[1] ?? ""),
      chips: chips(piece),
    }));

describe("an answer on screen", () => {
  it("shows the documents' own sentences first, and the model's draft without chips", () => {
    let view = emptyAnswer();
    view = applyAsk(view, { event: "sources", data: [cite(1), cite(2)] });
    view = applyAsk(view, { event: "quotes", data: [quote(2, "Margins are set with geometry.")] });
    view = applyAsk(view, { event: "text", data: "Use margins " });
    view = applyAsk(view, { event: "cite", data: [1, 2] });
    view = applyAsk(view, { event: "text", data: " and " });
    view = applyAsk(view, { event: "cite", data: [7] });
    const body = show(view, true);
    const quotesAt = body.indexOf('data-testid="quotes"');
    const draftAt = body.indexOf('data-testid="draft"');
    expect(quotesAt).toBeGreaterThan(-1);
    expect(draftAt).toBeGreaterThan(quotesAt);
    expect(textOf(body.slice(quotesAt, draftAt))).toContain("From your documents");
    expect(chips(body.slice(quotesAt, draftAt))).toEqual([2]);
    const draft = body.slice(draftAt, body.indexOf("</div>", draftAt));
    expect(draft).not.toContain("<button");
    expect(textOf(draft)).toContain("Checking against your documents…");
    expect(textOf(draft)).toMatch(/Use margins \[1\]\[2\] and \[7\]/);
    expect(draft.match(/class="pending-cite/g)).toHaveLength(3);
    expect(draft).toContain('class="cursor');
  });

  it("shows each supported sentence with chips for its sources, and marks the unsupported ones", () => {
    const done = answer({
      sentences: [
        sentence("Use \\PassOptionsToClass.", [2]),
        sentence("It sets 10000 options.", [], ["10000"]),
        { ...sentence("\nThat is all.", []), support: "no_claim" },
      ],
      citations: [cite(1), cite(2)],
      quotes: [quote(2)],
    });
    const body = show(applyAsk(emptyAnswer(), { event: "done", data: done }));
    expect(body).not.toContain('data-testid="draft"');
    expect(body).not.toContain('class="cursor');
    expect(sentences(body)).toEqual([
      { support: "supported", text: "Use \\PassOptionsToClass.", chips: [2] },
      { support: "unsupported", text: "It sets 10000 options.", chips: [] },
      { support: "no_claim", text: "That is all.", chips: [] },
    ]);
    // The chip carries its passage (what the end-to-end test checks it against) and page.
    expect(body).toMatch(/data-n="2" data-page="4" data-passage="passage 2"/);
    expect(body).toMatch(/<mark class="unknown[^"]*" title="in none of the sources">10000<\/mark>/);
    expect(textOf(body)).toContain("not confirmed by your documents");
    expect(textOf(body)).toContain("That is all."); // on its own line
    expect(body).toMatch(/<\/span>(<!---->)?\n<span class="sentence no_claim/);
  });

  it("says when the model's answer was set aside for what the documents say", () => {
    const done = answer({
      outcome: "from_documents",
      sentences: [sentence("Invented fact.", [])],
      omitted: [
        { text: "2. 'email'", reason: "invented_list_item" },
        { text: "Invented fact.", reason: "repeated" },
      ],
      citations: [{ ...cite(1), cited: false }],
      quotes: [quote(1, "The documents' own sentence.")],
    });
    const body = show(applyAsk(emptyAnswer(), { event: "done", data: done }));
    const text = textOf(body);
    expect(text).toContain("Nothing the model wrote is supported by your documents; the answer is what they say:");
    expect(text.indexOf("Nothing the model wrote")).toBeLessThan(text.indexOf("From your documents"));
    expect(body).toMatch(/<details class="model-answer[^"]*">/);
    expect(sentences(body).flatMap((s) => s.chips)).toEqual([]);
    expect(text).toContain("2 parts left out (invented list items / repeated)");
  });

  it("answers a question the documents do not cover with the statement, citing nothing", () => {
    const statement = "Your documents do not seem to cover this: none of the passages found answers the question.";
    const done = answer({
      outcome: "not_covered",
      answer: statement,
      segments: [{ kind: "text", text: statement }],
      citations: [{ ...cite(1), cited: false }, { ...cite(2), cited: false }],
      model: "",
      stop: "not_asked",
    });
    const body = show(applyAsk(emptyAnswer(), { event: "done", data: done }));
    expect(textOf(body)).toContain(statement);
    expect(textOf(body)).toContain("Closest passages (2)");
    expect(chips(body)).toEqual([]);
    expect(body).not.toContain("From your documents");
  });

  it("renders a stored answer from its check, and one stored before checking from its text", () => {
    const checked = { outcome: "verified" as const, sentences: [sentence("Use margins.", [1])], omitted: [] };
    const now = show(storedAnswer(stored({ content: "Use margins [1].", citations: [cite(1)], quotes: [quote(1)], checked })));
    expect(sentences(now)).toEqual([{ support: "supported", text: "Use margins.", chips: [1] }]);
    expect(textOf(now)).toContain("From your documents");

    const old = show(
      storedAnswer(
        stored({
          content: "Use margins [1] and [7]",
          segments: [
            { kind: "text", text: "Use margins " },
            { kind: "cite", sources: [1] },
            { kind: "text", text: " and " },
            { kind: "cite", sources: [7] },
          ],
          citations: [cite(1)],
          quotes: [quote(1)],
        }),
      ),
    );
    const oldAnswer = old.match(/<p class="answer[^"]*">([\s\S]*?)<\/p>/)?.[1] ?? "";
    expect(chips(oldAnswer)).toEqual([1]);
    expect(textOf(oldAnswer)).toMatch(/Use margins \s*\[1\] and \[7\]/);
    expect(textOf(old)).toContain("Supporting quotes");
    expect(old).not.toContain("Checking against");
  });

  it("marks chips whose passage was read by OCR, and those OCR was unsure of", () => {
    const scanned = { ...cite(1), ocr_confidence: 91.6 };
    const unsure = { ...cite(2), ocr_confidence: 52 };
    const done = answer({
      sentences: [sentence("From a scan.", [1]), sentence("From a bad scan.", [2]), sentence("From text.", [3])],
      citations: [scanned, unsure, cite(3)],
      quotes: [quote(1)],
    });
    const body = show(applyAsk(emptyAnswer(), { event: "done", data: done }));
    const attr = (tag: string, name: string) => tag.match(new RegExp(` ${name}="([^"]*)"`))?.[1] ?? null;
    const marks = [...body.matchAll(/<button class="chip[^>]*>/g)].map(([tag]) => ({
      n: Number(attr(tag, "data-n")),
      ocr: attr(tag, "data-ocr"),
      title: attr(tag, "title"),
    }));
    expect(marks).toEqual([
      { n: 1, ocr: "scanned", title: "Doc 1, p. 1 — From a scanned page, read by OCR (confidence 92 %)" },
      { n: 1, ocr: "scanned", title: "Doc 1, p. 3 — From a scanned page, read by OCR (confidence 92 %)" },
      { n: 2, ocr: "uncertain", title: "Doc 2, p. 4 — From a scanned page OCR was unsure of (confidence 52 %): the text may be wrong" },
      { n: 3, ocr: null, title: "Doc 3, p. 5" },
    ]);
    // Visible without hovering: a marker in the chip.
    expect(body.match(/<span class="ocr-mark scanned[^"]*">OCR<\/span>/g)).toHaveLength(2);
    expect(body.match(/<span class="ocr-mark uncertain[^"]*">OCR \?<\/span>/g)).toHaveLength(1);
  });
});
