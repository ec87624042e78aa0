// End to end: a library written by a newer Quire. An older Quire must say so in its window — not
// end before the window shows (a desktop user sees no terminal), not change the library. The
// story's library gets a format number above the one this build reads (its SQLite user_version,
// set through Python's sqlite3), the window is opened on it, and the format is put back after.
// Run by scripts/e2e.sh after the other stories, with the same environment and library.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { WebDriver } from "./webdriver.mjs";
import { shot as windowShot } from "./window.mjs";

const app = process.env.QUIRE_APP;
const library = process.env.QUIRE_LIBRARY;
const shots = process.env.QUIRE_E2E_SCREENSHOTS;
assert.ok(app && library && shots, "run through scripts/e2e.sh (QUIRE_APP, QUIRE_LIBRARY, QUIRE_E2E_SCREENSHOTS)");
mkdirSync(shots, { recursive: true });
const database = join(library, "library.sqlite");

const driver = new WebDriver(process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4444");
const shot = (name) => windowShot(driver, shots, name);

/** The library's format number (SQLite's user_version, through Python's sqlite3: Node's own
 * SQLite module is not in every Node the tests run on), after setting it to `to` if given. */
function format(to) {
  const script = `import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
if len(sys.argv) > 2:
    db.execute("PRAGMA user_version = %d" % int(sys.argv[2]))
    db.commit()
print(db.execute("PRAGMA user_version").fetchone()[0])
db.close()`;
  const run = spawnSync("python3", ["-c", script, database, ...(to === undefined ? [] : [String(to)])], { encoding: "utf8" });
  assert.equal(run.status, 0, `python3 sqlite3: ${run.stderr}`);
  return Number(run.stdout.trim());
}

let known;
before(async () => {
  assert.ok(existsSync(database), `${database}: the earlier stories' library is missing`);
  known = format();
  format(known + 1);
  await driver.start(app);
});

after(async () => {
  await driver.quit().catch(() => {});
  if (known !== undefined) format(known);
});

test("a library from a newer Quire: the window opens and says so, the library is left as it was", async () => {
  const alert = await driver.until("the window's message about the library", 60, () =>
    driver.run(`const a = Array.from(document.querySelectorAll("[role=alert]")).find((e) => /newer version/.test(e.textContent));
      return a ? a.textContent : null;`),
  );
  console.log(`# message: ${alert}`);
  assert.match(alert, /newer version of Quire/);
  assert.match(alert, /update Quire/);
  await shot("newer-library");
  assert.equal(format(), known + 1, "the library's format is untouched");
});
