import { describe, expect, it } from "vitest";
import { highlightSpans } from "./highlight";

describe("highlighting a cited passage", () => {
  it("marks the lines of the passage and nothing else", () => {
    const spans = ["Options", "Packages and classes can now declare options and", "1.2", "these can be specified by authors;", "Unrelated footer text"];
    const passage = "Packages and classes can now declare options and these can be specified by authors; for example";
    expect(highlightSpans(spans, passage)).toEqual([false, true, true, true, false]);
  });

  it("copes with ligatures and hyphenated line ends", () => {
    expect(highlightSpans(["the ﬁrst deﬁni-", "tion of margins"], "The first definition of margins")).toEqual([true, true]);
  });
});
