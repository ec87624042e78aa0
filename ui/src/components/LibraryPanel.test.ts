import { render } from "svelte/server";
import { describe, expect, it } from "vitest";
import { initialIngest } from "../lib/ingest";
import type { ModelSuggestion } from "../lib/types";
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
});
