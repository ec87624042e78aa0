import { render } from "svelte/server";
import { describe, expect, it } from "vitest";
import ModelsMissing from "./ModelsMissing.svelte";

const text = (html: string) => html.replace(/<!--[^>]*-->/g, "").replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");

describe("models missing", () => {
  it("names the missing files and the three ways to get models, none a command to type", () => {
    const { body } = render(ModelsMissing, {
      props: { missing: ["/m/gemma-3-270m-q4_k_m.gguf"], onChoose: () => {}, onFetched: () => {} },
    });
    const shown = text(body);
    expect(shown).toContain("/m/gemma-3-270m-q4_k_m.gguf");
    expect(shown).toContain("quire-models package");
    expect(shown).toContain("Fetch the default models (needs the network once)");
    expect(shown).toContain("Choose model files…");
    expect(shown).not.toContain("fetch.py");
    expect(body).toMatch(/<button[^>]*title="Downloads Quire's default models once/);
  });
});
