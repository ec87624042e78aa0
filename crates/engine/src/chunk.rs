//! Token-aware chunking that remembers where each chunk came from.
//!
//! Pages are cut into sentences (Latin and CJK punctuation, paragraph breaks); sentences are
//! packed into chunks of about `target_tokens` tokens of the embedding model's own tokenizer,
//! with about `overlap_tokens` of the previous chunk repeated at the start of the next. A
//! sentence longer than a chunk is split at token boundaries. Offsets count Unicode scalar values
//! (`char`s) in the cleaned page text.

use crate::extract::Page;

/// Counts tokens the way the embedding model will see them (without special tokens).
pub trait TokenCounter {
    /// Token count of each text.
    fn count(&self, texts: &[&str]) -> Vec<usize>;
    /// Byte ranges of `text` that each hold at most `max_tokens` tokens, in order.
    fn split(&self, text: &str, max_tokens: usize) -> Vec<(usize, usize)>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOptions {
    /// Aim for chunks of this many tokens.
    pub target_tokens: usize,
    /// Repeat about this many tokens of the previous chunk.
    pub overlap_tokens: usize,
    /// Never exceed this (the model's maximum minus its special tokens).
    pub max_tokens: usize,
}

impl ChunkOptions {
    /// ~`target` tokens with 15 % overlap, capped at the model's limit.
    pub fn for_model(target: usize, model_max_tokens: usize) -> ChunkOptions {
        let max_tokens = model_max_tokens.saturating_sub(2).max(8);
        let target_tokens = target.clamp(8, max_tokens);
        ChunkOptions {
            target_tokens,
            overlap_tokens: target_tokens * 15 / 100,
            max_tokens,
        }
    }
}

/// A passage of a document, as stored and embedded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub text: String,
    pub page_start: u32,
    pub page_end: u32,
    /// Offset (in chars) of the first character in page `page_start`'s text.
    pub char_start: usize,
    /// Offset (in chars) one past the last character in page `page_end`'s text.
    pub char_end: usize,
    pub tokens: usize,
}

/// A sentence-sized piece of one page.
#[derive(Debug, Clone)]
struct Unit {
    page: u32,
    /// Byte range in the page text.
    start: usize,
    end: usize,
    tokens: usize,
}

fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | ';' | '。' | '！' | '？' | '；' | '…')
}

fn is_cjk_sentence_end(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '；')
}

/// Byte ranges of the sentences of `text`, trimmed, in order.
pub(crate) fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    let mut prev = ' ';
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let closing = |c: Option<char>| matches!(c, Some('」' | '』' | '”' | '）' | ')'));
        let boundary = if c == '\n' {
            true
        } else if is_cjk_sentence_end(c) {
            // Closing quotes and brackets belong to the sentence they close.
            !closing(next)
        } else if closing(Some(c)) && is_cjk_sentence_end(prev) {
            !closing(next)
        } else if is_sentence_end(c) {
            matches!(next, None | Some(' ' | '\n'))
        } else {
            false
        };
        if boundary {
            let end = i + c.len_utf8();
            push_trimmed(text, start, end, &mut out);
            start = end;
        }
        prev = c;
    }
    push_trimmed(text, start, text.len(), &mut out);
    out
}

fn push_trimmed(text: &str, start: usize, end: usize, out: &mut Vec<(usize, usize)>) {
    let piece = &text[start..end];
    let lead = piece.len() - piece.trim_start().len();
    let trail = piece.len() - piece.trim_end().len();
    if lead + trail < piece.len() {
        out.push((start + lead, end - trail));
    }
}

/// Cuts `pages` into chunks.
pub fn chunk_pages(
    pages: &[Page],
    options: &ChunkOptions,
    counter: &dyn TokenCounter,
) -> Vec<Chunk> {
    let units = units(pages, options, counter);
    let page_text = |n: u32| -> &str {
        pages
            .iter()
            .find(|p| p.number == n)
            .map(|p| p.text.as_str())
            .unwrap_or("")
    };
    let mut chunks = Vec::new();
    let mut first = 0;
    while first < units.len() {
        // Pack as many whole units as fit the target.
        let mut last = first;
        let mut tokens = units[first].tokens;
        let mut page_break = false;
        while last + 1 < units.len() && tokens + units[last + 1].tokens <= options.target_tokens {
            // A chunk that is already half full ends with its page, so that citations point
            // at one page; the next one then starts on the new page, without overlap.
            if units[last + 1].page != units[last].page && tokens * 2 >= options.target_tokens {
                page_break = true;
                break;
            }
            last += 1;
            tokens += units[last].tokens;
        }
        chunks.push(make_chunk(&units[first..=last], &page_text, tokens));
        if last + 1 >= units.len() {
            break;
        }
        if page_break {
            first = last + 1;
            continue;
        }
        // Start the next chunk with the tail of this one, up to the overlap budget, always
        // moving forward by at least one unit.
        let mut next = last + 1;
        let mut overlap = 0;
        while next - 1 > first && overlap + units[next - 1].tokens <= options.overlap_tokens {
            next -= 1;
            overlap += units[next].tokens;
        }
        first = next;
    }
    chunks
}

fn units(pages: &[Page], options: &ChunkOptions, counter: &dyn TokenCounter) -> Vec<Unit> {
    let mut units = Vec::new();
    for page in pages {
        let ranges = sentences(&page.text);
        let texts: Vec<&str> = ranges.iter().map(|&(s, e)| &page.text[s..e]).collect();
        let counts = counter.count(&texts);
        for ((start, end), tokens) in ranges.into_iter().zip(counts) {
            if tokens <= options.max_tokens.min(options.target_tokens) {
                units.push(Unit {
                    page: page.number,
                    start,
                    end,
                    tokens,
                });
                continue;
            }
            let limit = options.target_tokens.min(options.max_tokens);
            let pieces = counter.split(&page.text[start..end], limit);
            let texts: Vec<&str> = pieces
                .iter()
                .map(|&(s, e)| &page.text[start + s..start + e])
                .collect();
            let counts = counter.count(&texts);
            for ((s, e), tokens) in pieces.into_iter().zip(counts) {
                units.push(Unit {
                    page: page.number,
                    start: start + s,
                    end: start + e,
                    tokens,
                });
            }
        }
    }
    units
}

fn make_chunk<'a>(units: &[Unit], page_text: &dyn Fn(u32) -> &'a str, tokens: usize) -> Chunk {
    let first = &units[0];
    let last = &units[units.len() - 1];
    let mut text = String::new();
    // Whole spans of each page, joined by a newline where a page ends.
    let mut i = 0;
    while i < units.len() {
        let page = units[i].page;
        let mut j = i;
        while j + 1 < units.len() && units[j + 1].page == page {
            j += 1;
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&page_text(page)[units[i].start..units[j].end]);
        i = j + 1;
    }
    let char_start = page_text(first.page)[..first.start].chars().count();
    let char_end = page_text(last.page)[..last.end].chars().count();
    Chunk {
        text,
        page_start: first.page,
        page_end: last.page,
        char_start,
        char_end,
        tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One token per whitespace-separated word, one per CJK character.
    struct Words;
    impl Words {
        fn tokens(text: &str) -> Vec<(usize, usize)> {
            let mut out = Vec::new();
            let mut start = None;
            for (i, c) in text.char_indices() {
                if crate::text::is_cjk(c) {
                    if let Some(s) = start.take() {
                        out.push((s, i));
                    }
                    out.push((i, i + c.len_utf8()));
                } else if c.is_whitespace() {
                    if let Some(s) = start.take() {
                        out.push((s, i));
                    }
                } else if start.is_none() {
                    start = Some(i);
                }
            }
            if let Some(s) = start {
                out.push((s, text.len()));
            }
            out
        }
    }
    impl TokenCounter for Words {
        fn count(&self, texts: &[&str]) -> Vec<usize> {
            texts.iter().map(|t| Words::tokens(t).len()).collect()
        }
        fn split(&self, text: &str, max: usize) -> Vec<(usize, usize)> {
            Words::tokens(text)
                .chunks(max)
                .map(|c| (c[0].0, c[c.len() - 1].1))
                .collect()
        }
    }

    fn page(number: u32, text: &str) -> Page {
        Page {
            number,
            text: text.to_string(),
        }
    }

    fn options(target: usize) -> ChunkOptions {
        ChunkOptions {
            target_tokens: target,
            overlap_tokens: target * 15 / 100,
            max_tokens: target,
        }
    }

    #[test]
    fn sentences_split_latin_and_cjk() {
        let t = "One two. Three? 第一句。第二句！「引用。」Done";
        let got: Vec<&str> = sentences(t).into_iter().map(|(s, e)| &t[s..e]).collect();
        assert_eq!(
            got,
            [
                "One two.",
                "Three?",
                "第一句。",
                "第二句！",
                "「引用。」",
                "Done"
            ]
        );
        // A decimal point is not a sentence end.
        let t = "Version 3.5 is out. Yes";
        let got: Vec<&str> = sentences(t).into_iter().map(|(s, e)| &t[s..e]).collect();
        assert_eq!(got, ["Version 3.5 is out.", "Yes"]);
    }

    #[test]
    fn chunks_respect_limits_and_overlap() {
        let text: String = (0..60)
            .map(|i| format!("Sentence number {i} is here. "))
            .collect();
        let pages = [page(1, text.trim())];
        let chunks = chunk_pages(&pages, &options(40), &Words);
        assert!(chunks.len() > 5);
        for c in &chunks {
            assert!(c.tokens <= 40, "{} tokens", c.tokens);
            assert_eq!(Words.count(&[&c.text])[0], c.tokens);
        }
        // Consecutive chunks share their boundary sentence.
        for pair in chunks.windows(2) {
            let last_sentence = pair[0].text.rsplit(". ").next().unwrap();
            assert!(
                pair[1].text.starts_with(last_sentence),
                "{:?} / {:?}",
                pair[0].text,
                pair[1].text
            );
        }
        // Everything is covered.
        assert!(chunks[0].text.starts_with("Sentence number 0 "));
        assert!(chunks.last().unwrap().text.ends_with("number 59 is here."));
    }

    #[test]
    fn offsets_point_into_pages() {
        let pages = [
            page(1, "Première page. Deux phrases ici."),
            page(2, "数据库很好。第二页的句子。"),
        ];
        let chunks = chunk_pages(&pages, &options(6), &Words);
        for c in &chunks {
            let start_page: Vec<char> = pages[(c.page_start - 1) as usize].text.chars().collect();
            let end_page: Vec<char> = pages[(c.page_end - 1) as usize].text.chars().collect();
            let head: String = start_page[c.char_start..].iter().collect();
            let tail: String = end_page[..c.char_end].iter().collect();
            assert!(c
                .text
                .starts_with(head.split('\n').next().unwrap().get(..3).unwrap_or("")));
            assert!(
                head.starts_with(c.text.lines().next().unwrap()),
                "{head:?} vs {:?}",
                c.text
            );
            assert!(
                tail.ends_with(c.text.lines().last().unwrap()),
                "{tail:?} vs {:?}",
                c.text
            );
        }
        assert!(chunks
            .iter()
            .any(|c| c.page_start == 2 && c.text.contains("数据库很好。")));
    }

    #[test]
    fn chunks_span_pages() {
        let pages = [page(1, "End of one."), page(2, "Start of two.")];
        let chunks = chunk_pages(&pages, &options(40), &Words);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].text, "End of one.\nStart of two.");
        assert_eq!((chunks[0].page_start, chunks[0].page_end), (1, 2));
        assert_eq!((chunks[0].char_start, chunks[0].char_end), (0, 13));
    }

    #[test]
    fn half_full_chunks_end_with_their_page() {
        let page_one: String = (0..30).map(|i| format!("One {i}. ")).collect();
        let pages = [page(1, page_one.trim()), page(2, "Two a. Two b.")];
        let chunks = chunk_pages(&pages, &options(100), &Words);
        assert_eq!(chunks.len(), 2);
        assert_eq!((chunks[0].page_start, chunks[0].page_end), (1, 1));
        assert_eq!(chunks[1].text, "Two a. Two b.");
        assert_eq!((chunks[1].page_start, chunks[1].char_start), (2, 0));
    }

    #[test]
    fn long_sentences_are_split_at_tokens() {
        let long: String = (0..100).map(|i| format!("w{i} ")).collect();
        let pages = [page(3, long.trim())];
        let chunks = chunk_pages(&pages, &options(30), &Words);
        assert!(chunks.iter().all(|c| c.tokens <= 30 && c.page_start == 3));
        assert!(chunks.last().unwrap().text.ends_with("w99"));
    }

    #[test]
    fn empty_pages_make_no_chunks() {
        assert!(chunk_pages(&[page(1, ""), page(2, "  ")], &options(30), &Words).is_empty());
    }
}
