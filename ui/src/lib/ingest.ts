// Per-file ingestion progress, folded from the shell's stream of events (the engine's, and on a
// team library where each upload's job stands on the server).
import type { AddUpdate, FailureKind, FileOutcome } from "./types";

/** `queued` and `running`: uploaded to a team library, waiting for or being read by its server
 * (which says no more than that until the file is finished). */
export type FilePhase = "queued" | "running" | "reading" | "embedding" | "added" | "replaced" | "unchanged" | "failed";

export interface FileProgress {
  path: string;
  name: string;
  phase: FilePhase;
  pagesDone: number;
  pagesTotal: number;
  /** Of the pages without text, the one OCR is reading (`ocrPage` of `ocrPages`; 0 of 0 when
   * none need it). */
  ocrPage: number;
  ocrPages: number;
  chunksDone: number;
  chunksTotal: number;
  /** Chunks per second while embedding this file. */
  rate: number;
  error: string | null;
  errorKind: FailureKind | null;
  /** Added, but not all of it (characters its fonts do not map), in the engine's words. */
  warning: string | null;
  startedMs: number;
  /** What the run reported for the file once it was stored (searchable by words). */
  outcome: FilePhase | null;
}

export interface IngestState {
  running: boolean;
  files: number;
  toIndex: number;
  finished: number;
  failed: number;
  byPath: Record<string, FileProgress>;
  order: string[];
  /** Seconds the last finished batch took (null while running or before any). */
  seconds: number | null;
  /** Seconds until the batch was searchable by words (null until it is). */
  searchableSeconds: number | null;
  /** Vectors made of those waiting, over all documents, and the time left (null: unknown). */
  vectorsDone: number;
  vectorsTotal: number;
  vectorsSecondsLeft: number | null;
}

export function initialIngest(): IngestState {
  return {
    running: false,
    files: 0,
    toIndex: 0,
    finished: 0,
    failed: 0,
    byPath: {},
    order: [],
    seconds: null,
    searchableSeconds: null,
    vectorsDone: 0,
    vectorsTotal: 0,
    vectorsSecondsLeft: null,
  };
}

export function fileName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

function file(state: IngestState, path: string, now: number): FileProgress {
  let f = state.byPath[path];
  if (!f) {
    f = {
      path,
      name: fileName(path),
      phase: "reading",
      pagesDone: 0,
      pagesTotal: 0,
      ocrPage: 0,
      ocrPages: 0,
      chunksDone: 0,
      chunksTotal: 0,
      rate: 0,
      error: null,
      warning: null,
      errorKind: null,
      startedMs: now,
      outcome: null,
    };
    state.byPath[path] = f;
    state.order.push(path);
  }
  return f;
}

/** The state after `event` (a new object; `now` in milliseconds). */
export function applyIngest(prev: IngestState, event: AddUpdate, now: number): IngestState {
  // A new batch after a finished one starts a fresh list.
  if (event.event === "planned" && !prev.running) prev = initialIngest();
  const state: IngestState = {
    ...prev,
    byPath: { ...prev.byPath },
    order: [...prev.order],
  };
  const copy = (path: string) => {
    const f = { ...file(state, path, now) };
    state.byPath[path] = f;
    return f;
  };
  switch (event.event) {
    case "planned":
      state.running = true;
      state.files += event.data.files;
      state.toIndex += event.data.to_index;
      break;
    case "queued": {
      const f = copy(event.data.path);
      f.phase = "queued";
      break;
    }
    case "running": {
      const f = copy(event.data.path);
      f.phase = "running";
      f.startedMs = now;
      break;
    }
    case "reading": {
      const f = copy(event.data.path);
      f.phase = "reading";
      f.pagesDone = event.data.pages_done;
      f.pagesTotal = event.data.pages_total;
      f.ocrPage = event.data.ocr_page;
      f.ocrPages = event.data.ocr_pages;
      break;
    }
    case "embedding": {
      // Vectors come after a file is stored (searchable by words); once they are all made it
      // shows its outcome again.
      const f = copy(event.data.path);
      const whole = event.data.chunks_done >= event.data.chunks_total;
      f.phase = whole && f.outcome ? f.outcome : "embedding";
      f.chunksDone = event.data.chunks_done;
      f.chunksTotal = event.data.chunks_total;
      const seconds = (now - f.startedMs) / 1000;
      f.rate = seconds > 0 ? f.chunksDone / seconds : 0;
      break;
    }
    case "vectors":
      state.vectorsDone = event.data.chunks_done;
      state.vectorsTotal = event.data.chunks_total;
      state.vectorsSecondsLeft = event.data.seconds_left;
      break;
    case "searchable":
      state.searchableSeconds = event.data.seconds;
      break;
    case "finished":
      finish(copy(event.data.path), event.data);
      state.finished += 1;
      if (event.data.status === "failed") state.failed += 1;
      break;
    case "done":
      state.running = false;
      state.seconds = event.data.seconds;
      break;
  }
  return state;
}

function finish(f: FileProgress, outcome: FileOutcome) {
  f.phase = outcome.status;
  f.outcome = outcome.status;
  f.pagesTotal = outcome.pages;
  f.pagesDone = outcome.pages;
  f.chunksTotal = Number(outcome.chunks);
  f.chunksDone = Number(outcome.chunks);
  f.error = outcome.error;
  f.errorKind = outcome.error_kind;
  f.warning = outcome.warning;
}

/** Whether a file is still being worked on (here, or on a team library's server). */
export function inProgress(f: FileProgress): boolean {
  return f.phase === "queued" || f.phase === "running" || f.phase === "reading" || f.phase === "embedding";
}

/** Fraction done of one file: reading counts for a fifth, embedding for the rest. */
export function fileFraction(f: FileProgress): number {
  if (f.phase !== "reading" && f.phase !== "embedding") return 1;
  const read = f.pagesTotal > 0 ? f.pagesDone / f.pagesTotal : 0;
  const embedded = f.chunksTotal > 0 ? f.chunksDone / f.chunksTotal : 0;
  return f.phase === "reading" ? 0.2 * read : 0.2 + 0.8 * embedded;
}

/** The scanned page being read by OCR, while it is: "OCR page i of n" (null otherwise). */
export function ocrProgress(f: FileProgress): { page: number; pages: number } | null {
  return f.phase === "reading" && f.ocrPages > 0 && f.ocrPage > 0 ? { page: f.ocrPage, pages: f.ocrPages } : null;
}

/** Seconds left for a file being embedded, or null when unknown. */
export function secondsLeft(f: FileProgress): number | null {
  if (f.phase !== "embedding" || f.rate <= 0) return null;
  return Math.max(0, (f.chunksTotal - f.chunksDone) / f.rate);
}

/** The rows to list: every file while a batch runs; afterwards only the ones that failed or
 * were added only in part. */
export function visibleFiles(state: IngestState): FileProgress[] {
  const all = state.order.map((p) => state.byPath[p]);
  return state.running ? all : all.filter((f) => f.phase === "failed" || f.warning !== null);
}

/** The document a `finished` event stored (added, replaced, or already there unchanged), to
 * open it; null for other events and failed files. */
export function storedDocument(event: AddUpdate): { documentId: number; path: string } | null {
  if (event.event !== "finished" || event.data.status === "failed" || event.data.document_id === null) return null;
  return { documentId: event.data.document_id, path: event.data.path };
}
