// End to end, a team library: a real PostgreSQL with pgvector (scripts/postgres.sh, a throwaway
// cluster on a free port of 127.0.0.1), a user, a collection and a grant made with the real
// `quire serve` admin commands, and a real `quire serve` on a free loopback port with the real
// models. The window is opened with a team library whose token is wrong: it says the server
// refused the token and offers this computer's library, which one click brings back (with its
// models-missing panel when this computer has no models: a team library needs none). Then, in
// Settings → Team library, a wrong token is refused on Save with a clear sentence, the right one
// is saved (settings.json only its owner may read), the window says it is on the team library,
// a dropped PDF is uploaded and followed to the end of its job (a dropped non-PDF is "not added"
// with the server's reason), the question is answered by the server with chips, a chip opens the
// PDF (its bytes from the server) at the cited page, and the conversation is the server's. The
// servers are stopped and the settings file put back afterwards. Run by scripts/e2e.sh after
// the other stories, with the same environment.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { Keys, WebDriver } from "./webdriver.mjs";
import { drop as windowDrop, shot as windowShot, view as windowView } from "./window.mjs";

const app = process.env.QUIRE_APP;
const work = process.env.QUIRE_E2E_WORK;
const shots = process.env.QUIRE_E2E_SCREENSHOTS;
const settings = process.env.QUIRE_SETTINGS;
const pdfDir = process.env.QUIRE_E2E_PDFS ?? "/usr/share/doc/texlive-doc/latex/base";
assert.ok(app && work && shots && settings, "run through scripts/e2e.sh (QUIRE_APP, QUIRE_E2E_WORK, QUIRE_E2E_SCREENSHOTS, QUIRE_SETTINGS)");
mkdirSync(shots, { recursive: true });

const quire = join(dirname(app), "quire");
const postgresScript = join(dirname(fileURLToPath(import.meta.url)), "../../scripts/postgres.sh");
const pdf = join(pdfDir, "lppl.pdf");
const question = "May I distribute only part of the Work?";

const driver = new WebDriver(process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4444");
const shot = (name) => windowShot(driver, shots, name);
const view = () => windowView(driver);

const tmp = mkdtempSync(join(work, "team-"));
const pgDir = join(tmp, "pg");
let postgres = null;
let server = null;
let serverUrl = null;
let token = null;
let savedSettings = null;
/** With $QUIRE_MODELS unset, the story's local models folder is an empty one (the environment's
 * wins over Settings otherwise). */
const noLocalModels = !process.env.QUIRE_MODELS;

/** The environment without a team library's variables (the commands below name their own). */
function env() {
  const { QUIRE_SERVER, QUIRE_TOKEN, QUIRE_CA_CERT, QUIRE_POSTGRES, ...rest } = process.env;
  return rest;
}

/** Runs `quire ARGS`, which must succeed; its stdout. */
function run(args) {
  const out = spawnSync(quire, args, { encoding: "utf8", env: env() });
  assert.equal(out.status, 0, `quire ${args.join(" ")}: ${out.stderr}`);
  return out.stdout;
}

const admin = (...args) => run(["serve", ...args, "--postgres", postgres]);

/** Starts `quire serve` on a free port of 127.0.0.1; its URL, from the line it prints first. */
function startServer() {
  const log = openSync(join(tmp, "serve.log"), "a");
  server = spawn(quire, ["--device", "cpu", "serve", "--postgres", postgres, "--listen", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", log],
    env: env(),
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: server.stdout });
    const timer = setTimeout(() => reject(new Error("quire serve did not start in 60 s")), 60_000);
    lines.on("line", (line) => {
      const url = line.match(/^quire serve: listening on (\S+)/)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    server.on("exit", (code) => reject(new Error(`quire serve ended (${code}): ${readFileSync(join(tmp, "serve.log"), "utf8")}`)));
  });
}

/** Sets an input's value as typing would (Svelte's bindings hear the input event). */
function setInput(testid, value) {
  return driver.run(
    `const i = document.querySelector("[data-testid=" + arguments[0] + "]");
     i.value = arguments[1]; i.dispatchEvent(new Event("input", { bubbles: true })); return true;`,
    testid,
    value,
  );
}

const teamTitle = () => driver.run(`return document.querySelector("[data-testid=team-library]")?.textContent ?? null`);
const openSettings = () =>
  driver.run(`Array.from(document.querySelectorAll("nav footer button")).find((b) => b.textContent.trim() === "Settings").click()`);
const settingsFile = () => JSON.parse(readFileSync(settings, "utf8"));

before(async () => {
  assert.ok(existsSync(pdf), `${pdf} is missing (Debian's texlive-latex-base-doc)`);
  const started = spawnSync("bash", [postgresScript, "start", "--dir", pgDir, "--port", "auto"], { encoding: "utf8" });
  assert.equal(started.status, 0, `scripts/postgres.sh start: ${started.stderr}`);
  postgres = started.stdout.trim();
  assert.match(postgres, /^postgresql:\/\/.+@127\.0\.0\.1:\d+\//);
  token = admin("user", "add", "alice").trim();
  admin("collection", "add", "legal");
  admin("collection", "grant", "legal", "alice");
  serverUrl = await startServer();
  console.log(`# PostgreSQL ${postgres}, quire serve ${serverUrl}`);

  // The window in English on a team library with a wrong token; this computer's models folder
  // empty when the environment does not name one.
  savedSettings = existsSync(settings) ? readFileSync(settings, "utf8") : null;
  const saved = savedSettings ? JSON.parse(savedSettings) : {};
  const models = join(tmp, "no-models");
  mkdirSync(models);
  writeFileSync(
    settings,
    JSON.stringify({
      ...saved,
      locale: "en",
      ...(noLocalModels ? { models_dir: models } : {}),
      team_library: { url: serverUrl, token: "not-a-token", collection: "legal", ca_cert: null },
    }),
  );
  await driver.start(app);
});

after(async () => {
  await driver.quit().catch(() => {});
  if (savedSettings !== null) writeFileSync(settings, savedSettings);
  else rmSync(settings, { force: true });
  if (server) {
    server.kill();
    await new Promise((r) => (server.exitCode !== null ? r() : server.on("exit", r)));
  }
  if (postgres) spawnSync("bash", [postgresScript, "stop", "--dir", pgDir], { encoding: "utf8" });
  rmSync(tmp, { recursive: true, force: true });
});

test("a team library: the server's documents, uploads, answers, PDFs and conversations in the window", async (t) => {
  await t.test("a refused token is said clearly, with the way back to this computer's library", async () => {
    const alert = await driver.until("the team library's error", 60, () =>
      driver.run(`return document.querySelector("[data-testid=team-error]")?.textContent ?? null`),
    );
    console.log(`# on a wrong token: ${alert.replace(/\s+/g, " ")}`);
    assert.match(alert, /the server refused the token/);
    assert.match(alert, /check the token in Settings → Team library/);
    assert.equal(await teamTitle(), `Team library · ${serverUrl}`);
    // A team library needs no local models: the models-missing panel is not shown.
    assert.equal(await driver.run(`return document.querySelector(".models-missing") !== null`), false);
    await shot("team-wrong-token.png");

    await driver.run(`Array.from(document.querySelectorAll("[data-testid=team-error] button")).find((b) => /this computer's library/.test(b.textContent)).click()`);
    await driver.until("this computer's library", 30, async () => (await teamTitle()) === null);
    assert.equal(settingsFile().team_library, null, "the team library is cleared from the settings");
    if (noLocalModels) {
      const panel = await driver.until("the models-missing panel of this computer's library", 30, () =>
        driver.run(`return document.querySelector(".models-missing")?.textContent ?? null`),
      );
      assert.match(panel, /all-MiniLM-L6-v2/);
    }
  });

  await t.test("Settings → Team library: a wrong token or collection is refused on Save, the right ones saved for their owner only", async () => {
    await openSettings();
    await driver.until("Settings", 30, () => driver.run(`return document.querySelector("[data-testid=team-use]") !== null`));
    const [use] = await driver.findAll("[data-testid=team-use]");
    await driver.click(use);
    const [url] = await driver.until("the team library's fields", 10, async () => {
      const found = await driver.findAll("[data-testid=team-url]");
      return found.length > 0 ? found : null;
    });
    await driver.type(url, serverUrl);
    const [tokenField] = await driver.findAll("[data-testid=team-token]");
    await driver.type(tokenField, "still-not-a-token");
    const [collection] = await driver.findAll("[data-testid=team-collection]");
    await driver.type(collection, "legal");
    const [saveButton] = await driver.findAll("form.settings button.primary");
    await driver.click(saveButton);
    const refused = await driver.until("Settings to refuse the token", 30, () =>
      driver.run(`return document.querySelector("form.settings [role=alert]")?.textContent ?? null`),
    );
    console.log(`# Save with a wrong token: ${refused}`);
    assert.match(refused, /the server refused the token/);
    assert.equal(settingsFile().team_library, null, "nothing saved");

    // The right token, but a collection that is not the user's: refused, naming theirs.
    await setInput("team-token", token);
    await setInput("team-collection", "hr");
    await driver.click(saveButton);
    const notMember = await driver.until("Settings to refuse the collection", 30, () =>
      driver.run(`const a = document.querySelector("form.settings [role=alert]")?.textContent ?? "";
        return /not a member/.test(a) ? a : null;`),
    );
    console.log(`# Save with another's collection: ${notMember}`);
    assert.match(notMember, /not a member of a collection "hr".*yours: legal/);
    await setInput("team-collection", "legal");
    await driver.click(saveButton);
    await driver.until("Settings to close", 30, () => driver.run(`return document.querySelector("form.settings") === null`));
    const saved = settingsFile().team_library;
    assert.deepEqual(saved, { url: serverUrl, token, collection: "legal", ca_cert: null });
    assert.equal(statSync(settings).mode & 0o777, 0o600, "settings.json is its owner's only");
    const title = await driver.until("the team library's title", 30, teamTitle);
    assert.equal(title, `Team library · ${serverUrl}`);
    const badge = await driver.run(`return document.querySelector("[data-testid=team-badge]")?.textContent ?? null`);
    assert.equal(badge, "On the team library");
    assert.equal(await driver.run(`return document.querySelector(".models-missing") !== null`), false, "no models-missing panel on a team library");
    const empty = await driver.until("the empty team library", 30, async () => (await view()).empty);
    assert.match(empty, /uploaded to the collection “legal” of the team library/);
    await shot("team-empty.png");
  });

  await t.test("dropped files are uploaded and followed to the end of their jobs; a non-PDF is not added, with the reason", async () => {
    const notPdf = join(tmp, "notes.pdf");
    writeFileSync(notPdf, "These are notes, not a PDF.\n");
    const accepted = await windowDrop(driver, [pdf, notPdf]);
    assert.equal(accepted, true, `the drop event was refused: ${accepted}`);
    const states = new Set();
    const v = await driver.until("the upload to finish", 600, async () => {
      const jobs = await driver.run(`return Array.from(document.querySelectorAll(".library .progress [data-job]")).map((e) => e.dataset.job)`);
      for (const j of jobs) states.add(j);
      const v = await view();
      return !v.ingesting && v.documents.length >= 1 ? v : null;
    }, 200);
    console.log(`# job states seen: ${[...states].join(", ") || "(none between polls)"}; documents: ${JSON.stringify(v.documents)}`);
    console.log(`# progress: ${JSON.stringify(v.progress)}`);
    assert.equal(v.documents.length, 1, "one document on the team library");
    assert.equal(v.documents[0].status, "ready");
    const failed = v.progress.filter((p) => p.failed);
    assert.equal(failed.length, 1, `the non-PDF is not added: ${JSON.stringify(v.progress)}`);
    assert.equal(failed[0].name, "notes.pdf");
    assert.match(failed[0].failed, /^Not added: .+/);
    // The server has it, in the collection.
    const listed = JSON.parse(run(["--server", serverUrl, "--token", token, "--json", "list"]));
    assert.deepEqual(listed.map((d) => [d.collection, d.path]), [["legal", "legal/lppl.pdf"]]);
  });

  let chipPage;
  await t.test("the server answers, streamed, with chips", async () => {
    const [box] = await driver.findAll(".chat textarea");
    await driver.type(box, question + Keys.Enter);
    let streamed = false;
    const v = await driver.until("the server's answer", 480, async () => {
      const v = await view();
      if (v.streaming) streamed = true;
      return !v.streaming && v.outcome !== null && v.conversations.length > 0 ? v : null;
    }, 100);
    console.log(`# outcome: ${v.outcome}; streamed: ${streamed}; answer: ${JSON.stringify(v.answer)}`);
    console.log(`# quote chips: ${JSON.stringify(v.quoteChipList)}; sentence chips: ${JSON.stringify(v.sentenceChips.map((c) => [c.n, c.page]))}`);
    assert.notEqual(v.outcome, "not_covered", "the license covers the question");
    assert.ok(v.fromDocuments > 0 && v.quoteChips > 0, "\"From your documents\" with page chips");
    chipPage = v.sentenceChips[0]?.page ?? v.quoteChipList[0].page;
    await shot("team-answer.png");
  });

  await t.test("a chip opens the PDF, its bytes from the server, at the cited page", async () => {
    let [chip] = await driver.findAll("article.assistant:last-of-type .answer button.chip");
    if (!chip) [chip] = await driver.findAll("article.assistant:last-of-type [data-testid=quotes] button.chip");
    const page = await driver.run("return arguments[0].dataset.page", { "element-6066-11e4-a52e-4f735466cecf": chip });
    assert.equal(page, chipPage);
    await driver.click(chip);
    const v = await driver.until("the viewer with a highlighted passage", 60, async () => {
      const v = await view();
      return v.viewerPage !== null && v.highlighted > 0 ? v : null;
    });
    assert.equal(v.viewerPage, page, "the viewer shows the cited page");
    await new Promise((r) => setTimeout(r, 500));
    await shot("team-viewer.png");
  });

  await t.test("the conversation is the server's", async () => {
    const v = await view();
    const remote = JSON.parse(run(["--server", serverUrl, "--token", token, "--json", "conversations"]));
    assert.deepEqual(remote.map((c) => c.title), v.conversations);
  });
});
