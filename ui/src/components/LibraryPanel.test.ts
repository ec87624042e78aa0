import { render } from "svelte/server";
import { describe, expect, it } from "vitest";
import { applyIngest, initialIngest } from "../lib/ingest";
import type { Document, ModelSuggestion } from "../lib/types";
import LibraryPanel from "./LibraryPanel.svelte";

const text = (html: string) => html.replace(/<!--[^>]*-->/g, "").replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");

const suggestion: ModelSuggestion = {
  path: "/home/u/.local/share/quire/models/multilingual-e5-small",
  name: "multilingual-e5-small",
  cjk_share: 0.9,
  chunks: 162,
};

const props = (extra: Record<string, unknown>) => ({
  documents: [],
  ingest: initialIngest(),
  selected: [],
  onAdd: () => {},
  onChanged: () => {},
  ...extra,
});

describe("library panel", () => {
  it("offers the model the engine suggests for the library's languages, with what it costs", () => {
    const { body } = render(LibraryPanel, { props: props({ suggestion }) });
    const shown = text(body);
    expect(body).toContain('data-testid="model-suggestion"');
    expect(shown).toContain("90 % of this library's passages are in Chinese, Japanese or Korean");
    expect(shown).toContain("indexes 162 passages again");
    expect(shown).toContain("Use multilingual-e5-small");
  });

  it("offers nothing without a suggestion, or while documents are being added", () => {
    expect(render(LibraryPanel, { props: props({ suggestion: null }) }).body).not.toContain("model-suggestion");
    const running = { ...initialIngest(), running: true };
    expect(render(LibraryPanel, { props: props({ suggestion, ingest: running }) }).body).not.toContain("model-suggestion");
  });

  it("marks scanned documents and the pages OCR was unsure of", () => {
    const doc = (id: number, ocr_pages: number, uncertain_pages: number): Document => ({
      id,
      path: `/d/${id}.pdf`,
      title: `Doc ${id}`,
      sha256: "",
      pages: 12,
      size: 1000,
      mtime_ns: 0,
      status: "ready",
      error_kind: null,
      error: null,
      added_at: "",
      chunks: 30,
      embedded: true,
      ocr_pages,
      uncertain_pages,
    });
    const { body } = render(LibraryPanel, { props: props({ documents: [doc(1, 0, 0), doc(2, 12, 3), doc(3, 1, 0)] }) });
    const shown = text(body);
    expect(shown).toContain("12 pages read by OCR · 3 with low confidence: check their text");
    expect(shown).toContain("1 page read by OCR");
    expect(body.match(/data-testid="scanned"/g)).toHaveLength(2);
    expect(body.match(/data-testid="uncertain"/g)).toHaveLength(1);
  });

  it("shows which scanned page OCR is reading", () => {
    let ingest = applyIngest(initialIngest(), { event: "planned", data: { files: 1, to_index: 1 } }, 0);
    ingest = applyIngest(ingest, { event: "reading", data: { path: "/s/scan.pdf", pages_done: 3, pages_total: 8, ocr_page: 4, ocr_pages: 8 } }, 1);
    expect(text(render(LibraryPanel, { props: props({ ingest }) }).body)).toContain("OCR page 4 of 8");
  });

  const team = { url: "http://127.0.0.1:8484", token: "t", collection: "legal", ca_cert: null };
  const doc: Document = {
    id: 7, path: "legal/lppl.pdf", title: "The LaTeX project public license", sha256: "", pages: 9, size: 1000, mtime_ns: 0,
    status: "ready", error_kind: null, error: null, added_at: "", chunks: 30, embedded: true, ocr_pages: 0, uncertain_pages: 0,
  };

  it("says it is on a team library, where uploads go, and asks all its documents", () => {
    const { body } = render(LibraryPanel, { props: props({ team, documents: [doc, { ...doc, id: 8 }] }) });
    const shown = text(body);
    expect(body).toContain('data-testid="team-library"');
    expect(shown).toContain("Team library · http://127.0.0.1:8484");
    expect(shown).toContain("Uploads go to the collection “legal”.");
    // Questions go to all the documents of the user's collections: nothing to tick.
    expect(body).not.toContain('type="checkbox"');
    expect(shown).not.toContain("Ask only the selected documents");
    expect(body).not.toContain("team-error");
  });

  it("shows why the team library cannot be used, with the way back to this computer's library", () => {
    const teamError = { kind: "usage", message: "the server refused the token (unknown token): check the token in Settings → Team library" };
    const shown = text(render(LibraryPanel, { props: props({ team, teamError }) }).body);
    expect(shown).toContain("the server refused the token (unknown token)");
    expect(shown).toContain("Use this computer's library");
  });

  it("shows uploads waiting on and being read by the server", () => {
    let ingest = applyIngest(initialIngest(), { event: "planned", data: { files: 2, to_index: 2 } }, 0);
    ingest = applyIngest(ingest, { event: "queued", data: { path: "/p/a.pdf", job: 1 } }, 1);
    ingest = applyIngest(ingest, { event: "queued", data: { path: "/p/b.pdf", job: 2 } }, 2);
    ingest = applyIngest(ingest, { event: "running", data: { path: "/p/a.pdf", job: 1 } }, 3);
    const { body } = render(LibraryPanel, { props: props({ team, ingest }) });
    const shown = text(body);
    expect(shown).toContain("a.pdf being read on the server");
    expect(shown).toContain("b.pdf uploaded, waiting on the server");
    expect(body.match(/<progress/g)?.length).toBeGreaterThanOrEqual(2);
  });
});
