import { describe, expect, it } from "vitest";
import { applyIngest, fileFraction, inProgress, initialIngest, ocrProgress, secondsLeft, storedDocument, visibleFiles } from "./ingest";
import type { AddEvent, AddUpdate } from "./types";

describe("ingestion progress", () => {
  it("follows each file from reading to a result, and keeps failures with their reason", () => {
    const events: [AddEvent, number][] = [
      [{ event: "planned", data: { files: 2, to_index: 2 } }, 0],
      [{ event: "reading", data: { path: "/a/good.pdf", pages_done: 5, pages_total: 10, ocr_page: 0, ocr_pages: 0 } }, 100],
      [{ event: "reading", data: { path: "/a/good.pdf", pages_done: 10, pages_total: 10, ocr_page: 0, ocr_pages: 0 } }, 200],
      [{ event: "embedding", data: { path: "/a/good.pdf", chunks_done: 20, chunks_total: 40 } }, 2100],
      [
        {
          event: "finished",
          data: {
            path: "/a/bad.pdf",
            status: "failed",
            document_id: null,
            pages: 0,
            chunks: 0,
            error_kind: "encrypted",
            error: "the PDF is encrypted",
            warning: null,
          },
        },
        2200,
      ],
    ];
    let state = initialIngest();
    for (const [e, t] of events) state = applyIngest(state, e, t);
    const good = state.byPath["/a/good.pdf"];
    expect(state.running).toBe(true);
    expect(state.order).toEqual(["/a/good.pdf", "/a/bad.pdf"]);
    expect(good.phase).toBe("embedding");
    expect(good.name).toBe("good.pdf");
    expect(fileFraction(good)).toBeCloseTo(0.6);
    expect(good.rate).toBeCloseTo(10);
    expect(secondsLeft(good)).toBeCloseTo(2);
    expect(state.byPath["/a/bad.pdf"].error).toBe("the PDF is encrypted");
    expect(state.failed).toBe(1);
    expect(visibleFiles(state).map((f) => f.name)).toEqual(["good.pdf", "bad.pdf"]);
    state = applyIngest(state, { event: "done", data: { seconds: 3, failed: 1 } }, 3000);
    expect(state.running).toBe(false);
    expect(state.seconds).toBe(3);
    // Once done, only the failures stay listed; the next batch starts a fresh list.
    expect(visibleFiles(state).map((f) => f.name)).toEqual(["bad.pdf"]);
    state = applyIngest(state, { event: "planned", data: { files: 1, to_index: 1 } }, 4000);
    expect(state.order).toEqual([]);
    expect(state.files).toBe(1);
    expect(state.failed).toBe(0);
  });

  it("keeps a file added only in part listed after the batch, with what was not read", () => {
    const partly: AddEvent = {
      event: "finished",
      data: {
        path: "/a/scan-fonts.pdf",
        status: "added",
        document_id: 4,
        pages: 3,
        chunks: 5,
        error_kind: null,
        error: null,
        warning: "900 of its characters could not be read",
      },
    };
    const whole: AddEvent = {
      event: "finished",
      data: { path: "/a/whole.pdf", status: "added", document_id: 5, pages: 1, chunks: 2, error_kind: null, error: null, warning: null },
    };
    let state = applyIngest(initialIngest(), { event: "planned", data: { files: 2, to_index: 2 } }, 0);
    state = applyIngest(state, partly, 10);
    state = applyIngest(state, whole, 20);
    state = applyIngest(state, { event: "done", data: { seconds: 1, failed: 0 } }, 30);
    expect(visibleFiles(state).map((f) => [f.name, f.warning])).toEqual([["scan-fonts.pdf", "900 of its characters could not be read"]]);
  });

  it("shows a stored file as added at once, then the vectors that follow with the time left", () => {
    const added: AddEvent = {
      event: "finished",
      data: { path: "/a/new.pdf", status: "added", document_id: 3, pages: 4, chunks: 30, error_kind: null, error: null, warning: null },
    };
    const events: [AddEvent, number][] = [
      [{ event: "planned", data: { files: 1, to_index: 1 } }, 0],
      [{ event: "reading", data: { path: "/a/new.pdf", pages_done: 4, pages_total: 4, ocr_page: 0, ocr_pages: 0 } }, 100],
      [added, 150],
      [{ event: "searchable", data: { documents: 1, chunks_waiting: 30, seconds: 0.2 } }, 200],
      [{ event: "embedding", data: { path: "/a/new.pdf", chunks_done: 16, chunks_total: 30 } }, 1200],
      [{ event: "vectors", data: { chunks_done: 16, chunks_total: 30, seconds_left: 90 } }, 1200],
    ];
    let state = initialIngest();
    for (const [e, t] of events) state = applyIngest(state, e, t);
    expect(state.searchableSeconds).toBeCloseTo(0.2);
    expect([state.vectorsDone, state.vectorsTotal, state.vectorsSecondsLeft]).toEqual([16, 30, 90]);
    expect(state.byPath["/a/new.pdf"].phase).toBe("embedding");
    state = applyIngest(state, { event: "embedding", data: { path: "/a/new.pdf", chunks_done: 30, chunks_total: 30 } }, 2000);
    // All its vectors made: it shows what the run reported for it again.
    expect(state.byPath["/a/new.pdf"].phase).toBe("added");
  });

  it("never changes the state it was given", () => {
    const before = initialIngest();
    applyIngest(before, { event: "reading", data: { path: "/x.pdf", pages_done: 1, pages_total: 2, ocr_page: 0, ocr_pages: 0 } }, 0);
    expect(before.order).toEqual([]);
  });

  it("says which scanned page OCR is reading, only while it reads", () => {
    let state = applyIngest(initialIngest(), { event: "planned", data: { files: 1, to_index: 1 } }, 0);
    const reading = (done: number, ocr: number) =>
      ({ event: "reading", data: { path: "/s.pdf", pages_done: done, pages_total: 8, ocr_page: ocr, ocr_pages: ocr ? 6 : 0 } }) as const;
    state = applyIngest(state, reading(2, 0), 10);
    expect(ocrProgress(state.byPath["/s.pdf"])).toBeNull();
    state = applyIngest(state, reading(2, 1), 20);
    expect(ocrProgress(state.byPath["/s.pdf"])).toEqual({ page: 1, pages: 6 });
    state = applyIngest(state, reading(5, 4), 30);
    expect(ocrProgress(state.byPath["/s.pdf"])).toEqual({ page: 4, pages: 6 });
    expect(fileFraction(state.byPath["/s.pdf"])).toBeCloseTo((0.2 * 5) / 8);
    state = applyIngest(state, { event: "embedding", data: { path: "/s.pdf", chunks_done: 0, chunks_total: 9 } }, 40);
    expect(ocrProgress(state.byPath["/s.pdf"])).toBeNull();
  });

  it("names the document a finished file was stored as, to open it, and nothing for a failure", () => {
    const finished = (status: "added" | "unchanged" | "failed", id: number | null): AddEvent => ({
      event: "finished",
      data: { path: "/a/x.pdf", status, document_id: id, pages: 1, chunks: 1, error_kind: null, error: null, warning: null },
    });
    expect(storedDocument(finished("added", 7))).toEqual({ documentId: 7, path: "/a/x.pdf" });
    expect(storedDocument(finished("unchanged", 3))).toEqual({ documentId: 3, path: "/a/x.pdf" });
    expect(storedDocument(finished("failed", null))).toBeNull();
    expect(storedDocument({ event: "planned", data: { files: 1, to_index: 1 } })).toBeNull();
  });

  it("follows uploads to a team library through their jobs: queued, running, then done or failed with the reason", () => {
    const outcome = (path: string, status: "added" | "failed", error: string | null): AddUpdate => ({
      event: "finished",
      data: { path, status, document_id: status === "added" ? 9 : null, pages: status === "added" ? 4 : 0, chunks: 12, error, error_kind: null, warning: null },
    });
    const events: [AddUpdate, number][] = [
      [{ event: "planned", data: { files: 2, to_index: 2 } }, 0],
      [{ event: "queued", data: { path: "/a/lppl.pdf", job: 1 } }, 100],
      [{ event: "queued", data: { path: "/a/notes.pdf", job: 2 } }, 150],
      [{ event: "running", data: { path: "/a/lppl.pdf", job: 1 } }, 400],
    ];
    let state = initialIngest();
    for (const [e, t] of events) state = applyIngest(state, e, t);
    expect(state.running).toBe(true);
    expect(state.order).toEqual(["/a/lppl.pdf", "/a/notes.pdf"]);
    expect(state.byPath["/a/lppl.pdf"].phase).toBe("running");
    expect(state.byPath["/a/notes.pdf"].phase).toBe("queued");
    expect(visibleFiles(state).every(inProgress)).toBe(true);
    state = applyIngest(state, outcome("/a/lppl.pdf", "added", null), 900);
    state = applyIngest(state, { event: "running", data: { path: "/a/notes.pdf", job: 2 } }, 950);
    state = applyIngest(state, outcome("/a/notes.pdf", "failed", "the file is not a PDF"), 1000);
    expect(state.byPath["/a/lppl.pdf"].phase).toBe("added");
    expect(inProgress(state.byPath["/a/lppl.pdf"])).toBe(false);
    // A failed job is never "added": it shows the server's reason.
    expect(state.byPath["/a/notes.pdf"].phase).toBe("failed");
    expect(state.byPath["/a/notes.pdf"].error).toBe("the file is not a PDF");
    state = applyIngest(state, { event: "done", data: { seconds: 1, failed: 1 } }, 1100);
    expect(state.finished).toBe(2);
    expect(state.failed).toBe(1);
    expect(visibleFiles(state).map((f) => f.name)).toEqual(["notes.pdf"]);
  });
});
