// The models fetch as the window shows it, folded from the lines the fetch script writes
// ("fetching answer model … ...", "ok       answer model …: /path", "MISSING  …: why").

export interface FetchProgress {
  running: boolean;
  /** The model being fetched now ("answer model gemma-3-270m"), or null. */
  current: string | null;
  /** Models fetched or found already there. */
  ready: number;
  /** The last lines written, oldest first. */
  lines: string[];
}

/** Lines of the script's output the panel keeps. */
export const SHOWN_LINES = 6;

export function startFetch(): FetchProgress {
  return { running: true, current: null, ready: 0, lines: [] };
}

/** The progress after the script wrote `line` (a new object). */
export function applyFetchLine(prev: FetchProgress, line: string): FetchProgress {
  const text = line.trimEnd();
  const next = { ...prev, lines: [...prev.lines, text].slice(-SHOWN_LINES) };
  const fetching = /^fetching\s+(.+?)\s+\(/.exec(text);
  if (fetching) next.current = fetching[1];
  else if (/^ok\s+/.test(text)) {
    next.ready += 1;
    next.current = null;
  }
  return next;
}
