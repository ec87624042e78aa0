// DRAFT (hand-written until src-tauri/tests/types.rs generates it): the Rust types that cross
// the window's IPC, field names in snake_case as the engine serialises them.

export type ErrorKind = "model_missing" | "model_invalid" | "device" | "usage" | "busy" | "model_mismatch" | "embedding" | "generation" | "empty_library" | "database" | "index" | "io" | "cancelled" | "internal";

export type AppError = { kind: ErrorKind; message: string };

export type DocStatus = "indexing" | "ready" | "failed" | "interrupted";

export type FailureKind = "not_pdf" | "encrypted" | "damaged" | "no_text" | "timed_out" | "too_large" | "unreadable";

export type Document = { id: number; path: string; title: string; sha256: string; pages: number; size: number; mtime_ns: number; status: DocStatus; error_kind: FailureKind | null; error: string | null; added_at: string; chunks: number };

export type AddStatus = "added" | "unchanged" | "replaced" | "failed";

export type FileOutcome = { path: string; status: AddStatus; document_id: number | null; pages: number; chunks: number; error: string | null; error_kind: FailureKind | null };

export type AddEvent =
  | { event: "planned"; data: { files: number; to_index: number } }
  | { event: "reading"; data: { path: string; pages_done: number; pages_total: number } }
  | { event: "embedding"; data: { path: string; chunks_done: number; chunks_total: number } }
  | { event: "finished"; data: FileOutcome }
  | { event: "done"; data: { seconds: number; failed: number } };

/** Offsets are in chars (Unicode scalar values), not UTF-16 units. */
export type Passage = { title: string; path: string; page_start: number; page_end: number; char_start: number; char_end: number; text: string };

export type Citation = { n: number; cited: boolean; attributed: boolean; chunk_id: number | null; document_id: number | null } & Passage;

export type Quote = { n: number; document_id: number | null; page: number; char_start: number; char_end: number; text: string };

export type Segment = { kind: "text"; text: string } | { kind: "cite"; sources: Array<number> };

export type StopReason = "end_of_text" | "max_tokens" | "stop_sequence" | "cancelled" | "context_full";

export type Answer = { conversation_id: number | null; message_id: number | null; question: string; query: string; answer: string; segments: Array<Segment>; citations: Array<Citation>; quotes: Array<Quote>; context_tokens: number; answer_tokens: number; sources_found: number; sources_given: number; history_messages: number; truncated: boolean; relevant: boolean; passage_tokens: number; prompt_tokens: number; generated_tokens: number; time_to_first_token_ms: number; total_time_ms: number; tokens_per_second: number; stop: StopReason; model: string };

export type AskEvent =
  | { event: "sources"; data: Array<Citation> }
  | { event: "text"; data: string }
  | { event: "cite"; data: Array<number> }
  | { event: "done"; data: Answer };

export type Conversation = { id: number; title: string; created_at: string; updated_at: string; messages: number };

export type Role = "system" | "user" | "assistant";

export type StoredMessage = { id: number; role: Role; content: string; segments: Array<Segment>; stop: string | null; created_at: string; citations: Array<Citation>; quotes: Array<Quote> };

export type ModelStatus = { path: string; present: boolean; problem: string | null };

export type DocumentCounts = { ready: number; indexing: number; failed: number; interrupted: number };

export type LibraryStatus = { library: string; models: string; embedding_model: ModelStatus; indexed_with: string | null; answer_model: ModelStatus; device: string; device_warning: string | null; documents: DocumentCounts; chunks: number; vectors: number; keyword_rows: number; writable: boolean; consistent: boolean | null; problems: Array<string> };

export type DeviceChoice = "auto" | "cpu" | "cuda" | "metal";

export type Settings = { library_dir: string; models_dir: string; answer_model: string | null; embedding_model: string | null; device: DeviceChoice; k: number; chunk_tokens: number; locale: string | null };

export type CancelTarget = "ingest" | "answer";
