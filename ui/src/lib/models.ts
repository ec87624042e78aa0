// How the models found on this computer read in the window: sizes, context lengths, app names.
import type { ModelSource } from "./types";

/** Bytes as people read them: "98 MB", "4.7 GB". */
export function formatSize(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  return `${Math.max(1, Math.round(bytes / 1e6))} MB`;
}

/** A context length in tokens as model pages write it: 8192 → "8K", 32768 → "32K". */
export function formatContext(tokens: number | null): string {
  if (tokens === null) return "—";
  return tokens >= 1024 && tokens % 1024 === 0 ? `${tokens / 1024}K` : String(tokens);
}

/** The app's name (a folder the user added is named by the caller, in the UI language). */
export function appName(source: ModelSource, folder: string): string {
  const names: Record<ModelSource, string> = {
    quire: "Quire",
    ollama: "Ollama",
    lm_studio: "LM Studio",
    gpt4all: "GPT4All",
    jan: "Jan",
    folder,
  };
  return names[source];
}
