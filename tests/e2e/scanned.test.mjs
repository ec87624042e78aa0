// End to end, a scanned PDF: a copy of the LaTeX Project Public License whose eight pages are
// images only (made by scripts/e2e.sh with the engine's scan_copy example) is dropped on the
// window; the library says "OCR page i of n" while it is read and then marks it as read by OCR;
// a question it answers, asked of it alone, gets chips marked as coming from a scanned page; a
// chip opens the viewer on its page with the cited words' OCR boxes drawn over the page. Run by
// scripts/e2e.sh after the other stories, with the same environment and library (whatever
// language an earlier story left the window in, this one sets it to English).

import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { Keys, WebDriver } from "./webdriver.mjs";
import { drop, shot as windowShot, view as windowView } from "./window.mjs";

const app = process.env.QUIRE_APP;
const shots = process.env.QUIRE_E2E_SCREENSHOTS;
const settings = process.env.QUIRE_SETTINGS;
const scanned = process.env.QUIRE_E2E_SCANNED;
assert.ok(app && shots && settings && scanned, "run through scripts/e2e.sh (QUIRE_E2E_SCANNED: the scanned PDF)");
const title = "lppl-scanned";
const question = "May I distribute only part of the Work?";
// Page 2 says "Distribution of only part of the Work is considered modification of the Work".
const evidencePage = "2";

const driver = new WebDriver(process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4444");
const shot = (name) => windowShot(driver, shots, name);
const view = () => windowView(driver);

before(async () => {
  assert.ok(existsSync(scanned), `${scanned} is missing`);
  // The window in English again, OCR languages by default (English); the rest as it is.
  const saved = existsSync(settings) ? JSON.parse(readFileSync(settings, "utf8")) : {};
  writeFileSync(settings, JSON.stringify({ ...saved, locale: "en", ocr_languages: null }));
  await driver.start(app);
});

after(async () => {
  await driver.quit().catch(() => {});
});

test("a scanned PDF is read by OCR, and a citation of it is drawn on the scanned page", async (t) => {
  let before;
  await t.test("Settings offer the installed OCR languages and say what OCR costs", async () => {
    // The library as the engine lists it (empty when this story runs alone), once the window shows it.
    const listed = await driver.until("the library's documents", 60, () =>
      driver.runAsync(`const done = arguments[0];
        window.__TAURI_INTERNALS__.invoke("list_documents").then(done, () => done(null));`),
    );
    before = await driver.until("the window with its library", 60, async () => {
      const v = await view();
      return v.documents.length === listed.length ? v : null;
    });
    await driver.run(`Array.from(document.querySelectorAll("nav footer button")).find((b) => b.textContent.trim() === "Settings").click()`);
    const ocr = await driver.until("the OCR settings", 30, () =>
      driver.run(`const f = document.querySelector("[data-testid=ocr-settings]");
        return f && f.textContent.includes("(eng)") ? f.textContent.replace(/\\s+/g, " ") : null;`),
    );
    console.log(`# OCR settings: ${ocr}`);
    assert.match(ocr, /Automatic: English \(eng\)/);
    assert.match(ocr, /1\.5 s a page/);
    assert.match(ocr, /Off/);
    await driver.run(`const form = document.querySelector("form.settings"); form.scrollTop = form.scrollHeight;`);
    await new Promise((r) => setTimeout(r, 300));
    await shot("scanned-settings-ocr.png");
    await driver.run(`Array.from(document.querySelectorAll(".settings footer button")).find((b) => b.textContent.trim() === "Cancel").click()`);
  });

  await t.test("the scanned PDF is read by OCR, with its progress, and marked so", async () => {
    // The library may be being indexed again when the window opens (the models story leaves the
    // default embedding model set): the scan is dropped on a quiet window.
    const quiet = await driver.until("the library's own indexing to finish", 600, async () => {
      const v = await view();
      const status = await driver.runAsync(`const done = arguments[0];
        window.__TAURI_INTERNALS__.invoke("status").then(done, () => done(null));`);
      return !v.ingesting && status && !status.model_changed && status.chunks_waiting === 0 ? v : null;
    }, 500);
    assert.equal(quiet.documents.length, before.documents.length);
    const accepted = await drop(driver, [scanned]);
    assert.equal(accepted, true, `the drop event was refused: ${accepted}`);
    const progress = [];
    let shotTaken = false;
    const v = await driver.until("the scanned PDF to be added", 600, async () => {
      const v = await view();
      const ocr = await driver.run(`return Array.from(document.querySelectorAll(".library .progress .ocr-progress")).map((s) => s.textContent)`);
      progress.push(...ocr);
      if (ocr.length > 0 && !shotTaken) {
        shotTaken = true;
        await shot("scanned-ocr-progress.png");
      }
      return !v.ingesting && v.documents.length > before.documents.length ? v : null;
    }, 200);
    const seen = [...new Set(progress)];
    console.log(`# OCR progress seen: ${JSON.stringify(seen)}`);
    assert.ok(seen.some((s) => /^OCR page [1-8] of 8$/.test(s)), `"OCR page i of 8" showed while the scans were read: ${JSON.stringify(seen)}`);
    const added = v.documents.filter((d) => !before.documents.some((b) => b.name === d.name));
    assert.equal(added.length, 1, JSON.stringify(v.documents));
    assert.equal(added[0].name, title);
    assert.equal(added[0].status, "ready", JSON.stringify(added));
    const mark = await driver.run(`
      const li = Array.from(document.querySelectorAll(".library .documents li")).find((l) => l.querySelector(".name")?.textContent === arguments[0]);
      return { scanned: li?.querySelector("[data-testid=scanned]")?.textContent.replace(/\\s+/g, " ").trim() ?? null,
               uncertain: li?.querySelector("[data-testid=uncertain]")?.textContent ?? null };`, title);
    console.log(`# library: ${JSON.stringify(mark)}`);
    assert.match(mark.scanned ?? "", /^8 pages read by OCR/);
    await shot("scanned-added.png");
  });

  await t.test("a question asked of it gets chips marked as from a scanned page", async () => {
    // Ask the scanned document alone: tick it in the library.
    const ticked = await driver.run(`
      const li = Array.from(document.querySelectorAll(".library .documents li")).find((l) => l.querySelector(".name")?.textContent === arguments[0]);
      const box = li?.querySelector("input[type=checkbox]");
      if (!box || box.disabled) return false;
      box.click();
      return box.checked;`, title);
    assert.ok(ticked, "the scanned document can be selected");
    const [box] = await driver.findAll(".chat textarea");
    await driver.type(box, question + Keys.Enter);
    const v = await driver.until("the answer to finish", 480, async () => {
      const v = await view();
      return !v.streaming && v.outcome !== null && v.messages > 0 ? v : null;
    }, 100);
    console.log(`# outcome: ${v.outcome}; answer: ${JSON.stringify(v.answer)}`);
    console.log(`# quote chips: ${JSON.stringify(v.quoteChipList)}`);
    assert.notEqual(v.outcome, "not_covered", "the license answers the question");
    const chips = await driver.run(`
      const last = Array.from(document.querySelectorAll("article.assistant")).pop();
      return Array.from(last.querySelectorAll("button.chip")).map((b) => ({ page: b.dataset.page, ocr: b.dataset.ocr ?? null,
        text: b.textContent.replace(/\\s+/g, " ").trim(), title: b.title, mark: b.querySelector(".ocr-mark")?.textContent ?? null }));`);
    console.log(`# chips: ${JSON.stringify(chips)}`);
    assert.ok(chips.length > 0, "the answer cites its sources");
    for (const c of chips) {
      assert.ok(c.ocr === "scanned" || c.ocr === "uncertain", `every chip is marked as from a scanned page: ${JSON.stringify(c)}`);
      assert.ok(c.mark, `the mark shows without hovering: ${JSON.stringify(c)}`);
      assert.match(c.title, /scanned page/);
    }
    const onPage = v.quoteChipList.filter((c) => c.page === evidencePage && c.text.includes(title));
    assert.ok(onPage.length > 0, `"From your documents" cites the license's page ${evidencePage}: ${JSON.stringify(v.quoteChipList)}`);
    await shot("scanned-answer.png");
  });

  await t.test("the chip opens the scanned page with the cited words' boxes drawn over it", async () => {
    const [chip] = await driver.findAll(`article.assistant:last-of-type [data-testid=quotes] button.chip[data-page="${evidencePage}"]`);
    assert.ok(chip, "the chip on the evidence page can be clicked");
    await driver.click(chip);
    const opened = await driver.until("the viewer with the cited words' boxes", 60, async () => {
      const v = await view();
      const boxes = await driver.run(`return document.querySelectorAll(".viewer .ocr-box.cited").length`);
      return v.viewerPage !== null && boxes > 0 ? { ...v, boxes } : null;
    });
    assert.equal(opened.viewerPage, evidencePage, "the viewer shows the cited page");
    await new Promise((r) => setTimeout(r, 500));
    const layout = await driver.run(`
      const sheet = document.querySelector(".viewer .sheet").getBoundingClientRect();
      const canvas = document.querySelector(".viewer canvas").getBoundingClientRect();
      const boxes = Array.from(document.querySelectorAll(".viewer .ocr-box.cited")).map((b) => b.getBoundingClientRect());
      const r = (x) => ({ left: Math.round(x.left), top: Math.round(x.top), right: Math.round(x.right), bottom: Math.round(x.bottom) });
      return { sheet: r(sheet), canvas: r(canvas), boxes: boxes.map(r), textSpans: document.querySelectorAll(".viewer .textLayer span").length };`);
    console.log(`# ${layout.boxes.length} boxes on page ${opened.viewerPage}; sheet ${JSON.stringify(layout.sheet)}; first ${JSON.stringify(layout.boxes.slice(0, 3))}; text-layer spans ${layout.textSpans}`);
    assert.ok(layout.boxes.length >= 5, `the quoted sentence's words are drawn: ${layout.boxes.length} boxes`);
    for (const b of layout.boxes) {
      assert.ok(b.right > b.left && b.bottom > b.top, `a box has a size: ${JSON.stringify(b)}`);
      assert.ok(
        b.left >= layout.sheet.left - 1 && b.right <= layout.sheet.right + 1 && b.top >= layout.sheet.top - 1 && b.bottom <= layout.sheet.bottom + 1,
        `a box lies inside the page: ${JSON.stringify(b)} in ${JSON.stringify(layout.sheet)}`,
      );
    }
    assert.deepEqual(layout.canvas, layout.sheet, "the boxes' frame is the page as drawn");
    // At least one box is in view (scrolled to).
    const visible = await driver.run(`
      const pane = document.querySelector(".viewer .page").getBoundingClientRect();
      return Array.from(document.querySelectorAll(".viewer .ocr-box.cited")).some((b) => {
        const r = b.getBoundingClientRect();
        return r.top >= pane.top && r.bottom <= pane.bottom;
      });`);
    assert.ok(visible, "the cited words are scrolled into view");
    await shot("scanned-viewer-ocr-boxes.png");
  });
});
