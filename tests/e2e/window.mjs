// What the end-to-end tests read from the window and do to it, shared by the test files.

import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** A screenshot of the window, saved as `name` in `dir`. */
export async function shot(driver, dir, name) {
  const png = await driver.screenshot();
  writeFileSync(join(dir, name), png);
  console.log(`# screenshot ${name} (${png.length} bytes)`);
}

/** What the window shows, read in one round trip. */
export function view(driver) {
  return driver.run(`
    const q = (s) => Array.from(document.querySelectorAll(s));
    const assistant = q("article.assistant");
    const last = assistant[assistant.length - 1];
    return {
      documents: q(".library .documents li").map((li) => ({
        name: li.querySelector(".name")?.textContent ?? "",
        status: li.className.split(" ").find((c) => ["ready", "failed", "indexing", "interrupted"].includes(c)) ?? "",
      })),
      progress: q(".library .progress li").map((li) => ({
        name: li.querySelector(".name")?.textContent ?? "",
        failed: li.querySelector(".error")?.textContent ?? null,
        bar: li.querySelector("progress") !== null,
      })),
      ingesting: document.querySelector(".library button.cancel") !== null,
      empty: document.querySelector(".empty-state")?.textContent ?? null,
      answer: last ? last.querySelector(".answer")?.textContent ?? "" : null,
      streaming: last ? last.querySelector(".cursor") !== null : false,
      chips: last ? last.querySelectorAll("button.chip").length : 0,
      outcome: last?.dataset.outcome ?? null,
      fromDocuments: last ? last.querySelectorAll("[data-testid=quotes] blockquote").length : 0,
      quoteChips: last ? last.querySelectorAll("[data-testid=quotes] button.chip").length : 0,
      quoteChipList: last ? Array.from(last.querySelectorAll("[data-testid=quotes] button.chip")).map((b) => ({
        page: b.dataset.page,
        text: b.textContent,
      })) : [],
      draft: last?.querySelector("[data-testid=draft] .answer")?.textContent ?? null,
      draftChips: last ? last.querySelectorAll("[data-testid=draft] button, [data-testid=draft] .chip").length : 0,
      sentences: last ? Array.from(last.querySelectorAll(".sentence")).map((s) => ({
        support: s.dataset.support,
        text: s.querySelector(".text")?.textContent ?? "",
      })) : [],
      sentenceChips: last ? Array.from(last.querySelectorAll(".sentence button.chip")).map((b) => ({
        n: Number(b.dataset.n),
        page: b.dataset.page,
        sentence: b.closest(".sentence").querySelector(".text").textContent,
        passage: b.dataset.passage ?? "",
      })) : [],
      conversations: q(".conversations li .title").map((b) => b.textContent),
      messages: q(".messages article").length,
      viewerPage: document.querySelector("[data-testid=viewer-page]")?.textContent ?? null,
      highlighted: q(".viewer .textLayer span.cited").length,
    };`);
}

/** A drop of files on the window, as the OS delivers it to the webview (Tauri's drag-drop event). */
export function drop(driver, paths) {
  return driver.runAsync(
    `const [paths, done] = arguments;
     window.__TAURI_INTERNALS__.invoke("plugin:event|emit_to", {
       target: { kind: "Webview", label: "main" },
       event: "tauri://drag-drop",
       payload: { paths, position: { x: 600, y: 400 } },
     }).then(() => done(true), (e) => done(String(e)));`,
    paths,
  );
}
