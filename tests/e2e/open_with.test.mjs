// End to end: "Open with Quire". The app started with files on its command line (as a file
// manager runs `quire-app %F`) adds them as a drop would, opens the first one added in the
// viewer, names a file that does not exist as a failure and ignores options; a second launch
// with another file (a path relative to its working folder) hands it to the running window and
// exits instead of opening the library twice. The second launch needs a D-Bus session bus (the
// single-instance plugin's channel): without one that part is skipped.
// Run by scripts/e2e.sh after the other stories, with the same environment.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { WebDriver } from "./webdriver.mjs";
import { shot as windowShot, view as windowView } from "./window.mjs";

const app = process.env.QUIRE_APP;
const work = process.env.QUIRE_E2E_WORK;
const shots = process.env.QUIRE_E2E_SCREENSHOTS;
assert.ok(app && work && shots, "run through scripts/e2e.sh (QUIRE_APP, QUIRE_E2E_WORK, QUIRE_E2E_SCREENSHOTS)");
mkdirSync(shots, { recursive: true });
const pdfDir = process.env.QUIRE_E2E_PDFS ?? "/usr/share/doc/texlive-doc/latex/base";
const first = join(pdfDir, "cfgguide.pdf");
const missing = join(work, "no-such-file.pdf");
const second = "letter.pdf"; // relative to the second launch's working folder, pdfDir

const driver = new WebDriver(process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4444");
const shot = (name) => windowShot(driver, shots, name);
const view = () => windowView(driver);

/** The viewer's title and page, or null when it is closed. */
const viewer = () =>
  driver.run(`
    const v = document.querySelector(".viewer");
    return v ? { title: v.querySelector("header strong")?.textContent ?? "", page: v.querySelector("[data-testid=viewer-page]")?.textContent ?? null } : null;`);

before(async () => {
  await driver.start(app, ["--no-such-option", first, missing]);
});

after(async () => {
  await driver.quit().catch(() => {});
});

test("files on the command line are added and the first one is shown", async () => {
  const shown = await driver.until("the first file to open in the viewer", 300, async () => {
    const v = await viewer();
    return v && v.page === "1" ? v : null;
  });
  console.log(`# viewer: ${JSON.stringify(shown)}`);
  const v = await driver.until("the files to be added", 600, async () => {
    const v = await view();
    return !v.ingesting && v.progress.some((p) => p.name === "no-such-file.pdf") ? v : null;
  });
  console.log(`# progress: ${JSON.stringify(v.progress)}`);
  const failed = v.progress.find((p) => p.name === "no-such-file.pdf");
  assert.ok(failed.failed, `the missing file is named as failed: ${JSON.stringify(v.progress)}`);
  assert.ok(!v.progress.some((p) => p.name.startsWith("-")), "options are not taken for files");
  assert.ok(!v.documents.some((d) => d.name.startsWith("-")));
  const added = v.documents.find((d) => d.name === shown.title);
  assert.ok(added, `the file shown is in the library: ${shown.title} in ${JSON.stringify(v.documents)}`);
  await shot("open-with.png");
});

test("a second launch hands its file to the running window", async (t) => {
  if (!process.env.DBUS_SESSION_BUS_ADDRESS) {
    t.skip("no D-Bus session bus: a second launch cannot find the first (run under dbus-run-session)");
    return;
  }
  const before = (await view()).documents.length;
  const titleBefore = (await viewer())?.title;
  const launch = spawn(app, [second], { cwd: pdfDir, stdio: ["ignore", "inherit", "inherit"] });
  const exited = new Promise((resolve) => launch.on("exit", (code, signal) => resolve({ code, signal })));
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 60_000));
  const end = await Promise.race([exited, timeout]);
  if (end === null) launch.kill();
  assert.deepEqual(end, { code: 0, signal: null }, "the second launch hands over its file and exits");
  const v = await driver.until("the handed file to be added and shown", 600, async () => {
    const v = await view();
    const shown = await viewer();
    return !v.ingesting && v.documents.length > before && shown && shown.title !== titleBefore ? { v, shown } : null;
  });
  console.log(`# viewer after the second launch: ${JSON.stringify(v.shown)}`);
  assert.ok(v.v.documents.some((d) => d.name === v.shown.title), JSON.stringify(v.v.documents));
  await shot("open-with-second-launch.png");
});
