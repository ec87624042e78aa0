import { render } from "svelte/server";
import { describe, expect, it } from "vitest";
import { foundModel } from "../lib/fixtures";
import type { Discovery } from "../lib/types";
import ModelsOnComputer from "./ModelsOnComputer.svelte";

const discovery: Discovery = {
  models: [
    foundModel(),
    foundModel({
      path: "/home/u/.ollama/models/blobs/sha256-aa",
      name: "gemma3:270m",
      source: "ollama",
      size_bytes: 253_113_024,
      quantisation: "Q4_K_M",
      context_length: 32768,
      chat_template: false,
    }),
    foundModel({
      path: "/home/u/.ollama/models/blobs/sha256-bb",
      name: "nomic-embed-text:latest",
      source: "ollama",
      kind: "embedding",
      answer_capable: false,
    }),
  ],
  skipped: [
    { path: "/home/u/Models/page.gguf", source: "folder", kind: "not_gguf", reason: "not a GGUF model: it is a web page" },
  ],
  searched: [],
};

const text = (html: string) => html.replace(/<!--[^>]*-->/g, "").replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
const rows = (html: string) => html.match(/<tr[\s\S]*?<\/tr>/g) ?? [];

describe("models on this computer", () => {
  it("lists each model with its app, size, quantisation, context and template, and offers it", () => {
    const { body } = render(ModelsOnComputer, {
      props: { discovery, loading: false, error: null, selected: "/home/u/.ollama/models/blobs/sha256-aa", onUse: () => {}, onSearch: () => {} },
    });
    const [, smol, gemma, embed] = rows(body).map(text);
    expect(smol).toContain("SmolLM2-135M-Instruct.Q4_1 LM Studio 98 MB Q4_1 8K yes Use");
    // The model in use says so instead of offering itself.
    expect(gemma).toContain("gemma3:270m Ollama 253 MB Q4_K_M 32K no in use");
    expect(rows(body)[3]).toMatch(/<button[^>]*disabled[^>]*>Use/);
    expect(embed).toContain("nomic-embed-text:latest");
    expect(text(body)).toContain("1 file skipped");
    expect(text(body)).toContain("/home/u/Models/page.gguf : not a GGUF model: it is a web page");
  });

  it("says when it is looking and when nothing was found", () => {
    const props = { error: null, selected: null, onUse: () => {}, onSearch: () => {} };
    const looking = render(ModelsOnComputer, { props: { ...props, discovery: null, loading: true } });
    expect(text(looking.body)).toContain("Looking for models");
    const none = render(ModelsOnComputer, {
      props: { ...props, discovery: { models: [], skipped: [], searched: [] }, loading: false },
    });
    expect(text(none.body)).toContain("No GGUF models found");
  });
});
