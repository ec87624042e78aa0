// A small W3C WebDriver client over `fetch`: the commands the end-to-end test uses, nothing else.
// tauri-driver speaks this protocol and hands it on to WebKitWebDriver.

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export const Keys = { Enter: "\uE007", Escape: "\uE00C", Shift: "\uE008" };

export class WebDriver {
  constructor(url) {
    this.url = url.replace(/\/$/, "");
    this.session = null;
  }

  async request(method, path, body) {
    const response = await fetch(this.url + path, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${method} ${path}: HTTP ${response.status}: ${text.slice(0, 300)}`);
    }
    if (!response.ok || (json.value && json.value.error)) {
      const v = json.value ?? {};
      throw new Error(`${method} ${path}: ${v.error ?? response.status}: ${v.message ?? text.slice(0, 300)}`);
    }
    return json.value;
  }

  /** Starts the app (tauri-driver launches `application`) and opens a session on its window. */
  async start(application, args = []) {
    const value = await this.request("POST", "/session", {
      capabilities: { alwaysMatch: { "tauri:options": { application, args } } },
    });
    this.session = value.sessionId;
    return this;
  }

  /** Ends the session, which closes the app. */
  async quit() {
    if (this.session) await this.request("DELETE", `/session/${this.session}`);
    this.session = null;
  }

  s(path) {
    return `/session/${this.session}${path}`;
  }

  /** The elements matching a CSS selector (possibly none). */
  async findAll(css) {
    const found = await this.request("POST", this.s("/elements"), { using: "css selector", value: css });
    return found.map((e) => e[ELEMENT]);
  }

  async click(element) {
    await this.request("POST", this.s(`/element/${element}/click`), {});
  }

  /** Types into an element as a user would (key events, one by one). */
  async type(element, text) {
    await this.request("POST", this.s(`/element/${element}/value`), { text });
  }

  async text(element) {
    return this.request("GET", this.s(`/element/${element}/text`));
  }

  /** Runs `script` (a function body) in the page and returns its JSON result. */
  async run(script, ...args) {
    return this.request("POST", this.s("/execute/sync"), { script, args });
  }

  /** Like `run`, for a script that calls `arguments[arguments.length - 1]` with its result. */
  async runAsync(script, ...args) {
    return this.request("POST", this.s("/execute/async"), { script, args });
  }

  /** A PNG of the window. */
  async screenshot() {
    return Buffer.from(await this.request("GET", this.s("/screenshot")), "base64");
  }

  /** Polls `check` until it returns a truthy value, or fails with `what` after `seconds`. */
  async until(what, seconds, check, every = 250) {
    const end = Date.now() + seconds * 1000;
    let last;
    for (;;) {
      try {
        last = await check();
        if (last) return last;
      } catch (e) {
        last = e;
      }
      if (Date.now() > end) throw new Error(`timed out after ${seconds} s waiting for ${what} (last: ${last})`);
      await new Promise((r) => setTimeout(r, every));
    }
  }
}
