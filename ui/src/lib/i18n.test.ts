import { describe, expect, it } from "vitest";
import { describeError, detectLocale, errorHint, translate } from "./i18n";

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

  it("adds what to do to the errors the window can advise on", () => {
    expect(describeError("en", { kind: "empty_library", message: "the library has no indexed documents yet" })).toBe(
      "the library has no indexed documents yet — Add PDFs first.",
    );
    expect(describeError("zh-CN", { kind: "device", message: "CUDA is not available" })).toBe(
      "CUDA is not available — 请在设置中选择 CPU。",
    );
    expect(describeError("en", { kind: "io", message: "disk full" })).toBe("disk full");
    for (const kind of ["model_missing", "model_mismatch", "busy", "empty_library", "device"] as const) {
      expect(errorHint("en", kind)).toBeTruthy();
      expect(errorHint("zh-CN", kind)).toBeTruthy();
    }
  });
});
