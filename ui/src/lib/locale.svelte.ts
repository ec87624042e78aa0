// The UI language as reactive state: the system's language unless the user picked one.
import { detectLocale, translate, type Locale, type MessageKey } from "./i18n";

export const ui = $state<{ locale: Locale }>({
  locale: detectLocale(typeof navigator === "undefined" ? [] : navigator.languages),
});

export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  return translate(ui.locale, key, params);
}
