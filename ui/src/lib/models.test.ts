import { describe, expect, it } from "vitest";
import { appName, formatContext, formatSize } from "./models";

describe("models found on this computer", () => {
  it("read like the apps that downloaded them write them", () => {
    expect(formatSize(98_362_432)).toBe("98 MB");
    expect(formatSize(253_113_024)).toBe("253 MB");
    expect(formatSize(4_683_074_240)).toBe("4.7 GB");
    expect(formatContext(8192)).toBe("8K");
    expect(formatContext(32768)).toBe("32K");
    expect(formatContext(2000)).toBe("2000");
    expect(formatContext(null)).toBe("—");
    expect(appName("lm_studio", "folder")).toBe("LM Studio");
    expect(appName("folder", "文件夹")).toBe("文件夹");
  });
});
