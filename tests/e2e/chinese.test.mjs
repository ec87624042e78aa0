// End to end, in Chinese: the window set to Chinese; the embedding model switched in Settings to
// multilingual-e5-small, which indexes the library the earlier tests filled with English manuals
// again, with progress, from its stored text; a real Chinese PDF (the CTeX FAQ of Debian's
// texlive-lang-chinese, unpacked by scripts/zh-manuals.sh) dropped; a Chinese question asked
// (bench/retrieval/zh_zh.json, 3105); and a chip of the answer that opens the FAQ on the page
// that answers it, the passage highlighted. Run by scripts/e2e.sh after app.test.mjs, with the
// same environment and library.

import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Keys, WebDriver } from "./webdriver.mjs";
import { drop, shot, view } from "./window.mjs";

const app = process.env.QUIRE_APP;
const shots = process.env.QUIRE_E2E_SCREENSHOTS;
const settings = process.env.QUIRE_SETTINGS;
assert.ok(app && shots && settings, "run through scripts/e2e.sh");
const zh = process.env.QUIRE_E2E_ZH_PDFS ?? join(process.env.QUIRE_CACHE ?? join(homedir(), ".cache/quire"), "zh-pdfs");
const faq = join(zh, "ctex-faq.pdf");
const question = "想让公式编号带上节号，变成 (1.1)、(2.1)，而且每节自动从 1 开始，怎么写？";
const evidencePage = "18";

const driver = new WebDriver(process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4444");

before(async () => {
  assert.ok(existsSync(faq), `${faq} is missing: run bash scripts/zh-manuals.sh`);
  // The window in Chinese, whatever the system's language; the other settings as they are.
  const saved = existsSync(settings) ? JSON.parse(readFileSync(settings, "utf8")) : {};
  writeFileSync(settings, JSON.stringify({ ...saved, locale: "zh-CN" }));
  await driver.start(app);
});

after(async () => {
  await driver.quit().catch(() => {});
});

test("a Chinese PDF, a Chinese question, a chip that opens the cited page highlighted", async (t) => {
  let before;
  await t.test("the window speaks Chinese; switching to the multilingual model indexes the library again", async () => {
    before = await driver.until("the window with its library", 60, async () => {
      const v = await view(driver);
      return v.documents.length > 0 ? v : null;
    });
    const labels = await driver.run(`return Array.from(document.querySelectorAll("button")).map((b) => b.textContent.trim())`);
    assert.ok(labels.includes("设置"), `the window is in Chinese: ${JSON.stringify(labels)}`);
    const clicked = await driver.run(`
      const byText = (t) => Array.from(document.querySelectorAll("button")).find((b) => b.textContent.trim() === t);
      byText("设置").click();
      return true;`);
    assert.ok(clicked);
    await driver.until("Settings with the multilingual button", 30, () =>
      driver.run(`return Array.from(document.querySelectorAll(".settings button")).some((b) => b.textContent.trim() === "使用 multilingual-e5-small")`),
    );
    await driver.run(`
      const byText = (t) => Array.from(document.querySelectorAll(".settings button")).find((b) => b.textContent.trim() === t);
      byText("使用 multilingual-e5-small").click();`);
    await new Promise((r) => setTimeout(r, 200));
    await driver.run(`document.querySelector(".settings button[type=submit]").click()`);
    // The library is indexed again with the new model: progress shows, then every document is
    // ready again, and no passage waits for its vector.
    const samples = [];
    const done = await driver.until("the library indexed again", 600, async () => {
      const v = await view(driver);
      const bar = await driver.run(`return document.querySelector(".library progress.vectors")?.value ?? null`);
      samples.push({ ...v, bar });
      if (bar !== null && samples.filter((s) => s.bar !== null).length === 1) await shot(driver, shots, "chinese-reindexing.png");
      return samples.some((s) => s.ingesting) && !v.ingesting ? v : null;
    }, 200);
    const bars = samples.map((s) => s.bar).filter((b) => b !== null);
    console.log(`# ${samples.length} samples, ${samples.filter((s) => s.ingesting).length} while indexing; vector bar values ${JSON.stringify(bars.slice(0, 3))} … ${JSON.stringify(bars.slice(-3))}`);
    assert.ok(bars.length > 0, "the progress of the vectors showed while the library was indexed again");
    await shot(driver, shots, "chinese-reindexed.png");
    assert.equal(done.documents.filter((d) => d.status === "ready").length, before.documents.filter((d) => d.status === "ready").length);
    const saved = JSON.parse(readFileSync(settings, "utf8"));
    assert.match(saved.embedding_model ?? "", /multilingual-e5-small$/);
    const status = await driver.runAsync(`const done = arguments[0];
      window.__TAURI_INTERNALS__.invoke("status").then(done, (e) => done(String(e)));`);
    console.log(`# after the switch: ${JSON.stringify({ indexed_with: status.indexed_with, chunks: status.chunks, vectors: status.vectors, waiting: status.chunks_waiting })}`);
    assert.match(status.indexed_with ?? "", /^multilingual-e5-small@/);
    assert.equal(status.model_changed, false);
    assert.equal(status.chunks_waiting, 0);
    assert.equal(status.vectors, status.chunks);
  });

  await t.test("the CTeX FAQ is added", async () => {
    const accepted = await drop(driver, [faq]);
    assert.equal(accepted, true, `the drop event was refused: ${accepted}`);
    const v = await driver.until("the FAQ to be added", 600, async () => {
      const v = await view(driver);
      return !v.ingesting && v.documents.length > before.documents.length ? v : null;
    }, 500);
    const added = v.documents.filter((d) => !before.documents.some((b) => b.name === d.name));
    assert.equal(added.length, 1, JSON.stringify(v.documents));
    assert.equal(added[0].status, "ready", JSON.stringify(added));
    console.log(`# added: ${added[0].name}`);
  });

  await t.test("a Chinese question gets a chip on the FAQ's page that answers it", async () => {
    const [box] = await driver.findAll(".chat textarea");
    await driver.type(box, question + Keys.Enter);
    const v = await driver.until("the answer to finish", 480, async () => {
      const v = await view(driver);
      return !v.streaming && v.outcome !== null && v.messages > 0 ? v : null;
    }, 100);
    console.log(`# outcome: ${v.outcome}; answer: ${JSON.stringify(v.answer)}`);
    console.log(`# quote chips: ${JSON.stringify(v.quoteChipList)}`);
    assert.notEqual(v.outcome, "not_covered", "the FAQ answers the question");
    const chips = v.quoteChipList.filter((c) => c.page === evidencePage && c.text.includes("CTeX FAQ"));
    assert.ok(chips.length > 0, `a chip cites the FAQ's page ${evidencePage}: ${JSON.stringify(v.quoteChipList)}`);
    await shot(driver, shots, "chinese-answer.png");

    const onPage = await driver.findAll(`article.assistant:last-of-type [data-testid=quotes] button.chip[data-page="${evidencePage}"]`);
    let chip;
    for (const c of onPage) if (!chip && (await driver.text(c)).includes("CTeX FAQ")) chip = c;
    assert.ok(chip, "the FAQ's chip can be clicked");
    await driver.click(chip);
    const opened = await driver.until("the viewer with a highlighted passage", 60, async () => {
      const v = await view(driver);
      return v.viewerPage !== null && v.highlighted > 0 ? v : null;
    });
    assert.equal(opened.viewerPage, evidencePage, "the viewer shows the cited page");
    const marked = await driver.run(`return Array.from(document.querySelectorAll(".viewer .textLayer span.cited")).map((s) => s.textContent).join("")`);
    console.log(`# highlighted: ${JSON.stringify(marked.slice(0, 200))}`);
    assert.match(marked, /[\u4e00-\u9fff]/, "the highlighted passage is Chinese text");
    await new Promise((r) => setTimeout(r, 500));
    await shot(driver, shots, "chinese-viewer-on-cited-page.png");
  });
});
