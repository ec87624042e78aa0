//! What supports an answer: the sentences of its sources, the one to three quotes that back
//! it (located exactly in their pages), and the sources of sentences the model wrote without
//! citing them.

use crate::answer::{Quote, Source};
use crate::error::Result;
use crate::library::Library;
use crate::markers::cited_numbers;
use crate::runtime::Embedding;
use crate::text::{is_cjk, query_terms};

/// Sentences considered for supporting quotes (from the cited or top sources).
const QUOTE_CANDIDATES: usize = 48;

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

/// Picks one to three sentences that best support the answer: close in meaning to the question
/// (`similarity`, one per sentence) and sharing words with the answer. Sentences from cited
/// sources come first when there are any.
pub fn pick_quotes(
    sentences: &[Sentence],
    similarity: &[f32],
    answer: &str,
    cited: &[usize],
) -> Vec<Quote> {
    let answer_terms = query_terms(answer);
    let mut scored: Vec<(f32, &Sentence)> = sentences
        .iter()
        .zip(similarity)
        .map(|(s, &sim)| {
            let terms = query_terms(&s.text);
            let shared = terms.iter().filter(|t| answer_terms.contains(t)).count();
            let overlap = if terms.is_empty() {
                0.0
            } else {
                shared as f32 / terms.len() as f32
            };
            let cited_bonus = if cited.contains(&s.n) { 0.1 } else { 0.0 };
            (sim + 0.3 * overlap + cited_bonus, s)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let Some(&(best, _)) = scored.first() else {
        return Vec::new();
    };
    let mut out: Vec<Quote> = Vec::new();
    for (score, s) in scored {
        if out.len() == 3 || score < best - 0.1 {
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

/// Below this cosine similarity an answer sentence is not attributed to a source sentence.
pub const ATTRIBUTION_SIMILARITY: f32 = 0.6;

/// The answer's sentences that could carry a citation: byte ranges of sentences with at least
/// four words (or eight CJK characters) and no `[n]` marker of their own.
pub fn uncited_sentences(answer: &str) -> Vec<(usize, usize)> {
    crate::chunk::sentences(answer)
        .into_iter()
        .filter(|&(s, e)| {
            let sentence = &answer[s..e];
            let words = sentence.split_whitespace().count();
            let cjk = sentence.chars().filter(|&c| is_cjk(c)).count();
            (words >= 4 || cjk >= 8) && cited_numbers(sentence, usize::MAX).is_empty()
        })
        .collect()
}

/// Adds ` [n]` to each sentence of `answer` (byte ranges from [`uncited_sentences`]) that
/// `best` attributes to source n (`None`: no source is close enough), before the sentence's
/// final punctuation. Returns the new text and the sources attributed, in order.
pub fn attribute(
    answer: &str,
    sentences: &[(usize, usize)],
    best: &[Option<usize>],
) -> (String, Vec<usize>) {
    let mut out = answer.to_string();
    let mut attributed: Vec<usize> = Vec::new();
    for (&(start, end), n) in sentences.iter().zip(best).rev() {
        let Some(n) = *n else { continue };
        let sentence = &answer[start..end];
        let trimmed = sentence.trim_end_matches(|c: char| {
            matches!(c, '.' | '!' | '?' | ';' | ':' | '。' | '！' | '？' | '；')
        });
        let at = start + trimmed.len();
        out.insert_str(at, &format!(" [{n}]"));
        attributed.push(n);
    }
    attributed.reverse();
    attributed.dedup();
    (out, attributed)
}

/// The quotable sentences of `sources` (best-ranked sources first, at most
/// [`QUOTE_CANDIDATES`]) with their vectors.
fn sentences_with_vectors(
    library: &Library,
    embedding: &Embedding,
    sources: &[Source],
) -> Result<(Vec<Sentence>, Vec<Vec<f32>>)> {
    let mut sentences: Vec<Sentence> = Vec::new();
    for source in sources {
        let doc = source.chunk.document_id;
        let page_text = |page: u32| library.store().page_text(doc, page).ok().flatten();
        sentences.extend(source_sentences(source, &page_text));
        if sentences.len() >= QUOTE_CANDIDATES {
            sentences.truncate(QUOTE_CANDIDATES);
            break;
        }
    }
    if sentences.is_empty() {
        return Ok((sentences, Vec::new()));
    }
    let texts: Vec<String> = sentences.iter().map(|s| s.text.clone()).collect();
    let vectors = embedding.thread.submit_first(texts)?.wait()?;
    Ok((sentences, vectors))
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// What [`support`] found: the answer with Quire's attributions, the sources attributed, and
/// the quotes.
pub(crate) struct Support {
    pub text: String,
    pub attributed: Vec<usize>,
    pub quotes: Vec<Quote>,
}

/// Adds `[n]` to the answer's sentences that the model left uncited but that clearly come
/// from source n, and picks one to three supporting quotes from the cited sources (or the
/// top three when none is cited), closest to `question_vector`. `cited`: the sources the
/// answer cites itself.
pub(crate) fn support(
    library: &Library,
    embedding: &Embedding,
    sources: &[Source],
    cited: &[usize],
    question_vector: &[f32],
    answer: &str,
) -> Result<Support> {
    let (sentences, vectors) = sentences_with_vectors(library, embedding, sources)?;
    let mut found = Support {
        text: answer.to_string(),
        attributed: Vec::new(),
        quotes: Vec::new(),
    };
    if sentences.is_empty() {
        return Ok(found);
    }
    let spans = uncited_sentences(answer);
    if !spans.is_empty() && !says_not_found(answer) {
        let texts: Vec<String> = spans
            .iter()
            .map(|&(s, e)| answer[s..e].to_string())
            .collect();
        let answer_vectors = embedding.thread.submit_first(texts)?.wait()?;
        let best: Vec<Option<usize>> = answer_vectors
            .iter()
            .map(|a| {
                let (sim, n) = vectors
                    .iter()
                    .zip(&sentences)
                    .map(|(v, s)| (dot(a, v), s.n))
                    .max_by(|x, y| x.0.total_cmp(&y.0))?;
                (sim >= ATTRIBUTION_SIMILARITY).then_some(n)
            })
            .collect();
        (found.text, found.attributed) = attribute(answer, &spans, &best);
    }
    let supporting: Vec<usize> = cited.iter().chain(&found.attributed).copied().collect();
    let keep = |s: &Sentence| {
        if supporting.is_empty() {
            s.n <= 3
        } else {
            supporting.contains(&s.n)
        }
    };
    let (chosen, similarity): (Vec<Sentence>, Vec<f32>) = sentences
        .iter()
        .zip(&vectors)
        .filter(|(s, _)| keep(s))
        .map(|(s, v)| (s.clone(), dot(v, question_vector)))
        .unzip();
    found.quotes = pick_quotes(&chosen, &similarity, &found.text, &supporting);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::citations;
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
        let quotes = pick_quotes(
            &sentences,
            &[0.6, 0.2],
            "Use the geometry package for margins [1].",
            &[1],
        );
        assert_eq!(quotes.len(), 1);
        assert!(quotes[0].text.starts_with("The margins"));
        assert_eq!(quotes[0].page, 3);
    }

    #[test]
    fn unmarked_sentences_get_the_source_they_came_from() {
        let answer = "Use the geometry package for margins. It has many options [2]. Ok.";
        let sentences = uncited_sentences(answer);
        assert_eq!(
            sentences.len(),
            1,
            "cited and short sentences are left alone"
        );
        let (text, attributed) = attribute(answer, &sentences, &[Some(3)]);
        assert_eq!(
            text,
            "Use the geometry package for margins [3]. It has many options [2]. Ok."
        );
        assert_eq!(attributed, vec![3]);
        let (text, attributed) = attribute(answer, &sentences, &[None]);
        assert_eq!((text.as_str(), attributed.len()), (answer, 0));
        let cites = citations(&[source(2, "x", 1), source(3, "y", 1)], &[2], &[3]);
        assert!(cites[0].cited && !cites[0].attributed);
        assert!(cites[1].cited && cites[1].attributed);
    }
}
