//! What the sources say: their sentences located in their pages, with vectors, from which the
//! extractive answer ("From your documents") is picked and against which the verifier checks
//! the model's sentences.

use crate::answer::{Quote, Source};
use crate::error::Result;
use crate::runtime::Embedding;
use crate::storage::Storage;
use crate::text::is_cjk;
use crate::verify::content_words;

/// A sentence of a source, where it sits in its page.
#[derive(Debug, Clone)]
pub struct Sentence {
    pub n: usize,
    pub document_id: i64,
    pub page: u32,
    pub char_start: usize,
    pub char_end: usize,
    pub text: String,
    /// The page text between the previous sentence of the passage and this one (white space).
    pub lead: String,
    /// Long enough to quote on its own: five words, or eight CJK characters (shorter ones —
    /// code lines, headings, "The default is 0.4pt." — only extend a quote).
    pub quotable: bool,
}

/// The sentences of `source`, located by page and char offsets. `page_text` gives the stored
/// text of a page of the source's document.
pub fn source_sentences(
    source: &Source,
    page_text: &dyn Fn(u32) -> Option<String>,
) -> Vec<Sentence> {
    let document_id = source.chunk.document_id;
    let c = &source.chunk.passage;
    let mut out = Vec::new();
    for page in c.page_start..=c.page_end {
        let Some(text) = page_text(page) else {
            continue;
        };
        let total = text.chars().count();
        let from = if page == c.page_start {
            c.char_start
        } else {
            0
        };
        let to = if page == c.page_end {
            c.char_end
        } else {
            total
        };
        let (from, to) = (from.min(total), to.min(total));
        let byte = |chars: usize| {
            text.char_indices()
                .nth(chars)
                .map_or(text.len(), |(b, _)| b)
        };
        let (from_byte, to_byte) = (byte(from), byte(to));
        let region = &text[from_byte..to_byte];
        let mut previous_end = 0;
        for (start, end) in crate::chunk::sentences(region) {
            let sentence = &region[start..end];
            let words = sentence.split_whitespace().count();
            let cjk = sentence.chars().filter(|&ch| is_cjk(ch)).count();
            let char_start = from + region[..start].chars().count();
            out.push(Sentence {
                n: source.n,
                document_id,
                page,
                char_start,
                char_end: char_start + sentence.chars().count(),
                text: sentence.to_string(),
                lead: region[previous_end..start].to_string(),
                quotable: words >= 5 || cjk >= 8,
            });
            previous_end = end;
        }
    }
    out
}

/// Sentences of the sources considered per source (the first ones, in passage order).
const SENTENCES_PER_SOURCE: usize = 16;

/// The extractive answer: one to three sentences of the sources that answer the question best,
/// close in meaning to it (`similarity`, one per sentence) and holding its words. Best first.
pub fn pick_quotes(sentences: &[Sentence], similarity: &[f32], question: &str) -> Vec<Quote> {
    let question_words = content_words(question);
    let mut scored: Vec<(f32, &Sentence)> = sentences
        .iter()
        .zip(similarity)
        .map(|(s, &sim)| {
            let words = content_words(&s.text);
            let shared = question_words.iter().filter(|w| words.contains(w)).count();
            let share = if question_words.is_empty() {
                0.0
            } else {
                shared as f32 / question_words.len() as f32
            };
            (sim + QUESTION_WORDS_WEIGHT * share, s)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let Some(&(best, _)) = scored.first() else {
        return Vec::new();
    };
    let mut out: Vec<Quote> = Vec::new();
    for (score, s) in scored {
        if out.len() == MAX_QUOTES || score < best - QUOTE_MARGIN {
            break;
        }
        if out.iter().any(|q| q.text == s.text) {
            continue;
        }
        out.push(Quote {
            n: s.n,
            document_id: Some(s.document_id),
            page: s.page,
            char_start: s.char_start,
            char_end: s.char_end,
            text: s.text.clone(),
        });
    }
    out
}

/// How much the share of the question's words a sentence holds adds to its closeness in
/// meaning when the extractive answer is picked.
pub const QUESTION_WORDS_WEIGHT: f32 = 0.3;
/// Quotes after the first score at most this much below it.
pub const QUOTE_MARGIN: f32 = 0.1;
pub const MAX_QUOTES: usize = 3;
/// A quote carried on into the sentences that complete it stops at this many words.
pub const LONGEST_QUOTE_WORDS: usize = 80;

/// The quotable sentences of the sources and their vectors, read once per answer: the
/// extractive answer picks from them and the verifier compares the answer's sentences with them.
pub(crate) struct SourceSentences {
    /// The quotable sentences, with `vectors`.
    pub sentences: Vec<Sentence>,
    pub vectors: Vec<Vec<f32>>,
    /// Every sentence of the sources in order, short ones too (they can extend a quote).
    all: Vec<Sentence>,
}

impl SourceSentences {
    /// The sentences of `sources` (at most [`SENTENCES_PER_SOURCE`] each) with their vectors.
    pub fn read(
        library: &dyn Storage,
        embedding: &Embedding,
        sources: &[Source],
    ) -> Result<SourceSentences> {
        let mut sentences: Vec<Sentence> = Vec::new();
        let mut all: Vec<Sentence> = Vec::new();
        for source in sources {
            let doc = source.chunk.document_id;
            let page_text = |page: u32| library.page_text(doc, page).ok().flatten();
            let own = source_sentences(source, &page_text);
            sentences.extend(
                own.iter()
                    .filter(|s| s.quotable)
                    .take(SENTENCES_PER_SOURCE)
                    .cloned(),
            );
            all.extend(own);
        }
        let vectors = if sentences.is_empty() {
            Vec::new()
        } else {
            let texts: Vec<String> = sentences.iter().map(|s| s.text.clone()).collect();
            embedding.thread.submit_first(texts)?.wait()?
        };
        Ok(SourceSentences {
            sentences,
            vectors,
            all,
        })
    }

    /// How close in meaning each quotable sentence is to the question whose vector is
    /// `question_vector` (cosine), in the order of `sentences`.
    pub fn similarity(&self, question_vector: &[f32]) -> Vec<f32> {
        self.vectors
            .iter()
            .map(|v| dot(v, question_vector))
            .collect()
    }

    /// The extractive answer to `question`; `similarity` from [`SourceSentences::similarity`].
    pub fn quotes(&self, similarity: &[f32], question: &str) -> Vec<Quote> {
        let mut quotes = pick_quotes(&self.sentences, similarity, question);
        for q in &mut quotes {
            self.extend(q);
        }
        dedup_quotes(quotes)
    }

    /// Carries a quote on into what completes it: the next sentence (a manual's point is often
    /// in the sentence after the one that matches the question best), then the code or list a
    /// sentence ending in ':' introduces, and short sentences ("The default value is 0.4pt."),
    /// on the same page, up to [`LONGEST_QUOTE_WORDS`] words.
    fn extend(&self, quote: &mut Quote) {
        let Some(at) = self.all.iter().position(|s| {
            s.n == quote.n && s.page == quote.page && s.char_start == quote.char_start
        }) else {
            return;
        };
        for (i, next) in self.all[at + 1..].iter().enumerate() {
            let words = quote_words;
            let same_place = next.n == quote.n && next.page == quote.page;
            let completes = i == 0 || quote.text.trim_end().ends_with(':') || words(&next.text) < 8;
            if !same_place
                || !completes
                || words(&quote.text) + words(&next.text) > LONGEST_QUOTE_WORDS
            {
                break;
            }
            quote.text.push_str(&next.lead);
            quote.text.push_str(&next.text);
            quote.char_end = next.char_end;
        }
    }

    /// The sentences the extractive answer does not weigh — short ones (code lines, "Default
    /// 200.") and those past the first [`SENTENCES_PER_SOURCE`] of a source — which the
    /// verifier compares an answer's sentences with too ([`SourceSentences::meaning`]).
    pub fn others(&self) -> Vec<&Sentence> {
        self.all
            .iter()
            .filter(|s| {
                !self
                    .sentences
                    .iter()
                    .any(|q| q.n == s.n && q.page == s.page && q.char_start == s.char_start)
            })
            .collect()
    }

    /// How close in meaning each of `vectors` (an answer's sentences) is to the closest
    /// sentence of each source `1..=sources`, over every sentence of the sources: the quotable
    /// ones and `others` (from [`SourceSentences::others`], with their `other_vectors`). One row
    /// per vector.
    pub fn meaning(
        &self,
        vectors: &[Vec<f32>],
        sources: usize,
        others: &[&Sentence],
        other_vectors: &[Vec<f32>],
    ) -> Vec<Vec<f32>> {
        let every = self
            .sentences
            .iter()
            .zip(&self.vectors)
            .chain(others.iter().copied().zip(other_vectors));
        vectors
            .iter()
            .map(|a| {
                let mut row = vec![0.0f32; sources];
                for (s, v) in every.clone() {
                    if let Some(best) = row.get_mut(s.n - 1) {
                        *best = best.max(dot(a, v));
                    }
                }
                row
            })
            .collect()
    }
}

/// Quotes without repeats: a quote carried on may now hold another one (a later one, or one
/// picked first from another passage of the same page); the one that holds the other is kept,
/// in the place of the first of the two.
fn dedup_quotes(quotes: Vec<Quote>) -> Vec<Quote> {
    let holds = |a: &Quote, b: &Quote| {
        a.document_id == b.document_id
            && a.page == b.page
            && a.char_start <= b.char_start
            && b.char_end <= a.char_end
    };
    let mut kept: Vec<Quote> = Vec::new();
    for q in quotes {
        if kept.iter().any(|k| holds(k, &q)) {
            continue;
        }
        // It takes the place of the first kept quote it holds, and may hold more than one.
        match kept.iter().position(|k| holds(&q, k)) {
            Some(i) => {
                kept.retain(|k| !holds(&q, k));
                kept.insert(i, q);
            }
            None => kept.push(q),
        }
    }
    kept
}

/// How long a quote is, in words: words between spaces, and for Chinese and Japanese (written
/// without spaces) about two characters a word, so that the length limits hold for them too.
fn quote_words(text: &str) -> usize {
    let cjk = text.chars().filter(|&c| crate::text::is_cjk(c)).count();
    let spaced = text
        .split(|c: char| c.is_whitespace() || crate::text::is_cjk(c))
        .filter(|w| !w.is_empty())
        .count();
    spaced + cjk.div_ceil(2)
}

pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::tests::source;

    #[test]
    fn quotes_come_from_the_page_with_offsets() {
        let page = "Intro words here. The margins are set with the geometry package in the \
                    preamble. Unrelated closing sentence about fonts.";
        let mut s = source(1, page, 3);
        s.chunk.passage.char_start = 18;
        let sentences: Vec<Sentence> =
            source_sentences(&s, &|p| (p == 3).then(|| page.to_string()))
                .into_iter()
                .filter(|s| s.quotable)
                .collect();
        assert_eq!(sentences.len(), 2);
        let first = &sentences[0];
        let chars: Vec<char> = page.chars().collect();
        let located: String = chars[first.char_start..first.char_end].iter().collect();
        assert_eq!(located, first.text);
        let quotes = pick_quotes(&sentences, &[0.5, 0.45], "How do I set the page margins?");
        assert_eq!(
            quotes.len(),
            1,
            "the question's words lift the right sentence"
        );
        assert!(quotes[0].text.starts_with("The margins"));
        assert_eq!(quotes[0].page, 3);
    }

    fn quote(start: usize, end: usize, text: &str) -> Quote {
        Quote {
            n: 1,
            document_id: Some(7),
            page: 18,
            char_start: start,
            char_end: end,
            text: text.to_string(),
        }
    }

    #[test]
    fn a_quote_that_holds_an_earlier_one_replaces_it() {
        // As seen on a Chinese FAQ: the best sentence first, then from another passage of the
        // same page the question before it carried on over the same sentence.
        let kept = dedup_quotes(vec![
            quote(40, 90, "如果你想让公式编号中包含当前的章节编号"),
            quote(120, 150, "另一段"),
            quote(
                10,
                95,
                "46 如何让公式编号中使用当前章节编号做前缀? 如果你想让公式编号中包含当前的章节编号",
            ),
            quote(45, 60, "公式编号"),
        ]);
        let spans: Vec<(usize, usize)> = kept.iter().map(|q| (q.char_start, q.char_end)).collect();
        assert_eq!(spans, vec![(10, 95), (120, 150)]);
    }

    #[test]
    fn chinese_quotes_are_counted_in_words_too() {
        assert_eq!(quote_words("The default value is 0.4pt."), 5);
        // 21 characters without a space: about 11 words, not one.
        assert_eq!(
            quote_words("如果你想让公式编号中包含当前的章节编号例如"),
            11
        );
        assert_eq!(quote_words("用 \\theequation 重新定义编号"), 5);
    }
}
