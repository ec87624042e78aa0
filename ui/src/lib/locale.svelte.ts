// The UI language as reactive state: the system's language unless the user picked one.
import { describeError, detectLocale, translate, type Locale, type MessageKey } from "./i18n";
import type { AppError } from "./types";

const system = (): Locale => detectLocale(typeof navigator === "undefined" ? [] : navigator.languages);

export const ui = $state<{ locale: Locale }>({ locale: system() });

/** Applies the saved choice: "en", "zh-CN", or null to follow the system. */
export function applyLocale(saved: string | null) {
  ui.locale = saved === "en" || saved === "zh-CN" ? saved : system();
}

export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  return translate(ui.locale, key, params);
}

/** "1 page" / "n pages". */
export const pages = (n: number) => (n === 1 ? t("onePage") : t("pages", { n }));

/** An error with what to do about it, in the UI language. */
export const errorText = (e: AppError) => describeError(ui.locale, e);
