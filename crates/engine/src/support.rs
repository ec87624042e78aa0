//! What the sources say: their sentences located in their pages, with vectors, from which the
//! extractive answer ("From your documents") is picked and against which the verifier checks
//! the model's sentences.

use crate::answer::{Quote, Source};
use crate::error::Result;
use crate::library::Library;
use crate::runtime::Embedding;
use crate::text::is_cjk;
use crate::verify::content_words;

/// Whether the answer says the documents do not answer the question.
pub fn says_not_found(answer: &str) -> bool {
    let a = answer.to_lowercase();
    [
        "do not contain",
        "does not contain",
        "don't contain",
        "doesn't contain",
        "not contain the answer",
        "no information",
        "not mentioned",
        "没有",
        "不包含",
    ]
    .iter()
    .any(|p| a.contains(p))
}

/// A sentence of a source, where it sits in its page.
#[derive(Debug, Clone)]
pub struct Sentence {
    pub n: usize,
    pub document_id: i64,
    pub page: u32,
    pub char_start: usize,
    pub char_end: usize,
    pub text: String,
}

/// The sentences of `source` that are long enough to quote, located by page and char offsets.
/// `page_text` gives the stored text of a page of the source's document.
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
        for (start, end) in crate::chunk::sentences(region) {
            let sentence = &region[start..end];
            let words = sentence.split_whitespace().count();
            let cjk = sentence.chars().filter(|&ch| is_cjk(ch)).count();
            if words < 5 && cjk < 8 {
                continue;
            }
            let char_start = from + region[..start].chars().count();
            out.push(Sentence {
                n: source.n,
                document_id,
                page,
                char_start,
                char_end: char_start + sentence.chars().count(),
                text: sentence.to_string(),
            });
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

/// The quotable sentences of the sources and their vectors, read once per answer: the
/// extractive answer picks from them and the verifier compares the answer's sentences with them.
pub(crate) struct SourceSentences {
    pub sentences: Vec<Sentence>,
    pub vectors: Vec<Vec<f32>>,
}

impl SourceSentences {
    /// The sentences of `sources` (at most [`SENTENCES_PER_SOURCE`] each) with their vectors.
    pub fn read(
        library: &Library,
        embedding: &Embedding,
        sources: &[Source],
    ) -> Result<SourceSentences> {
        let mut sentences: Vec<Sentence> = Vec::new();
        for source in sources {
            let doc = source.chunk.document_id;
            let page_text = |page: u32| library.store().page_text(doc, page).ok().flatten();
            let mut own = source_sentences(source, &page_text);
            own.truncate(SENTENCES_PER_SOURCE);
            sentences.extend(own);
        }
        let vectors = if sentences.is_empty() {
            Vec::new()
        } else {
            let texts: Vec<String> = sentences.iter().map(|s| s.text.clone()).collect();
            embedding.thread.submit_first(texts)?.wait()?
        };
        Ok(SourceSentences { sentences, vectors })
    }

    /// The extractive answer to the question whose vector is `question`.
    pub fn quotes(&self, question_vector: &[f32], question: &str) -> Vec<Quote> {
        let similarity: Vec<f32> = self
            .vectors
            .iter()
            .map(|v| dot(v, question_vector))
            .collect();
        pick_quotes(&self.sentences, &similarity, question)
    }

    /// How close in meaning each of `vectors` (an answer's sentences) is to the closest
    /// sentence of each source `1..=sources`: one row per vector.
    pub fn meaning(&self, vectors: &[Vec<f32>], sources: usize) -> Vec<Vec<f32>> {
        vectors
            .iter()
            .map(|a| {
                let mut row = vec![0.0f32; sources];
                for (s, v) in self.sentences.iter().zip(&self.vectors) {
                    if let Some(best) = row.get_mut(s.n - 1) {
                        *best = best.max(dot(a, v));
                    }
                }
                row
            })
            .collect()
    }

    /// The closest in meaning any sentence comes to the question.
    pub fn best_similarity(&self, question_vector: &[f32]) -> f32 {
        self.vectors
            .iter()
            .map(|v| dot(v, question_vector))
            .fold(0.0, f32::max)
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
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
        let sentences = source_sentences(&s, &|p| (p == 3).then(|| page.to_string()));
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
}
