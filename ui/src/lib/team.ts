// A team library (`quire serve`) in Settings and in the window: the form's values, what is
// saved, and how the window names it.
import type { TeamLibrary } from "./types";

/** A new, empty team library form. */
export function emptyTeam(): TeamLibrary {
  return { url: "", token: "", collection: "", ca_cert: null };
}

/** The form's team library as saved: trimmed (the address without a trailing slash), no CA
 * certificate when none is named. */
export function cleanTeam(team: TeamLibrary): TeamLibrary {
  return {
    url: team.url.trim().replace(/\/+$/, ""),
    token: team.token.trim(),
    collection: team.collection.trim(),
    ca_cert: team.ca_cert?.trim() || null,
  };
}

/** The address as the window shows it ("http://127.0.0.1:8484"). */
export function teamAddress(team: TeamLibrary): string {
  return team.url.trim().replace(/\/+$/, "");
}
