//! Citation markers in an answer's text — `[2]`, `[1, 3]`, `[2-4]`, `[Source 2]`, `【2】` —
//! parsed here and nowhere else: the answer carries its text already split into
//! [`Segment`]s, so front ends render chips without reading brackets themselves.
//!
//! A bracket that opens a line after a line break (`\n[1] 'class-name'`) labels a list item,
//! not a source: small models number invented lists that way, and such labels must never look
//! like citations.

use serde::Serialize;

const OPEN: [char; 3] = ['[', '［', '【'];
const CLOSE: [char; 3] = [']', '］', '】'];
/// A bracket that does not close within this many characters is text, not a marker.
const LONGEST_MARKER: usize = 40;
/// A range marker spans at most this many sources (`[1-99]` is not a citation).
const LONGEST_RANGE: usize = 20;

/// What a marker's numbers are written with: digits and the separators of lists and ranges.
fn marker_char(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, ',' | ' ' | '-' | '–' | ';' | '，' | '、')
}

/// A piece of an answer: plain text, or a citation of sources (numbered from 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Segment {
    Text { text: String },
    Cite { sources: Vec<usize> },
}

/// The source numbers inside one bracket's text (`"2"`, `"1, 3"`, `"2-4"`, `"Source 2"`), in
/// order and without repeats, keeping only `1..=sources`; `None` when it is not a citation
/// (it must start with a digit after an optional "source", and hold only numbers and
/// separators) or names no valid source.
pub fn parse_marker(inner: &str, sources: usize) -> Option<Vec<usize>> {
    let inner = inner.trim();
    let body = match inner.get(..6) {
        Some(word) if word.eq_ignore_ascii_case("source") => inner[6..].trim_start(),
        _ => inner,
    };
    let well_formed =
        body.starts_with(|c: char| c.is_ascii_digit()) && body.chars().all(marker_char);
    if !well_formed {
        return None;
    }
    let mut out: Vec<usize> = Vec::new();
    for part in body
        .split([',', ';', '，', '、', ' '])
        .filter(|p| !p.is_empty())
    {
        let range: Vec<&str> = part.split(['-', '–']).collect();
        let numbers: Vec<usize> = match range.as_slice() {
            [one] => one.parse().ok().into_iter().collect(),
            [a, b] => match (a.parse::<usize>(), b.parse::<usize>()) {
                (Ok(a), Ok(b)) if a <= b && b - a < LONGEST_RANGE => (a..=b).collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        for n in numbers {
            if (1..=sources).contains(&n) && !out.contains(&n) {
                out.push(n);
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Splits `text` into text and citation segments; brackets that cite no source among
/// `1..=sources` stay text.
pub fn segments(text: &str, sources: usize) -> Vec<Segment> {
    let mut stream = MarkerStream::new(sources);
    let mut out = stream.push(text);
    out.extend(stream.finish());
    out
}

/// Source numbers the answer cites, in order of first mention.
pub fn cited_numbers(text: &str, sources: usize) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for segment in segments(text, sources) {
        if let Segment::Cite { sources } = segment {
            for n in sources {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
    }
    out
}

/// `text` without a citation marker left unfinished at its end (`… base class [6`, `[1, `):
/// an answer must not end inside a marker.
pub fn without_dangling_marker(text: &str) -> &str {
    let Some((at, _)) = text.char_indices().rev().find(|(_, c)| OPEN.contains(c)) else {
        return text;
    };
    let tail = &text[at..];
    let inner = &tail[tail.chars().next().map_or(0, char::len_utf8)..];
    let unfinished = !inner.contains(CLOSE) && inner.chars().count() <= LONGEST_MARKER && {
        let body = inner.trim_start();
        let word = body.get(..6.min(body.len())).unwrap_or(body);
        let after_word = if "source".starts_with(&word.to_ascii_lowercase()) && !word.is_empty() {
            body[word.len()..].trim_start()
        } else {
            body
        };
        after_word.chars().all(marker_char)
    };
    if unfinished {
        text[..at].trim_end()
    } else {
        text
    }
}

/// Segments an answer as it streams: text is passed on at once, except from an opening bracket
/// on, which is held until it closes (or cannot be a marker any more).
#[derive(Debug)]
pub struct MarkerStream {
    sources: usize,
    /// Text from an unclosed opening bracket on.
    held: String,
    /// Nothing but spaces since the last line break.
    line_start: bool,
    /// The held bracket opened a line (so it is a list label, whatever it holds).
    held_at_line_start: bool,
}

impl MarkerStream {
    pub fn new(sources: usize) -> MarkerStream {
        MarkerStream {
            sources,
            held: String::new(),
            line_start: false,
            held_at_line_start: false,
        }
    }

    /// The segments that `piece` completes (adjacent text is merged into one segment).
    pub fn push(&mut self, piece: &str) -> Vec<Segment> {
        let mut out = Vec::new();
        for c in piece.chars() {
            let line_start = self.line_start;
            self.line_start = c == '\n' || (line_start && matches!(c, ' ' | '\t'));
            if self.held.is_empty() && !OPEN.contains(&c) {
                push_text(&mut out, c.encode_utf8(&mut [0; 4]));
                continue;
            }
            if !self.held.is_empty() && OPEN.contains(&c) {
                // A new bracket: what was held cannot be a marker any more.
                push_text(&mut out, &std::mem::take(&mut self.held));
            }
            if self.held.is_empty() {
                self.held_at_line_start = line_start;
            }
            self.held.push(c);
            if CLOSE.contains(&c) {
                self.close(&mut out);
            } else if self.held.chars().count() > LONGEST_MARKER {
                push_text(&mut out, &std::mem::take(&mut self.held));
            }
        }
        out
    }

    /// What is still held when the answer ends (an unclosed bracket is text).
    pub fn finish(&mut self) -> Vec<Segment> {
        let mut out = Vec::new();
        push_text(&mut out, &std::mem::take(&mut self.held));
        out
    }

    fn close(&mut self, out: &mut Vec<Segment>) {
        let held = std::mem::take(&mut self.held);
        let open_len = held.chars().next().map_or(0, char::len_utf8);
        let close_len = held.chars().next_back().map_or(0, char::len_utf8);
        let inner = &held[open_len..held.len() - close_len];
        match parse_marker(inner, self.sources) {
            Some(sources) if !self.held_at_line_start => out.push(Segment::Cite { sources }),
            _ => push_text(out, &held),
        }
    }
}

fn push_text(out: &mut Vec<Segment>, text: &str) {
    if text.is_empty() {
        return;
    }
    match out.last_mut() {
        Some(Segment::Text { text: last }) => last.push_str(text),
        _ => out.push(Segment::Text {
            text: text.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(segments: &[Segment]) -> Vec<String> {
        segments
            .iter()
            .map(|s| match s {
                Segment::Text { text } => text.clone(),
                Segment::Cite { sources } => format!("#{sources:?}"),
            })
            .collect()
    }

    #[test]
    fn citations_are_parsed_in_their_usual_forms() {
        assert_eq!(cited_numbers("See [2] and [1, 3].", 5), vec![2, 1, 3]);
        assert_eq!(
            cited_numbers("A[1][2] b [2-4] c [9] [x] [0]", 5),
            vec![1, 2, 3, 4]
        );
        assert_eq!(
            cited_numbers("答案【2】，见［1］和[3、4]", 4),
            vec![2, 1, 3, 4]
        );
        assert_eq!(cited_numbers("[Source 2] and [ 1 ]", 3), vec![2, 1]);
        assert_eq!(cited_numbers("unclosed [2", 3), Vec::<usize>::new());
    }

    #[test]
    fn markers_parse_as_the_window_showed_them() {
        assert_eq!(parse_marker("2", 5), Some(vec![2]));
        assert_eq!(parse_marker("1, 3", 5), Some(vec![1, 3]));
        assert_eq!(parse_marker("2-4", 5), Some(vec![2, 3, 4]));
        assert_eq!(parse_marker("Source 2", 5), Some(vec![2]));
        assert_eq!(parse_marker("3、4", 5), Some(vec![3, 4]));
        assert_eq!(parse_marker("9", 5), None);
        assert_eq!(parse_marker("x", 5), None);
    }

    /// Where the Rust and TypeScript parsers used to disagree: one answer now.
    #[test]
    fn odd_brackets_have_one_reading() {
        assert_eq!(parse_marker(",1", 5), None, "a marker starts with a number");
        assert_eq!(parse_marker("SOURCE 1", 5), Some(vec![1]), "any case");
        assert_eq!(parse_marker("source1", 5), Some(vec![1]));
        let long = format!("[1{}]", " ".repeat(45));
        assert_eq!(cited_numbers(&long, 5), Vec::<usize>::new(), "too long");
        assert_eq!(cited_numbers("[1-99]", 5), Vec::<usize>::new(), "too wide");
    }

    #[test]
    fn markers_become_chips_and_everything_else_stays_text() {
        let s = segments("Use margins [1][2]. See 【3】 and [9] or [a].", 3);
        assert_eq!(
            shown(&s),
            [
                "Use margins ",
                "#[1]",
                "#[2]",
                ". See ",
                "#[3]",
                " and [9] or [a]."
            ]
        );
    }

    /// The e2e answer that showed the bug: an invented list numbered [1]..[20] became chips.
    #[test]
    fn list_labels_at_the_start_of_a_line_are_not_citations() {
        let answer = "Options are passed on to the base class [1]:\n\n[1] 'class-name' (option \
                      name)\n  [2] 'date' (option date)\n[3]";
        let s = segments(answer, 5);
        assert_eq!(cited_numbers(answer, 5), vec![1]);
        assert_eq!(
            s.iter()
                .filter(|s| matches!(s, Segment::Cite { .. }))
                .count(),
            1,
            "{s:?}"
        );
        assert_eq!(
            cited_numbers("[2] opens it", 3),
            vec![2],
            "not after a break"
        );
        assert_eq!(cited_numbers("Margins [2].\nFonts [1].", 3), vec![2, 1]);
    }

    #[test]
    fn an_answer_never_ends_inside_a_marker() {
        assert_eq!(
            without_dangling_marker("It is possible … [6"),
            "It is possible …"
        );
        assert_eq!(without_dangling_marker("See [1, "), "See");
        assert_eq!(without_dangling_marker("See [Sour"), "See");
        assert_eq!(without_dangling_marker("See [Source 2"), "See");
        assert_eq!(without_dangling_marker("See [2]."), "See [2].");
        assert_eq!(without_dangling_marker("an array [i"), "an array [i");
        assert_eq!(without_dangling_marker("no brackets"), "no brackets");
        assert_eq!(without_dangling_marker("【3"), "");
    }

    #[test]
    fn streamed_pieces_give_the_same_segments_as_the_whole_text() {
        let text =
            "Margins are set [1, 2] with geometry [Source 3];\n [2] a list label; unclosed [2 \
                    stays【1】.";
        let whole = segments(text, 3);
        for size in 1..8 {
            let mut stream = MarkerStream::new(3);
            let chars: Vec<char> = text.chars().collect();
            let mut pieces = Vec::new();
            for piece in chars.chunks(size) {
                pieces.extend(stream.push(&piece.iter().collect::<String>()));
            }
            pieces.extend(stream.finish());
            // Merge adjacent text pieces as `segments` does.
            let mut merged: Vec<Segment> = Vec::new();
            for p in pieces {
                match p {
                    Segment::Text { text } => push_text(&mut merged, &text),
                    cite => merged.push(cite),
                }
            }
            assert_eq!(merged, whole, "pieces of {size}");
        }
    }
}
