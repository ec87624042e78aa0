// End to end: the first run of an installed Quire without its models (the quire package without
// quire-models, a new user). The window opens and says which models are missing, offers to fetch
// the default ones (the button is only looked at: fetching needs the network) and to choose model
// files already on the computer, which opens Settings. Run by scripts/package-test.sh against the
// installed app before the model pack is installed (scripts/e2e.sh has the models, so it does not
// run this story).

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { WebDriver } from "./webdriver.mjs";
import { shot as windowShot } from "./window.mjs";

const app = process.env.QUIRE_APP;
const shots = process.env.QUIRE_E2E_SCREENSHOTS;
assert.ok(app && shots, "run through scripts/package-test.sh (QUIRE_APP, QUIRE_E2E_SCREENSHOTS)");
mkdirSync(shots, { recursive: true });

const driver = new WebDriver(process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4444");
const shot = (name) => windowShot(driver, shots, name);

before(async () => {
  await driver.start(app);
});

after(async () => {
  await driver.quit().catch(() => {});
});

test("first run without models: the window names them and offers the ways to get them", async () => {
  const panel = await driver.until("the models-missing panel", 60, () =>
    driver.run(`const p = document.querySelector(".models-missing");
      return p ? { text: p.textContent.replace(/\\s+/g, " "), buttons: Array.from(p.querySelectorAll("button")).map((b) => b.textContent.trim()) } : null;`),
  );
  console.log(`# panel: ${panel.text}`);
  assert.match(panel.text, /all-MiniLM-L6-v2/, "names the missing embedding model");
  assert.match(panel.text, /gemma-3-270m-q4_k_m\.gguf/, "names the missing answer model");
  assert.match(panel.text, /quire-models package/, "names the offline package");
  assert.ok(panel.buttons.some((b) => /Fetch the default models/.test(b)), `a fetch button: ${panel.buttons}`);
  assert.ok(panel.buttons.some((b) => /Choose model files/.test(b)), `a choose button: ${panel.buttons}`);
  await shot("first-run-without-models");
  await driver.run(`Array.from(document.querySelectorAll(".models-missing button")).find((b) => /Choose model files/.test(b.textContent)).click()`);
  await driver.until("Settings", 30, () => driver.run(`return document.querySelector("form.settings") !== null;`));
});
