// The shapes the desktop shell (src-tauri) sends and receives. Field names follow the Rust
// side's serde output (camelCase); streamed events are tagged `{ event, data }`.

export interface AppError {
  /** empty_library, model_missing, model_invalid, busy, usage, cancelled, internal, … */
  kind: string;
  message: string;
}

export type DocStatus = "indexing" | "ready" | "failed" | "interrupted";

export interface DocumentInfo {
  id: number;
  path: string;
  title: string;
  pages: number;
  chunks: number;
  status: DocStatus;
  errorKind: string | null;
  error: string | null;
  addedAt: string;
}

/** Ingestion progress, one event at a time through a Tauri channel. */
export type IngestEvent =
  | { event: "planned"; data: { files: number; toIndex: number } }
  | { event: "reading"; data: { path: string; pagesDone: number; pagesTotal: number } }
  | { event: "embedding"; data: { path: string; chunksDone: number; chunksTotal: number } }
  | { event: "finished"; data: FileOutcome }
  | { event: "done"; data: { seconds: number; failed: number } };

export interface FileOutcome {
  path: string;
  status: "added" | "replaced" | "unchanged" | "failed";
  documentId: number | null;
  pages: number;
  chunks: number;
  errorKind: string | null;
  error: string | null;
}

export interface Citation {
  n: number;
  cited: boolean;
  /** Quire matched the sentence to this source; the model did not cite it itself. */
  attributed: boolean;
  chunkId: number | null;
  documentId: number | null;
  title: string;
  path: string;
  pageStart: number;
  pageEnd: number;
  /** Offsets in Unicode scalar values (not UTF-16) of the page texts. */
  charStart: number;
  charEnd: number;
  text: string;
}

export interface Quote {
  n: number;
  documentId: number | null;
  page: number;
  charStart: number;
  charEnd: number;
  text: string;
}

/** An answer as it is written: sources first, then text pieces, then the finished answer. */
export type AnswerEvent =
  | { event: "sources"; data: Citation[] }
  | { event: "text"; data: string }
  | { event: "done"; data: Answer };

export interface Answer {
  conversationId: number | null;
  messageId: number | null;
  text: string;
  citations: Citation[];
  quotes: Quote[];
  stop: string;
  relevant: boolean;
}

export interface Conversation {
  id: number;
  title: string;
  createdAt: string;
  updatedAt: string;
  messages: number;
}

export interface StoredMessage {
  id: number;
  role: "user" | "assistant";
  content: string;
  stop: string | null;
  createdAt: string;
  citations: Citation[];
  quotes: Quote[];
}

export interface ModelState {
  path: string;
  present: boolean;
  problem: string | null;
}

export interface LibraryStatus {
  libraryDir: string;
  modelsDir: string;
  embeddingModel: ModelState;
  answerModel: ModelState;
  device: string;
  deviceWarning: string | null;
  documents: number;
  chunks: number;
  problems: string[];
}

export interface Settings {
  libraryDir: string;
  modelsDir: string;
  /** A GGUF file; null: the default in the models folder. */
  answerModel: string | null;
  /** A BERT-family model folder; null: the default in the models folder. */
  embeddingModel: string | null;
  /** auto | cpu | cuda | metal */
  device: string;
  /** Sources per answer. */
  k: number;
  /** Target chunk length in tokens. */
  chunkTokens: number;
  /** null: follow the system language. */
  locale: string | null;
}
