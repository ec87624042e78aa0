import { describe, expect, it } from "vitest";
import { applyFetchLine, SHOWN_LINES, startFetch } from "./fetch";

describe("fetching the models", () => {
  it("names the model being fetched, counts those ready and keeps the last lines", () => {
    let p = startFetch();
    p = applyFetchLine(p, "ok       embedding model multilingual-e5-small: /m/e5");
    expect(p).toMatchObject({ running: true, current: null, ready: 1 });
    p = applyFetchLine(p, "fetching answer model gemma-3-270m (quire-gemma) ...");
    expect(p.current).toBe("answer model gemma-3-270m");
    p = applyFetchLine(p, "ok       answer model gemma-3-270m: /m/gemma.gguf  ");
    expect(p).toMatchObject({ current: null, ready: 2 });
    expect(p.lines).toEqual([
      "ok       embedding model multilingual-e5-small: /m/e5",
      "fetching answer model gemma-3-270m (quire-gemma) ...",
      "ok       answer model gemma-3-270m: /m/gemma.gguf",
    ]);
    p = applyFetchLine(p, "MISSING  dictionary jieba: pip could not download");
    expect(p.ready).toBe(2);
    for (let i = 0; i < SHOWN_LINES + 3; i++) p = applyFetchLine(p, `line ${i}`);
    expect(p.lines).toHaveLength(SHOWN_LINES);
    expect(p.lines[SHOWN_LINES - 1]).toBe(`line ${SHOWN_LINES + 2}`);
  });
});
