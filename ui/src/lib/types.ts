// Generated from the Rust types that cross the window's IPC (quire-engine and quire-app) by
// src-tauri/tests/types.rs; do not edit. After changing those types, run
// `QUIRE_UPDATE_TYPES=1 cargo test --release -p quire-app --test types`.

/**
 * What kind of failure an [`Error`] is: what front ends decide their advice and exit codes on.
 */
export type ErrorKind = "model_missing" | "model_invalid" | "device" | "usage" | "busy" | "model_mismatch" | "embedding" | "generation" | "empty_library" | "database" | "index" | "io" | "cancelled" | "internal";

export type AppError = { kind: ErrorKind, message: string, };

/**
 * Where a document stands.
 */
export type DocStatus = "indexing" | "ready" | "failed" | "interrupted";

/**
 * Why a file could not be read; each has one clear sentence for the user.
 */
export type FailureKind = "not_pdf" | "encrypted" | "damaged" | "no_text" | "timed_out" | "too_large" | "unreadable";

/**
 * A document as listed to the user.
 */
export type Document = { id: number, path: string, title: string, sha256: string, pages: number, size: number, mtime_ns: number, status: DocStatus, error_kind: FailureKind | null, error: string | null, added_at: string, chunks: number, 
/**
 * Every chunk's vector is saved: the document is found by meaning too, not only by words.
 * (Meaningful for ready documents.)
 */
embedded: boolean, 
/**
 * Pages whose text was read by OCR (scanned pages).
 */
ocr_pages: number, 
/**
 * Of those, the pages OCR was unsure of (mean word confidence under
 * [`crate::extract::ocr::LOW_CONFIDENCE`]): their text may be wrong in places.
 */
uncertain_pages: number, };

/**
 * What happened to one file in `add`.
 */
export type AddStatus = "added" | "unchanged" | "replaced" | "failed";

/**
 * One file's result. Never `added` for something that was not stored.
 */
export type FileOutcome = { path: string, status: AddStatus, document_id: number | null, pages: number, chunks: number, error: string | null, error_kind: FailureKind | null, 
/**
 * Added, but not all of it: what could not be read (characters of fonts without a
 * Unicode mapping), in one sentence.
 */
warning: string | null, };

/**
 * Progress of `add`, reported as it happens (from more than one thread).
 */
export type AddEvent = { "event": "planned", "data": { files: number, to_index: number, } } | { "event": "reading", "data": { path: string, pages_done: number, pages_total: number, ocr_page: number, ocr_pages: number, } } | { "event": "embedding", "data": { path: string, chunks_done: number, chunks_total: number, } } | { "event": "vectors", "data": { chunks_done: number, chunks_total: number, seconds_left: number | null, } } | { "event": "searchable", "data": { documents: number, chunks_waiting: number, seconds: number, } } | { "event": "finished", "data": FileOutcome } | { "event": "done", "data": { seconds: number, failed: number, } };

/**
 * Where an upload stands on the server, between the engine's `planned` and `finished` events
 * (the server says no more than this while it reads a file).
 */
export type JobEvent = { "event": "queued", "data": { path: string, job: number, } } | { "event": "running", "data": { path: string, job: number, } };

/**
 * What `add_documents` reports: the engine's progress, and on a team library where each
 * upload's job stands.
 */
export type AddUpdate = AddEvent | JobEvent;

/**
 * A passage as people see it: its document's title and path, where it sits (pages, and char
 * offsets into those pages' text, so that it can be highlighted), and its text. The one
 * description of a passage that search hits, sources and citations share.
 */
export type Passage = { title: string, path: string, page_start: number, page_end: number, 
/**
 * Offset (in chars, not UTF-16 units) of the first character in page `page_start`'s text.
 */
char_start: number, 
/**
 * Offset (in chars) one past the last character in page `page_end`'s text.
 */
char_end: number, text: string, 
/**
 * When some of its pages were read by OCR: the lowest confidence (0–100) of those pages.
 */
ocr_confidence: number | null, };

/**
 * A word read by OCR: its characters in the page's text (`start..end`, in chars) and its box
 * as fractions of the page's width and height, from the top left.
 */
export type WordBox = { start: number, end: number, x: number, y: number, w: number, h: number, };

/**
 * What OCR read on one page: the words' boxes (the text is the page's text) and how sure it
 * was, on average over the words (0–100).
 */
export type OcrLayer = { page: number, confidence: number, words: Array<WordBox>, };

/**
 * A source as the answer reports it: every source given to the model, cited or not.
 */
export type Citation = { n: number, 
/**
 * The answer refers to it.
 */
cited: boolean, 
/**
 * The reference was added by Quire (the model wrote a sentence from this source without
 * citing it), not by the model.
 */
attributed: boolean, 
/**
 * `None` once the chunk is gone (its document was removed or re-indexed).
 */
chunk_id: number | null, document_id: number | null, 
/**
 * Found by its words only: its vector was not made yet when the question was asked.
 */
by_words_only: boolean, title: string, path: string, page_start: number, page_end: number, 
/**
 * Offset (in chars, not UTF-16 units) of the first character in page `page_start`'s text.
 */
char_start: number, 
/**
 * Offset (in chars) one past the last character in page `page_end`'s text.
 */
char_end: number, text: string, 
/**
 * When some of its pages were read by OCR: the lowest confidence (0–100) of those pages.
 */
ocr_confidence: number | null, };

/**
 * A sentence from a source that supports the answer, located in its page's text (offsets in
 * chars of the page's cleaned text, as stored).
 */
export type Quote = { 
/**
 * The source it comes from.
 */
n: number, document_id: number | null, page: number, char_start: number, char_end: number, text: string, };

/**
 * A piece of an answer: plain text, or a citation of sources (numbered from 1).
 */
export type Segment = { "kind": "text", text: string, } | { "kind": "cite", sources: Array<number>, };

/**
 * Why generation ended.
 */
export type StopReason = "end_of_text" | "max_tokens" | "stop_sequence" | "cancelled" | "context_full" | "not_asked";

/**
 * How the prompt was put together (all zero when no model was asked).
 */
export type PromptReport = { context_tokens: number, 
/**
 * Room kept for the answer.
 */
answer_tokens: number, 
/**
 * Sources retrieved, and how many of them fit.
 */
sources_found: number, sources_given: number, history_messages: number, truncated: boolean, 
/**
 * Whether any source seemed to be about the question; when not, the model was told.
 */
relevant: boolean, 
/**
 * Each source was focused to about this many tokens (0: whole passages).
 */
passage_tokens: number, };

/**
 * What one generation cost.
 */
export type GenerationStats = { prompt_tokens: number, generated_tokens: number, 
/**
 * From the start of prompt processing to the first piece of text.
 */
time_to_first_token_ms: number, 
/**
 * Prompt processing and generation together.
 */
total_time_ms: number, 
/**
 * Generated tokens per second after the first one.
 */
tokens_per_second: number, stop: StopReason, };

/**
 * What an answer is, as the verifier and the coverage check decided.
 */
export type Outcome = "verified" | "from_documents" | "not_covered";

/**
 * How far a sentence of an answer is backed by the sources.
 */
export type Support = "supported" | "unsupported" | "no_claim";

/**
 * A sentence (or list item) of an answer as checked.
 */
export type AnswerSentence = { 
/**
 * The sentence as written, without citation markers. Starts with a line break when the
 * sentence starts a new line (list items, paragraphs).
 */
text: string, 
/**
 * The sources whose passages support it: its citations.
 */
sources: Array<number>, support: Support, 
/**
 * Sources the model cited for it that do not support it (not shown as citations).
 */
dropped: Array<number>, 
/**
 * Sources among `sources` that Quire found, where the model cited none or the wrong one.
 */
added: Array<number>, 
/**
 * Numbers, names and commands of the sentence that occur in no source.
 */
unknown: Array<string>, };

/**
 * Why part of the model's output was left out of the answer.
 */
export type OmitReason = "repeated" | "scaffolding" | "invented_list_item" | "hedge" | "fragment";

/**
 * Model output left out of the answer, kept so that it can be shown on request.
 */
export type Omission = { text: string, reason: OmitReason, };

/**
 * Whether the documents seem to answer the question, decided before any model is asked.
 */
export type Coverage = { 
/**
 * The closest in meaning (cosine) a sentence of the sources comes to the question.
 */
best_similarity: number, 
/**
 * The share of the question's content words that the sources hold.
 */
question_words_found: number, 
/**
 * Words of the question that occur nowhere in the documents asked.
 */
absent_terms: Array<string>, 
/**
 * Those of them that are names or identifiers (not ordinary words of the embedding
 * model's vocabulary), a name with a version the documents never write together ("Debian
 * 14"), or a file name with a part they never write as it is ("sysusers.d"): a question
 * about something the documents never name.
 */
unknown_terms: Array<string>, 
/**
 * The question asks for a figure and nothing else ("What is the maximum length of a package
 * name?", "How long does the review take?") and no source states one (a number with a
 * unit).
 */
missing_figure: boolean, covered: boolean, };

export type Answer = { conversation_id: number | null, message_id: number | null, question: string, 
/**
 * The query retrieval used (the question, with the previous one for follow-ups).
 */
query: string, 
/**
 * What the answer is: the model's checked answer, the documents' own sentences, or the
 * statement that the documents do not cover the question.
 */
outcome: Outcome, 
/**
 * The answer's text as shown: the model's sentences that were kept, with the citations
 * their sources support as `[n]` markers; or the not-covered statement.
 */
answer: string, 
/**
 * `text` split into plain text and citations of `citations`.
 */
segments: Array<Segment>, 
/**
 * The model's sentences as checked: supported ones with their sources, the others marked.
 */
sentences: Array<AnswerSentence>, 
/**
 * What the model wrote that was left out (repeats, prompt labels, invented list items).
 */
omitted: Array<Omission>, 
/**
 * The model's output exactly as it was written.
 */
raw: string, 
/**
 * Every source found, in prompt order; `cited` when a kept sentence cites it.
 */
citations: Array<Citation>, 
/**
 * The extractive answer: sentences of the sources, best first ("From your documents").
 */
quotes: Array<Quote>, coverage: Coverage, 
/**
 * The answer model's name (empty when none was asked).
 */
model: string, context_tokens: number, 
/**
 * Room kept for the answer.
 */
answer_tokens: number, 
/**
 * Sources retrieved, and how many of them fit.
 */
sources_found: number, sources_given: number, history_messages: number, truncated: boolean, 
/**
 * Whether any source seemed to be about the question; when not, the model was told.
 */
relevant: boolean, 
/**
 * Each source was focused to about this many tokens (0: whole passages).
 */
passage_tokens: number, prompt_tokens: number, generated_tokens: number, 
/**
 * From the start of prompt processing to the first piece of text.
 */
time_to_first_token_ms: number, 
/**
 * Prompt processing and generation together.
 */
total_time_ms: number, 
/**
 * Generated tokens per second after the first one.
 */
tokens_per_second: number, stop: StopReason, };

/**
 * What an answer reports while it is being made, in this order: the sources, the extractive
 * answer, the model's text and citation markers as they are written (not yet checked), then
 * the finished, checked answer.
 */
export type AskEvent = { "event": "sources", "data": Array<Citation> } | { "event": "quotes", "data": Array<Quote> } | { "event": "text", "data": string } | { "event": "cite", "data": Array<number> } | { "event": "done", "data": Answer };

export type Conversation = { id: number, title: string, created_at: string, updated_at: string, messages: number, };

export type Role = "system" | "user" | "assistant";

/**
 * An answer as checked, as stored with it.
 */
export type Checked = { outcome: Outcome, sentences: Array<AnswerSentence>, omitted: Array<Omission>, };

/**
 * A question or an answer as stored.
 */
export type StoredMessage = { id: number, role: Role, content: string, 
/**
 * The content split into text and citations of `citations` (see [`crate::markers`]).
 */
segments: Array<Segment>, 
/**
 * Why an answer ended ("end_of_text", "cancelled", …); `None` for questions.
 */
stop: string | null, created_at: string, citations: Array<Citation>, quotes: Array<Quote>, 
/**
 * The answer as checked; `None` for questions and for answers stored before Quire
 * checked answers.
 */
checked: Checked | null, };

/**
 * Whether a model can be used, without loading it.
 */
export type ModelStatus = { path: string, present: boolean, 
/**
 * Why it cannot be used, when it cannot.
 */
problem: string | null, };

/**
 * How many documents are in each state.
 */
export type DocumentCounts = { ready: number, indexing: number, failed: number, interrupted: number, 
/**
 * Ready documents searchable by words only so far: their vectors are being made.
 */
waiting_for_vectors: number, };

export type LibraryStatus = { library: string, models: string, embedding_model: ModelStatus, 
/**
 * The model that built the stored vectors.
 */
indexed_with: string | null, 
/**
 * The stored vectors come from another embedding model than the one chosen: the next add
 * (the window starts one at once) indexes the library again from its stored text.
 */
model_changed: boolean, answer_model: ModelStatus, 
/**
 * The device embedding runs on: the one in use once the model has loaded, the one found
 * by the check, or else the choice ("auto").
 */
device: string, device_warning: string | null, documents: DocumentCounts, chunks: number, 
/**
 * Chunks of ready documents still waiting for their vectors.
 */
chunks_waiting: number, vectors: number, keyword_rows: number, 
/**
 * False when another process holds the library for writing.
 */
writable: boolean, 
/**
 * A model of the models folder that suits the library's languages better than the one in
 * use, if any.
 */
suggestion: ModelSuggestion | null, 
/**
 * Whether database and vector index agree; `None` when not checked.
 */
consistent: boolean | null, 
/**
 * What the check found wrong (empty when consistent or not checked).
 */
problems: Array<string>, };

/**
 * An embedding model to suggest for a library mostly in Chinese, Japanese or Korean when the one
 * in use is English-only. Measured (`bench/multilingual.sh`): Chinese questions over the CTeX
 * manuals find the right page in the first five 0.98 of the time with multilingual-e5-small,
 * 0.87 with all-MiniLM-L6-v2, and its quotes in Chinese are the right sentences (MiniLM's
 * often are not); over English documents MiniLM stays better (see [`crate::glossary`]).
 */
export type ModelSuggestion = { 
/**
 * The model folder.
 */
path: string, name: string, 
/**
 * Share of the library's passages (a sample of up to 500) with Chinese, Japanese or Korean
 * text in them.
 */
cjk_share: number, 
/**
 * Passages the switch would index again.
 */
chunks: number, };

/**
 * Which compute device to use; written "auto", "cpu", "cuda" or "metal".
 */
export type DeviceChoice = "auto" | "cpu" | "cuda" | "metal";

/**
 * The number type of the CPU encoder's projections, written "f32" or "int8". f32 gives the
 * model's own vectors; int8 (weights quantised at load, activations per token) is about twice
 * as fast on CPUs with AVX-512 VNNI (more with AMX tiles) and gives vectors within cosine
 * ~0.99 of them (docs/benchmarks.md). On a GPU, and on CPUs without VNNI, int8 runs as f32 and
 * the backend description says why.
 */
export type EncoderPrecision = "f32" | "int8";

/**
 * The app a model was found in.
 */
export type ModelSource = "quire" | "ollama" | "lm_studio" | "gpt4all" | "jan" | "folder";

/**
 * What a model does, from its architecture.
 */
export type ModelKind = "text" | "embedding" | "projector" | "other";

/**
 * A GGUF model found on this computer, described from its header ([`FoundModel::answer_capable`]
 * says whether it can write answers).
 */
export type FoundModel = { 
/**
 * The file to give as the answer model (the first part, for a model split into parts).
 */
path: string, 
/**
 * The name the app shows it by (Ollama: `model:tag`; Jan: the model id; else the file
 * name without `.gguf`).
 */
name: string, source: ModelSource, 
/**
 * On disk, all parts together.
 */
size_bytes: number, 
/**
 * `general.architecture` ("llama", "gemma3", "qwen2", "bert"…).
 */
architecture: string | null, 
/**
 * The quantisation ("Q4_K_M", "Q8_0", "F16").
 */
quantisation: string | null, 
/**
 * Weights in all tensors.
 */
parameters: number | null, 
/**
 * The context the model was trained for, in tokens.
 */
context_length: number | null, 
/**
 * Whether the file carries a chat template (without one, Quire uses the architecture's
 * turn format).
 */
chat_template: boolean, kind: ModelKind, 
/**
 * Whether it can write answers (a text model).
 */
answer_capable: boolean, 
/**
 * Files the model is split into (1 for most).
 */
parts: number, };

/**
 * Why a file was passed over.
 */
export type SkipKind = "empty" | "not_gguf" | "unsupported" | "truncated" | "damaged" | "bad_manifest" | "missing" | "broken_link" | "unreadable" | "too_many_files";

/**
 * A file (or folder) that was passed over, with the reason in one sentence.
 */
export type SkippedFile = { path: string, source: ModelSource, kind: SkipKind, reason: string, };

/**
 * A place that was searched.
 */
export type SearchedFolder = { path: string, source: ModelSource, 
/**
 * Whether the folder exists.
 */
present: boolean, };

/**
 * Everything a search found, usable or not.
 */
export type Discovery = { 
/**
 * By app (Quire first), then by name (ignoring case).
 */
models: Array<FoundModel>, skipped: Array<SkippedFile>, searched: Array<SearchedFolder>, };

/**
 * A team library's server, the user's token there, and the collection their uploads go to.
 * The token is kept in the settings file, which only its owner may read (0600).
 */
export type TeamLibrary = { 
/**
 * `http://HOST:PORT` or `https://…`.
 */
url: string, token: string, 
/**
 * The collection uploads go to (one the user is a member of).
 */
collection: string, 
/**
 * Trust the certificates in this PEM file (the server's own authority's) instead of the
 * public ones.
 */
ca_cert: string | null, };

/**
 * Field names as everywhere in the contract (snake_case); files saved by earlier versions,
 * in camelCase, still read (see [`Settings::read`]).
 */
export type Settings = { library_dir: string, models_dir: string, 
/**
 * A GGUF file; `None`: the default one in the models folder.
 */
answer_model: string | null, 
/**
 * A BERT-family model folder; `None`: the default one in the models folder.
 */
embedding_model: string | null, device: DeviceChoice, 
/**
 * Number type of CPU embedding: f32, or int8 (about twice as fast, vectors within cosine
 * 0.99 of f32's; needs AVX-512 VNNI, else runs as f32).
 */
embedding_precision: EncoderPrecision, 
/**
 * Sources per answer.
 */
k: number, 
/**
 * Target chunk length in tokens.
 */
chunk_tokens: number, 
/**
 * `None`: follow the system language.
 */
locale: string | null, 
/**
 * Folders of GGUF files to search besides the other apps' (Settings, "Models on this
 * computer").
 */
model_folders: string[], 
/**
 * Tesseract languages that read pages without a text layer (scans), tried together
 * (`["eng", "chi_sim"]`); `None`: English plus the UI language's where installed; empty:
 * OCR off (scanned pages are then added without text).
 */
ocr_languages: Array<string> | null, 
/**
 * A team library (`quire serve`) the window uses instead of this computer's library;
 * `None`: this computer's.
 */
team_library: TeamLibrary | null, };

/**
 * The OCR languages Settings offers: those installed, and what `None` (the default) means for
 * the form's UI language.
 */
export type OcrLanguages = { 
/**
 * Tesseract language data on this computer (`eng`, `chi_sim`), sorted.
 */
installed: Array<string>, 
/**
 * The languages used when none are chosen.
 */
default: Array<string>, };

/**
 * What `cancel` stops.
 */
export type CancelTarget = "ingest" | "answer";
