//! Text normalisation shared by extraction, chunking and keyword search.

use unicode_normalization::UnicodeNormalization;

/// True for characters of scripts written without spaces between words (Chinese, Japanese,
/// Korean). Keyword search indexes them as overlapping bigrams.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x2FA1F) // Extensions B..F, compatibility supplement
}

/// CJK characters and CJK punctuation ("。", full-width forms): lines between them join
/// without a space.
fn is_cjk_or_punct(c: char) -> bool {
    is_cjk(c) || matches!(c as u32, 0x3000..=0x303F | 0xFF00..=0xFFEF)
}

/// Cleans one page of extracted text for reading and search.
///
/// NFKC folds ligatures ("ﬁ" → "fi") and full-width forms; a word broken by a hyphen at the end
/// of a line is joined; lines of a paragraph are joined with a space (without one between CJK
/// characters); paragraphs stay separated by a blank line; other whitespace collapses to one
/// space. The result has no leading or trailing whitespace.
pub fn clean_page(raw: &str) -> String {
    let text: String = raw
        .nfkc()
        .map(|c| match c {
            '\u{00AD}' => '\u{0}', // soft hyphen: dropped below
            '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{3000}' => ' ',
            '\r' | '\u{0B}' | '\u{0C}' | '\u{2028}' | '\u{2029}' => '\n',
            c if c.is_control() && c != '\n' && c != '\t' => '\u{0}',
            c => c,
        })
        .filter(|&c| c != '\u{0}')
        .collect();

    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.split('\n') {
        let line = collapse_spaces(line);
        if line.is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
            continue;
        }
        join_line(&mut current, &line);
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs.join("\n\n")
}

fn collapse_spaces(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for word in line
        .split(|c: char| c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Appends `line` to the paragraph `current`, joining hyphenated words and CJK text.
fn join_line(current: &mut String, line: &str) {
    if current.is_empty() {
        current.push_str(line);
        return;
    }
    let next = line.chars().next().unwrap_or(' ');
    let mut tail = current.chars().rev();
    let last = tail.next().unwrap_or(' ');
    let before = tail.next().unwrap_or(' ');
    if last == '-' && before.is_alphabetic() && next.is_lowercase() {
        // "infor-" + "mation" → "information"
        current.pop();
    } else if !(is_cjk_or_punct(last) && is_cjk_or_punct(next)) {
        current.push(' ');
    }
    current.push_str(line);
}

/// Text as indexed by (and queried against) the keyword index: lower-cased, and every run of
/// CJK characters rewritten as overlapping bigrams ("数据库" → "数据 据库"), so that FTS5's
/// `unicode61` tokenizer finds Chinese and Japanese words without a dictionary.
pub fn keyword_form(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut String| {
        if run.is_empty() {
            return;
        }
        out.push(' ');
        if run.len() == 1 {
            out.push(run[0]);
        } else {
            for pair in run.windows(2) {
                out.push(pair[0]);
                out.push(pair[1]);
                out.push(' ');
            }
        }
        out.push(' ');
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.extend(c.to_lowercase());
        }
    }
    flush(&mut run, &mut out);
    out
}

const STOPWORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "by", "can", "could", "do", "does", "for",
    "from", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or",
    "should", "so", "that", "the", "their", "them", "then", "there", "these", "this", "to", "was",
    "we", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you", "your",
];

/// Whether `text` reads as English: it has at least one of the common English function words.
pub fn looks_english(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .any(|w| STOPWORDS.contains(&w.to_ascii_lowercase().as_str()))
}

/// The terms of a user's question for the keyword index: words and CJK bigrams, without common
/// English function words, de-duplicated, in order. Empty when nothing searchable remains.
pub fn query_terms(question: &str) -> Vec<String> {
    let normalised: String = question.nfkc().collect();
    let form = keyword_form(&normalised);
    let mut terms: Vec<String> = Vec::new();
    for term in form.split(|c: char| !c.is_alphanumeric()) {
        if term.is_empty() || STOPWORDS.contains(&term) || terms.iter().any(|t| t == term) {
            continue;
        }
        terms.push(term.to_string());
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ligatures_fold_to_letters() {
        assert_eq!(
            clean_page("pro\u{FB01}le e\u{FB03}cient"),
            "profile efficient"
        );
    }

    #[test]
    fn hyphenated_line_ends_are_joined() {
        assert_eq!(
            clean_page("the infor-\nmation is here"),
            "the information is here"
        );
        // A hyphen before a capital or a digit is kept (names, ranges).
        assert_eq!(clean_page("Jean-\nPaul"), "Jean- Paul");
    }

    #[test]
    fn paragraphs_survive_and_whitespace_collapses() {
        let raw = "  First   line\nsecond\tline \n\n\n Next  para \n";
        assert_eq!(clean_page(raw), "First line second line\n\nNext para");
    }

    #[test]
    fn cjk_lines_join_without_space() {
        assert_eq!(clean_page("数据\n库系统"), "数据库系统");
        assert_eq!(clean_page("数据\nbase"), "数据 base");
        assert_eq!(clean_page("查询。\n事务"), "查询。事务");
    }

    #[test]
    fn keyword_form_makes_bigrams() {
        assert_eq!(
            keyword_form("用数据库")
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["用数", "数据", "据库"]
        );
        assert_eq!(
            keyword_form("SQL 库")
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["sql", "库"]
        );
    }

    #[test]
    fn query_terms_drop_stopwords_and_duplicates() {
        assert_eq!(
            query_terms("How do I change the page margins? margins!"),
            ["change", "page", "margins"]
        );
        assert_eq!(
            query_terms("什么是数据库"),
            ["什么", "么是", "是数", "数据", "据库"]
        );
        assert!(query_terms("the of ?").is_empty());
    }
}
