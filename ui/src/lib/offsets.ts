// The engine counts offsets in Unicode scalar values (Rust chars); JavaScript strings index
// UTF-16 code units. Characters outside the Basic Multilingual Plane (some CJK, emoji) take two.

/** UTF-16 index in `text` of the scalar-value offset `chars` (clamped to the end). */
export function utf16Index(text: string, chars: number): number {
  let index = 0;
  let seen = 0;
  for (const ch of text) {
    if (seen === chars) return index;
    index += ch.length;
    seen++;
  }
  return index;
}

/** The slice of `text` between two scalar-value offsets. */
export function sliceChars(text: string, start: number, end: number): string {
  return text.slice(utf16Index(text, start), utf16Index(text, end));
}
