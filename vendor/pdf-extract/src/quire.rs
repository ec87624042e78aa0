//! Quire: tolerant helpers for real-world files that upstream gives up on (see QUIRE.md).

use adobe_cmap_parser::{ByteMapping, CIDRange, CodeRange};
use lopdf::content::Content;
use std::collections::HashMap;

fn is_white(c: u8) -> bool {
    b" \t\n\r\0\x0C".contains(&c)
}

fn is_delim(c: u8) -> bool {
    b"()<>[]{}/%".contains(&c)
}

/// Content-stream bytes without comments and inline images, which lopdf's content parser
/// stops at (a comment after an operator ends the parse; an inline image it cannot read fails
/// the whole stream). Strings are copied as they are, so a `%` inside one is kept.
pub(crate) fn clean_content(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    let n = data.len();
    let boundary_before = |i: usize| i == 0 || is_white(data[i - 1]) || is_delim(data[i - 1]);
    let boundary_after = |j: usize| j >= n || is_white(data[j]) || is_delim(data[j]);
    while i < n {
        let c = data[i];
        match c {
            b'(' => {
                let mut depth = 0usize;
                while i < n {
                    let b = data[i];
                    out.push(b);
                    i += 1;
                    match b {
                        b'\\' if i < n => {
                            out.push(data[i]);
                            i += 1;
                        }
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            b'<' if data.get(i + 1) != Some(&b'<') => {
                while i < n {
                    out.push(data[i]);
                    i += 1;
                    if data[i - 1] == b'>' {
                        break;
                    }
                }
            }
            b'%' => {
                while i < n && data[i] != b'\n' && data[i] != b'\r' {
                    i += 1;
                }
                out.push(b'\n');
            }
            b'B' if data.get(i + 1) == Some(&b'I') && boundary_before(i) && boundary_after(i + 2) => {
                // BI <dict> ID <binary data> EI: skip to the EI that follows whitespace.
                let mut j = i + 2;
                let mut data_start = None;
                while j + 1 < n {
                    if data[j] == b'I' && data[j + 1] == b'D' && boundary_before(j) && boundary_after(j + 2) {
                        data_start = Some(j + 3);
                        break;
                    }
                    j += 1;
                }
                let mut end = n;
                if let Some(mut k) = data_start {
                    while k + 1 < n {
                        if data[k] == b'E' && data[k + 1] == b'I' && k > 0 && is_white(data[k - 1]) && boundary_after(k + 2) {
                            end = k + 2;
                            break;
                        }
                        k += 1;
                    }
                }
                out.push(b'\n');
                i = end;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Decodes a content stream, tolerating comments, inline images and garbage: what can be
/// parsed is returned, never an error.
pub(crate) fn decode_content(data: &[u8]) -> Content<Vec<lopdf::content::Operation>> {
    let cleaned = clean_content(data);
    let a = Content::decode(&cleaned).ok();
    let b = if cleaned.len() != data.len() { Content::decode(data).ok() } else { None };
    match (a, b) {
        (Some(a), Some(b)) => {
            if b.operations.len() > a.operations.len() {
                b
            } else {
                a
            }
        }
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => Content { operations: Vec::new() },
    }
}

enum Tok {
    Hex(Vec<u8>),
    Int(i64),
    Word(String),
}

fn cmap_tokens(data: &[u8]) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut i = 0;
    let n = data.len();
    while i < n {
        let c = data[i];
        if is_white(c) {
            i += 1;
        } else if c == b'%' {
            while i < n && data[i] != b'\n' && data[i] != b'\r' {
                i += 1;
            }
        } else if c == b'<' && data.get(i + 1) != Some(&b'<') {
            let mut digits = Vec::new();
            i += 1;
            while i < n && data[i] != b'>' {
                if data[i].is_ascii_hexdigit() {
                    digits.push(data[i]);
                }
                i += 1;
            }
            i += 1;
            if digits.len() % 2 == 1 {
                digits.push(b'0');
            }
            let bytes = digits
                .chunks(2)
                .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("0"), 16).unwrap_or(0))
                .collect();
            toks.push(Tok::Hex(bytes));
        } else if c == b'(' {
            // Strings (registry names) do not matter here.
            let mut depth = 0;
            while i < n {
                match data[i] {
                    b'\\' => i += 1,
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        } else {
            let start = i;
            i += 1;
            while i < n && !is_white(data[i]) && !is_delim(data[i]) {
                i += 1;
            }
            let word = String::from_utf8_lossy(&data[start..i]).into_owned();
            match word.parse::<i64>() {
                Ok(v) => toks.push(Tok::Int(v)),
                Err(_) => toks.push(Tok::Word(word)),
            }
        }
    }
    toks
}

fn code_of(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32)
}

/// The code space and CID ranges of an embedded CMap (a Type 0 font's /Encoding stream).
/// adobe-cmap-parser 0.4.1 gets code widths wrong (a one-byte range gets width 0) and misreads
/// more than one `cidrange` entry; this reads the byte widths from the hex strings themselves.
pub(crate) fn parse_cid_cmap(data: &[u8]) -> Option<ByteMapping> {
    let toks = cmap_tokens(data);
    let mut codespace = Vec::new();
    let mut cid = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Word(w) if w == "begincodespacerange" => {
                i += 1;
                while i + 1 < toks.len() {
                    match (&toks[i], &toks[i + 1]) {
                        (Tok::Hex(a), Tok::Hex(b)) if !a.is_empty() && a.len() <= 4 => {
                            codespace.push(CodeRange { width: a.len() as u32, start: code_of(a), end: code_of(b) });
                            i += 2;
                        }
                        _ => break,
                    }
                }
            }
            Tok::Word(w) if w == "begincidrange" => {
                i += 1;
                while i + 2 < toks.len() {
                    match (&toks[i], &toks[i + 1], &toks[i + 2]) {
                        (Tok::Hex(a), Tok::Hex(b), Tok::Int(d)) => {
                            cid.push(CIDRange { src_code_lo: code_of(a), src_code_hi: code_of(b), dst_CID_lo: *d as u32 });
                            i += 3;
                        }
                        _ => break,
                    }
                }
            }
            Tok::Word(w) if w == "begincidchar" => {
                i += 1;
                while i + 1 < toks.len() {
                    match (&toks[i], &toks[i + 1]) {
                        (Tok::Hex(a), Tok::Int(d)) => {
                            let code = code_of(a);
                            cid.push(CIDRange { src_code_lo: code, src_code_hi: code, dst_CID_lo: *d as u32 });
                            i += 2;
                        }
                        _ => break,
                    }
                }
            }
            _ => i += 1,
        }
    }
    if codespace.is_empty() {
        return None;
    }
    if cid.is_empty() {
        // No CID ranges: treat codes as CIDs.
        cid.push(CIDRange { src_code_lo: 0, src_code_hi: u32::MAX, dst_CID_lo: 0 });
    }
    Some(ByteMapping { codespace, cid })
}

/// Code → Unicode for a CIDFontType2 font without a ToUnicode map, through the embedded
/// TrueType program's own `cmap` table (what poppler does): CID → glyph (CIDToGIDMap) → the
/// characters that map to that glyph.
pub(crate) fn truetype_cid_to_unicode(font_file: &[u8], cid_to_gid: Option<&[u8]>) -> Option<HashMap<u32, String>> {
    let face = ttf_parser::Face::parse(font_file, 0).ok()?;
    let cmap = face.tables().cmap?;
    let mut gid_to_char: HashMap<u16, char> = HashMap::new();
    for subtable in cmap.subtables {
        // Only Unicode subtables: a symbol (3,0) subtable's codes are the font's own, and
        // reading them as Latin-1 would make up text.
        if !subtable.is_unicode() {
            continue;
        }
        subtable.codepoints(|cp| {
            if let Some(gid) = subtable.glyph_index(cp) {
                if let Some(ch) = char::from_u32(cp) {
                    let entry = gid_to_char.entry(gid.0).or_insert(ch);
                    // Prefer the plain form over a presentation form or private-use character.
                    if is_presentation_or_private(*entry) && !is_presentation_or_private(ch) {
                        *entry = ch;
                    }
                }
            }
        });
    }
    if gid_to_char.is_empty() {
        return None;
    }
    let mut map = HashMap::new();
    match cid_to_gid {
        Some(table) => {
            for (cid, pair) in table.chunks_exact(2).enumerate() {
                let gid = u16::from_be_bytes([pair[0], pair[1]]);
                if let Some(ch) = gid_to_char.get(&gid) {
                    map.insert(cid as u32, ch.to_string());
                }
            }
        }
        None => {
            for (&gid, ch) in &gid_to_char {
                map.insert(gid as u32, ch.to_string());
            }
        }
    }
    Some(map)
}

fn is_presentation_or_private(c: char) -> bool {
    matches!(c as u32, 0xE000..=0xF8FF | 0xFB00..=0xFDFF | 0xFE70..=0xFEFF)
}

/// A predefined CMap whose codes are Unicode themselves (UTF-16BE or UCS-2), such as
/// `UniJIS-UTF16-H`, `UniGB-UCS2-H`.
pub(crate) fn is_unicode_cmap(name: &str) -> bool {
    name.starts_with("Uni") && (name.contains("UTF16") || name.contains("UCS2"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_inline_images_are_removed() {
        let c = clean_content(b"/Cs5 cs %c\n 0.5 sc %x\n BT (a%b) Tj ET\nBI /W 1 ID \x00%\x01 EI\n(z) Tj");
        let ops = Content::decode(&c).unwrap().operations;
        let names: Vec<_> = ops.iter().map(|o| o.operator.as_str()).collect();
        assert_eq!(names, ["cs", "sc", "BT", "Tj", "ET", "Tj"]);
    }

    #[test]
    fn one_byte_code_space() {
        let m = parse_cid_cmap(b"1 begincodespacerange <00> <FF> endcodespacerange 2 begincidrange <00> <0F> 0 <10> <FF> 16 endcidrange").unwrap();
        assert_eq!(m.codespace[0].width, 1);
        assert_eq!(m.cid.len(), 2);
        assert_eq!(m.cid[1].dst_CID_lo, 16);
    }
}

/// Where systems keep poppler's tables of Unicode by CID for Adobe's character collections
/// (Debian's and Homebrew's `poppler-data`).
const COLLECTION_DIRS: &[&str] = &[
    "/usr/share/poppler/cidToUnicode",
    "/usr/local/share/poppler/cidToUnicode",
    "/opt/homebrew/share/poppler/cidToUnicode",
];

/// Unicode by CID for an Adobe character collection ("Adobe", "GB1"): CID-keyed fonts without a
/// ToUnicode map (Chinese PDFs typeset with the Fandol fonts, for example) are otherwise
/// unreadable. Read once per process from poppler-data's table (one hexadecimal code point per
/// line, the line number being the CID; 0 for none); `None` when the system has no table for
/// that collection.
pub fn collection_unicode(registry: &str, ordering: &str) -> Option<&'static [u32]> {
    use std::sync::{Mutex, OnceLock};
    static TABLES: OnceLock<Mutex<HashMap<String, Option<&'static [u32]>>>> = OnceLock::new();
    let name = format!("{registry}-{ordering}");
    if name.contains(['/', '\\']) || name.contains("..") {
        return None;
    }
    let tables = TABLES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut tables = tables.lock().unwrap_or_else(|p| p.into_inner());
    *tables.entry(name.clone()).or_insert_with(|| {
        let text = COLLECTION_DIRS
            .iter()
            .find_map(|dir| std::fs::read_to_string(std::path::Path::new(dir).join(&name)).ok())?;
        let table: Vec<u32> = text
            .lines()
            .map(|l| u32::from_str_radix(l.trim(), 16).unwrap_or(0))
            .collect();
        Some(&*Box::leak(table.into_boxed_slice()))
    })
}
