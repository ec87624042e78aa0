// The only module that talks to the desktop shell. Components call these functions, never
// `invoke` themselves.
import { Channel, invoke } from "@tauri-apps/api/core";
import type {
  AddUpdate,
  Answer,
  AppError,
  AskEvent,
  CancelTarget,
  Conversation,
  Discovery,
  Document,
  ErrorKind,
  FileOutcome,
  LibraryStatus,
  OcrLanguages,
  OcrLayer,
  Settings,
  StoredMessage,
} from "./types";

/** Any failure as `{kind, message}` (the shell's errors already are). */
export function toAppError(e: unknown): AppError {
  if (e && typeof e === "object" && "kind" in e && "message" in e) {
    return { kind: String(e.kind) as ErrorKind, message: String(e.message) };
  }
  return { kind: "internal", message: e instanceof Error ? e.message : String(e) };
}

export const status = () => invoke<LibraryStatus>("status");
export const listDocuments = () => invoke<Document[]>("list_documents");
export const removeDocument = (id: number) => invoke<void>("remove_document", { id });

/** Adds PDFs and folders (on a team library: uploads them to its collection and follows each
 * one's job); progress arrives through `onEvent` while it runs, ending with `done`. */
export function addDocuments(
  paths: string[],
  onEvent: (e: AddUpdate) => void,
): Promise<FileOutcome[]> {
  const channel = new Channel<AddUpdate>();
  channel.onmessage = onEvent;
  return invoke<FileOutcome[]>("add_documents", { paths, onEvent: channel });
}

export interface AskRequest {
  question: string;
  conversation: number | null;
  docs: number[];
}

/** Asks a question; the sources, then the answer's text pieces and citation markers (already
 * parsed by the engine), then the finished answer arrive through `onEvent`. */
export function ask(request: AskRequest, onEvent: (e: AskEvent) => void): Promise<Answer> {
  const channel = new Channel<AskEvent>();
  channel.onmessage = onEvent;
  return invoke<Answer>("ask", { request, onEvent: channel });
}

/** Stops the running ingestion or answer (what was done so far is kept). */
export const cancel = (what: CancelTarget) => invoke<void>("cancel", { what });

export const conversations = () => invoke<Conversation[]>("list_conversations");
export const conversationMessages = (id: number) =>
  invoke<StoredMessage[]>("conversation_messages", { id });
export const renameConversation = (id: number, title: string) =>
  invoke<void>("rename_conversation", { id, title });
export const deleteConversation = (id: number) => invoke<void>("delete_conversation", { id });

/** The GGUF models on this computer: in Quire's models folder, the other apps' stores (Ollama,
 * LM Studio, GPT4All, Jan) and `folders`. */
export const discoverModels = (modelsDir: string, folders: string[]) =>
  invoke<Discovery>("discover_models", { modelsDir, folders });

export const settings = () => invoke<Settings>("get_settings");
export const saveSettings = (value: Settings) => invoke<Settings>("save_settings", { value });
/** The OCR languages installed on this computer, and the default for UI language `locale`
 * (null: the system's). */
export const ocrLanguages = (locale: string | null) => invoke<OcrLanguages>("ocr_languages", { locale });

/** The bytes of a document in the library, for the PDF viewer. */
export const documentBytes = (id: number) => invoke<ArrayBuffer>("document_bytes", { id });
/** What OCR read on a page (its words' boxes), or null for a page with a text layer. */
export const pageOcr = (documentId: number, page: number) =>
  invoke<OcrLayer | null>("page_ocr", { documentId, page });

/** Fetches the default models into the models folder with Quire's verified fetch script (needs
 * the network once); each line it writes arrives through `onLine`. The library is then opened
 * again, so that `status` shows the models. */
export function fetchModels(onLine: (line: string) => void): Promise<void> {
  const channel = new Channel<string>();
  channel.onmessage = onLine;
  return invoke<void>("fetch_models", { onLine: channel });
}

/** The files and folders Quire was opened with and the window has not added yet (its command
 * line, and later launches' handed to this window). */
export const takeOpenedPaths = () => invoke<string[]>("take_opened_paths");
/** Sent when another launch handed files to this window. */
export const OPENED_EVENT = "opened-paths";
