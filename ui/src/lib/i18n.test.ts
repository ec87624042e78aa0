import { describe, expect, it } from "vitest";
import { detectLocale, translate } from "./i18n";

describe("UI language", () => {
  it("follows the system's preferred language", () => {
    expect(detectLocale(["zh-Hans-CN", "en-US"])).toBe("zh-CN");
    expect(detectLocale(["zh-TW"])).toBe("zh-CN");
    expect(detectLocale(["en-GB", "zh-CN"])).toBe("en");
    expect(detectLocale(["fr-FR"])).toBe("en");
  });

  it("fills in placeholders in both languages", () => {
    expect(translate("en", "pages", { n: 12 })).toBe("12 pages");
    expect(translate("zh-CN", "pages", { n: 12 })).toBe("12 页");
    expect(translate("en", "addPdfs")).toBe("Add PDFs");
  });
});
