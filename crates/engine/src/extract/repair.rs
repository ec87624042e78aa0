//! A new cross-reference table for a PDF whose own one lopdf cannot read (lopdf 0.42 has no
//! recovery of its own). Like other readers do, the objects are found by scanning the file for
//! `N G obj`; the catalog is the last `/Root` reference, or the last object of type `/Catalog`.
//! The table and a trailer are appended to a copy of the file, which lopdf then loads as usual
//! (objects in object streams are found through their stream, as lopdf always does).

use std::collections::BTreeMap;

/// The file with a rebuilt table appended, or `None` when no objects or catalog were found.
/// Encrypted files are left alone: their trailer carries keys that cannot be rebuilt.
pub(super) fn rebuild_xref(bytes: &[u8]) -> Option<Vec<u8>> {
    let start = find(bytes, b"%PDF-", 0)?;
    let body = &bytes[start..];
    if find(body, b"/Encrypt", 0).is_some() {
        return None;
    }
    let objects = scan_objects(body);
    if objects.is_empty() {
        return None;
    }
    let root = last_root_reference(body)
        .filter(|(n, _)| objects.contains_key(n))
        .or_else(|| last_catalog(body, &objects))?;
    let size = objects.keys().next_back()? + 1;
    let mut out = body.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let xref_at = out.len();
    out.extend_from_slice(format!("xref\n0 {size}\n").as_bytes());
    for n in 0..size {
        let line = match objects.get(&n) {
            Some((gen, offset)) => format!("{offset:010} {gen:05} n \n"),
            None => "0000000000 65535 f \n".to_string(),
        };
        out.extend_from_slice(line.as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {size} /Root {} {} R >>\nstartxref\n{xref_at}\n%%EOF\n",
            root.0, root.1
        )
        .as_bytes(),
    );
    Some(out)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from >= hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn is_space(c: u8) -> bool {
    b" \t\r\n\x0C\0".contains(&c)
}

/// Reads an unsigned integer at `i`, returning it and the index after it.
fn number(b: &[u8], i: usize) -> Option<(u32, usize)> {
    let end = i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if end == i || end - i > 10 {
        return None;
    }
    let n = std::str::from_utf8(&b[i..end]).ok()?.parse().ok()?;
    Some((n, end))
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_space(b[i]) {
        i += 1;
    }
    i
}

/// `N G <word>` at `i` (after optional whitespace): N, G and the index after the word.
fn reference_at(b: &[u8], i: usize, word: &[u8]) -> Option<(u32, u16, usize)> {
    let i = skip_space(b, i);
    let (n, i) = number(b, i)?;
    if i >= b.len() || !is_space(b[i]) {
        return None;
    }
    let (g, i) = number(b, skip_space(b, i))?;
    let i = skip_space(b, i);
    if !b[i..].starts_with(word) {
        return None;
    }
    Some((n, u16::try_from(g).ok()?, i + word.len()))
}

/// Object number → (generation, offset of its `N G obj`); a later definition wins, as in an
/// incremental update.
fn scan_objects(body: &[u8]) -> BTreeMap<u32, (u16, usize)> {
    let mut objects = BTreeMap::new();
    let mut from = 0;
    while let Some(at) = find(body, b"obj", from) {
        from = at + 3;
        let after_ok = body.get(at + 3).is_none_or(|&c| !c.is_ascii_alphanumeric());
        if !after_ok || at == 0 || !is_space(body[at - 1]) {
            continue;
        }
        // Walk back over "G", whitespace, "N" to the line's start.
        let mut i = at;
        while i > 0 && is_space(body[i - 1]) {
            i -= 1;
        }
        let gen_end = i;
        while i > 0 && body[i - 1].is_ascii_digit() {
            i -= 1;
        }
        if i == gen_end {
            continue;
        }
        while i > 0 && is_space(body[i - 1]) {
            i -= 1;
        }
        let num_end = i;
        while i > 0 && body[i - 1].is_ascii_digit() {
            i -= 1;
        }
        if i == num_end || (i > 0 && body[i - 1].is_ascii_alphanumeric()) {
            continue;
        }
        if let Some((n, g, _)) = reference_at(body, i, b"obj") {
            if n > 0 && n < 10_000_000 {
                objects.insert(n, (g, i));
            }
        }
    }
    objects
}

fn last_root_reference(body: &[u8]) -> Option<(u32, u16)> {
    let mut found = None;
    let mut from = 0;
    while let Some(at) = find(body, b"/Root", from) {
        from = at + 5;
        if let Some((n, g, _)) = reference_at(body, at + 5, b"R") {
            found = Some((n, g));
        }
    }
    found
}

fn last_catalog(body: &[u8], objects: &BTreeMap<u32, (u16, usize)>) -> Option<(u32, u16)> {
    let mut by_offset: Vec<(usize, u32, u16)> =
        objects.iter().map(|(&n, &(g, o))| (o, n, g)).collect();
    by_offset.sort();
    by_offset.iter().rev().find_map(|&(offset, n, g)| {
        let end = find(body, b"endobj", offset).unwrap_or(body.len());
        let text = &body[offset..end.min(offset + 4096)];
        let is_catalog = find(text, b"/Catalog", 0).is_some_and(|p| {
            let before = &text[..p];
            before.ends_with(b"/Type") || before.trim_ascii_end().ends_with(b"/Type")
        });
        is_catalog.then_some((n, g))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_with_short_lines_is_rebuilt() {
        let pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\
                    2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n\
                    xref\n0 3\n0000000000 65535 f\n0000000009 00000 n\n\
                    trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n9999\n%%EOF\n";
        let fixed = rebuild_xref(pdf).unwrap();
        let doc = lopdf::Document::load_mem(&fixed).unwrap();
        assert!(doc.catalog().is_ok());
        assert_eq!(scan_objects(pdf).len(), 2);
    }

    #[test]
    fn without_a_trailer_the_catalog_object_is_found() {
        let pdf = b"%PDF-1.4\n1 0 obj\n<</Pages 2 0 R/Type/Catalog>>\nendobj\n\
                    2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n";
        assert_eq!(last_root_reference(pdf), None);
        assert_eq!(last_catalog(pdf, &scan_objects(pdf)), Some((1, 0)));
    }

    #[test]
    fn nothing_to_rebuild_from() {
        assert!(rebuild_xref(b"%PDF-1.4\nno objects here").is_none());
        assert!(rebuild_xref(b"not a pdf").is_none());
    }
}
