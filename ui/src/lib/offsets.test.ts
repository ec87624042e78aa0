import { describe, expect, it } from "vitest";
import { sliceChars, utf16Index } from "./offsets";

describe("scalar offsets in UTF-16 strings", () => {
  it("match for text in the Basic Multilingual Plane", () => {
    expect(utf16Index("abc", 2)).toBe(2);
    expect(sliceChars("页边距设置", 1, 3)).toBe("边距");
  });

  it("account for characters that take two code units", () => {
    const text = "𠀀𠀁 margin"; // two CJK Extension B characters
    expect(text.length).toBe(11);
    expect(utf16Index(text, 2)).toBe(4);
    expect(sliceChars(text, 3, 9)).toBe("margin");
    expect(utf16Index(text, 99)).toBe(text.length);
  });
});
