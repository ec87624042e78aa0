//! Focused passages: the part of a retrieved chunk that is about the question, cut to a token
//! budget, so that a prompt of five sources stays short enough for the answer to start quickly
//! on a CPU (prompt evaluation is most of the wait before the first word).
//!
//! A chunk is split into sentences; each scores the question's terms it contains, weighted by
//! how rare they are within the chunk. The best sentences are kept first, then the sentences
//! around them (nearest to the best first) while the budget allows; what is left out shows as
//! "…". A chunk that already fits is given whole.

use crate::chunk::sentences;
use crate::text::keyword_form;

/// The gap shown where sentences were left out.
const ELLIPSIS: &str = " … ";

/// A word reduced to a rough stem, so that "options" finds "option" and "loaded" finds "load".
fn stem(word: &str) -> &str {
    let n = word.len();
    for (suffix, min) in [("ing", 6), ("ed", 5), ("es", 5), ("s", 4)] {
        if n >= min && word.ends_with(suffix) && !(suffix == "s" && word.ends_with("ss")) {
            return &word[..n - suffix.len()];
        }
    }
    word
}

/// The stems of `text`'s words (CJK as bigrams, as the keyword index sees it).
fn stems(text: &str) -> Vec<String> {
    keyword_form(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| stem(w).to_string())
        .collect()
}

/// `text` cut to at most about `budget` tokens (as `count` measures them) around the sentences
/// that contain `terms` (the question's keyword terms, see [`crate::text::query_terms`]).
/// `budget == 0` or a text that fits gives `text` unchanged.
pub fn focus_passage(
    text: &str,
    terms: &[String],
    budget: usize,
    count: &dyn Fn(&str) -> usize,
) -> String {
    if budget == 0 || count(text) <= budget {
        return text.to_string();
    }
    let spans = sentences(text);
    if spans.is_empty() {
        return String::new();
    }
    let scores = sentence_scores(text, &spans, terms);
    let anchor = (0..spans.len())
        .max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)))
        .unwrap_or(0);
    let costs: Vec<usize> = spans.iter().map(|&(s, e)| count(&text[s..e]) + 1).collect();
    let mut chosen = vec![false; spans.len()];
    let mut used = 0;
    let mut take = |i: usize, chosen: &mut Vec<bool>| {
        let fits = used + costs[i] <= budget;
        if fits {
            chosen[i] = true;
            used += costs[i];
        }
        fits
    };
    // The sentences about the question, best first (the anchor when none is).
    let mut scored: Vec<usize> = (0..spans.len()).filter(|&i| scores[i] > 0.0).collect();
    scored.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    if scored.is_empty() {
        scored.push(anchor);
    }
    for i in scored {
        take(i, &mut chosen);
    }
    // Then their context: sentences next to a chosen one, nearest to the anchor first, the one
    // after before the one before.
    let mut skipped = vec![false; spans.len()];
    loop {
        let next = (0..spans.len())
            .filter(|&i| !chosen[i] && !skipped[i])
            .filter(|&i| (i > 0 && chosen[i - 1]) || (i + 1 < spans.len() && chosen[i + 1]))
            .min_by_key(|&i| (i.abs_diff(anchor), i < anchor));
        let Some(i) = next else { break };
        if !take(i, &mut chosen) {
            skipped[i] = true;
        }
    }
    if !chosen.contains(&true) {
        // Even the best sentence is over the budget: its first words.
        let (s, e) = spans[anchor];
        return format!("{}…", cut_to(&text[s..e], budget, count).trim_end());
    }
    join_chosen(text, &spans, &chosen)
}

/// Each sentence's score: the question's terms it contains, each weighted by how rare it is
/// among the sentences.
fn sentence_scores(text: &str, spans: &[(usize, usize)], terms: &[String]) -> Vec<f32> {
    let words: Vec<Vec<String>> = spans.iter().map(|&(s, e)| stems(&text[s..e])).collect();
    let mut term_stems: Vec<String> = terms.iter().map(|t| stem(t).to_string()).collect();
    term_stems.dedup();
    let n = spans.len() as f32;
    let weights: Vec<f32> = term_stems
        .iter()
        .map(|t| {
            let df = words.iter().filter(|w| w.contains(t)).count() as f32;
            if df == 0.0 {
                0.0
            } else {
                (1.0 + n / df).ln()
            }
        })
        .collect();
    words
        .iter()
        .map(|w| {
            term_stems
                .iter()
                .zip(&weights)
                .filter(|(t, _)| w.contains(t))
                .map(|(_, weight)| weight)
                .sum()
        })
        .collect()
}

/// The chosen sentences in their order, with the text between neighbours kept and "…" where
/// sentences were left out.
fn join_chosen(text: &str, spans: &[(usize, usize)], chosen: &[bool]) -> String {
    let mut out = String::new();
    let mut previous: Option<usize> = None;
    for (i, &(s, e)) in spans.iter().enumerate().filter(|(i, _)| chosen[*i]) {
        match previous {
            None if i > 0 => out.push_str("… "),
            None => {}
            Some(p) if p + 1 == i => out.push_str(&text[spans[p].1..s]),
            Some(_) => out.push_str(ELLIPSIS),
        }
        out.push_str(&text[s..e]);
        previous = Some(i);
    }
    if previous.is_some_and(|p| p + 1 < spans.len()) {
        out.push_str(" …");
    }
    out
}

/// The longest run of `text`'s first words that fits `budget` tokens.
fn cut_to<'a>(text: &'a str, budget: usize, count: &dyn Fn(&str) -> usize) -> &'a str {
    let mut end = 0;
    for (i, _) in text.match_indices(' ') {
        if count(&text[..i]) > budget {
            break;
        }
        end = i;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::query_terms;

    /// One token per word, the way a test can count without a model.
    fn words(t: &str) -> usize {
        t.split_whitespace().count()
    }

    const TEXT: &str = "Classes are files that define a layout. They end in cls. \
        Options are declared with DeclareOption before they are processed. \
        ProcessOptions then runs the code of every option that was given. \
        Fonts are chosen elsewhere. Nothing else here matters.";

    #[test]
    fn a_passage_that_fits_is_whole() {
        let terms = query_terms("How are options declared?");
        assert_eq!(focus_passage(TEXT, &terms, 200, &words), TEXT);
        assert_eq!(focus_passage(TEXT, &terms, 0, &words), TEXT);
    }

    #[test]
    fn the_sentence_about_the_question_is_kept_with_its_neighbours() {
        let terms = query_terms("How are options declared?");
        let got = focus_passage(TEXT, &terms, 22, &words);
        assert!(
            got.contains("Options are declared with DeclareOption before they are processed."),
            "{got}"
        );
        assert!(words(&got) <= 22 + 2, "{got}");
        assert!(got.starts_with("… "), "{got}");
        assert!(got.ends_with(" …"), "{got}");
        assert!(!got.contains("Nothing else"), "{got}");
    }

    #[test]
    fn stems_match_plurals_and_past_forms() {
        let terms = query_terms("Which options get processed?");
        let got = focus_passage(TEXT, &terms, 12, &words);
        assert!(
            got.contains("Options are declared with DeclareOption before they are processed."),
            "{got}"
        );
    }

    #[test]
    fn separate_matches_are_joined_with_an_ellipsis() {
        let terms = query_terms("classes fonts");
        let got = focus_passage(TEXT, &terms, 14, &words);
        assert!(got.contains("Classes are files"), "{got}");
        assert!(got.contains("Fonts are chosen elsewhere."), "{got}");
        assert!(got.contains(" … "), "{got}");
    }

    #[test]
    fn without_a_match_the_start_is_kept() {
        let terms = query_terms("zebra");
        let got = focus_passage(TEXT, &terms, 10, &words);
        assert!(got.starts_with("Classes are files"), "{got}");
    }

    #[test]
    fn an_overlong_sentence_is_cut_to_its_first_words() {
        let long = "one two three four five six seven eight nine ten eleven twelve.";
        let got = focus_passage(long, &query_terms("seven"), 5, &words);
        assert_eq!(got, "one two three four five…");
    }
}
