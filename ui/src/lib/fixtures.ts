// Test data shared by the UI's unit tests.
import type { Answer, AnswerSentence, Citation, FoundModel, Quote, StoredMessage } from "./types";

/** A citation of source `n`, on page `page` (default: page n). */
export function citation(n: number, page = n): Citation {
  return {
    n,
    cited: true,
    by_words_only: false,
    attributed: false,
    chunk_id: n * 10,
    document_id: 1,
    title: `Doc ${n}`,
    path: `/d/${n}.pdf`,
    page_start: page,
    page_end: page,
    char_start: 0,
    char_end: 5,
    text: `passage ${n}`,
    ocr_confidence: null,
  };
}

/** A sentence of source `n`'s passage, from the extractive answer. */
export function quote(n: number, text = `Quoted from ${n}.`): Quote {
  return { n, document_id: 1, page: n, char_start: 0, char_end: text.length, text };
}

/** A checked sentence: supported by `sources`, or unsupported (with its unknown terms). */
export function sentence(text: string, sources: number[], unknown: string[] = []): AnswerSentence {
  return {
    text,
    sources,
    support: sources.length > 0 ? "supported" : "unsupported",
    dropped: [],
    added: [],
    unknown,
  };
}

/** A finished answer; the fields the window does not read are statistics. */
export function answer(over: Partial<Answer>): Answer {
  return {
    conversation_id: 1,
    message_id: 2,
    question: "q",
    query: "q",
    outcome: "verified",
    answer: "",
    segments: [],
    sentences: [],
    omitted: [],
    raw: "",
    citations: [],
    quotes: [],
    coverage: { best_similarity: 0.7, question_words_found: 1, absent_terms: [], unknown_terms: [], missing_figure: false, covered: true },
    model: "m",
    stop: "end_of_text",
    ...over,
  } as Answer;
}

/** A stored answer; `checked: null` is one stored before Quire checked answers. */
export function stored(over: Partial<StoredMessage>): StoredMessage {
  return {
    id: 2,
    role: "assistant",
    content: "",
    segments: [],
    stop: "end_of_text",
    created_at: "2026-01-01 00:00:00",
    citations: [],
    quotes: [],
    checked: null,
    ...over,
  };
}

/** A model found on this computer: SmolLM2 as LM Studio keeps it, unless `over` says otherwise. */
export function foundModel(over: Partial<FoundModel> = {}): FoundModel {
  return {
    path: "/home/u/.lmstudio/models/HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct.Q4_1.gguf",
    name: "SmolLM2-135M-Instruct.Q4_1",
    source: "lm_studio",
    size_bytes: 98_362_432,
    architecture: "llama",
    quantisation: "Q4_1",
    parameters: 134_515_008,
    context_length: 8192,
    chat_template: true,
    kind: "text",
    answer_capable: true,
    parts: 1,
    ...over,
  };
}
