// End to end: Settings lists the GGUF models on this computer (the real window, the real
// discover_models command, the real GGUFs in Quire's models folder and, hard-linked, in a folder
// the settings name beside a web page saved as .gguf), and "Use" makes one the answer model.
// Run by scripts/e2e.sh after app.test.mjs, with the same environment.

import assert from "node:assert/strict";
import { copyFileSync, linkSync, mkdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { WebDriver } from "./webdriver.mjs";

const app = process.env.QUIRE_APP;
const work = process.env.QUIRE_E2E_WORK;
const shots = process.env.QUIRE_E2E_SCREENSHOTS;
const settings = process.env.QUIRE_SETTINGS;
assert.ok(app && work && shots && settings, "run through scripts/e2e.sh");
const models = process.env.QUIRE_MODELS ?? join(homedir(), ".local/share/quire/models");
const smol = "SmolLM2-135M-Instruct.Q4_1.gguf";
const folder = join(work, "more-models");
const linked = join(folder, smol);

const driver = new WebDriver(process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4444");

/** The rows of "Models on this computer", read in one round trip. */
function rows() {
  return driver.run(`
    return Array.from(document.querySelectorAll(".settings .found tbody tr")).map((tr) => ({
      path: tr.title,
      cells: Array.from(tr.querySelectorAll("td")).map((td) => td.textContent.trim()),
      use: tr.querySelector("button.use") !== null,
    }));`);
}

before(async () => {
  mkdirSync(folder, { recursive: true });
  try {
    linkSync(join(models, smol), linked);
  } catch {
    copyFileSync(join(models, smol), linked);
  }
  writeFileSync(join(folder, "download.gguf"), "<!DOCTYPE html><html><body>Sign in</body></html>");
  writeFileSync(settings, JSON.stringify({ model_folders: [folder] }));
  await driver.start(app);
});

after(async () => {
  await driver.quit().catch(() => {});
});

test("Settings lists the models on this computer and uses one", async () => {
  await driver.until("the window", 60, () =>
    driver.run(`
      const b = Array.from(document.querySelectorAll("button")).find((b) => ["Settings", "设置"].includes(b.textContent.trim()));
      if (b) b.click();
      return b !== undefined;`),
  );
  const found = await driver.until("the models found", 60, async () => {
    const r = await rows();
    return r.some((row) => row.path === linked) ? r : null;
  });
  const mine = found.find((row) => row.path === linked);
  // Name, app, size, quantisation, context, chat template.
  assert.deepEqual(mine.cells.slice(0, 6), ["SmolLM2-135M-Instruct.Q4_1", mine.cells[1], "98 MB", "Q4_1", "8K", mine.cells[5]]);
  assert.match(mine.cells[1], /^(folder|文件夹)$/);
  assert.match(mine.cells[5], /^(yes|有)$/);
  const gemma = found.find((row) => row.path === join(models, "gemma-3-270m-q4_k_m.gguf"));
  assert.ok(gemma, `Quire's own models are listed: ${JSON.stringify(found)}`);
  assert.deepEqual(gemma.cells.slice(1, 5), ["Quire", "253 MB", "Q4_K_M", "32K"]);
  assert.ok(!gemma.use, "the answer model in use is marked, not offered");
  const skipped = await driver.run(`return document.querySelector(".settings .found details")?.textContent ?? ""`);
  assert.match(skipped, /download\.gguf.*web page/s);

  await driver.run(`
    const row = Array.from(document.querySelectorAll(".settings .found tbody tr")).find((tr) => tr.title === arguments[0]);
    row.querySelector("button.use").click();`, linked);
  const chosen = await driver.until("the answer model field to hold the chosen model", 10, () =>
    driver.run(`return Array.from(document.querySelectorAll(".settings input")).some((i) => i.value === arguments[0])`, linked),
  );
  assert.ok(chosen);
  const used = (await rows()).find((row) => row.path === linked);
  assert.ok(!used.use, "the chosen model shows as in use");
  writeFileSync(join(shots, "models-on-this-computer.png"), await driver.screenshot());
});
