//! Retrieval: hybrid search over the library — dense (the question's embedding against the
//! vector index) and keyword (SQLite FTS5's BM25) candidates, fused by reciprocal rank.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::embed::PendingEmbedding;
use crate::error::{Error, Result};
use crate::runtime::Models;
use crate::storage::Storage;
use crate::store::StoredChunk;
use crate::text::query_terms;

/// The most passages one search (or answer) returns.
pub const MAX_K: usize = 20;

/// Which retrievers a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    #[default]
    Hybrid,
    Dense,
    Keyword,
}

impl std::str::FromStr for SearchMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<SearchMode> {
        match s {
            "hybrid" => Ok(SearchMode::Hybrid),
            "dense" => Ok(SearchMode::Dense),
            "keyword" => Ok(SearchMode::Keyword),
            other => Err(Error::Usage(format!(
                "unknown search mode {other:?}; use hybrid, dense or keyword"
            ))),
        }
    }
}

/// What to search for, and where.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Passages wanted, 1 to [`MAX_K`].
    pub k: usize,
    /// Only these documents (none: all).
    pub docs: Vec<i64>,
    pub mode: SearchMode,
}

impl Default for SearchOptions {
    fn default() -> SearchOptions {
        SearchOptions {
            k: 5,
            docs: Vec::new(),
            mode: SearchMode::Hybrid,
        }
    }
}

impl SearchOptions {
    pub fn validate(&self) -> Result<()> {
        validate_k(self.k, "the number of passages")
    }
}

/// `k` (`what`, in words) is between 1 and [`MAX_K`].
pub(crate) fn validate_k(k: usize, what: &str) -> Result<()> {
    if !(1..=MAX_K).contains(&k) {
        return Err(Error::Usage(format!(
            "{what} must be between 1 and {MAX_K}, not {k}"
        )));
    }
    Ok(())
}

/// One passage found by a search.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct SearchHit {
    #[serde(flatten)]
    pub chunk: StoredChunk,
    /// Reciprocal-rank-fusion score (higher is better); for a Chinese question searched in two
    /// languages, the share of the most its language's ranking can give (0 to 1).
    pub score: f64,
    /// Cosine similarity of the passage to the query, when the dense search found it.
    pub similarity: Option<f32>,
    /// Found by its words only: its vector is not made yet (the document was added moments
    /// ago and waits for the embedding), so the search by meaning could not see it.
    pub by_words_only: bool,
}

pub(crate) fn search(
    library: &dyn Storage,
    models: &Models,
    query: &str,
    options: &SearchOptions,
) -> Result<Vec<SearchHit>> {
    if query.trim().is_empty() {
        return Err(Error::Usage(
            "the search is empty: say what to look for".into(),
        ));
    }
    if library.ready_documents()? == 0 {
        return Err(Error::EmptyLibrary);
    }
    let query = Query::new(models, query);
    // The question is embedded on the embedding thread while BM25 runs here.
    let pending = match options.mode {
        SearchMode::Keyword => None,
        _ => Some(PendingVectors::submit(library, models, &query)?),
    };
    let keyword = keyword_candidates(library, &query, options)?;
    let vectors = match pending {
        Some(p) => Some(p.wait()?),
        None => None,
    };
    read_hits(
        library,
        rank(library, vectors.as_ref(), keyword, options)?,
        options.k,
    )
}

/// A question as searched: as asked and, for a Chinese question when the Chinese–English
/// dictionary is at hand, as English search terms for the passages not in Chinese
/// ([`crate::glossary`]).
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub asked: String,
    pub english: Option<String>,
}

impl Query {
    pub fn new(models: &Models, asked: &str) -> Query {
        Query {
            asked: asked.to_string(),
            english: models.english_terms(asked),
        }
    }
}

/// The vectors of a [`Query`]: the question's, and its English terms' when it has them.
#[derive(Debug, Clone)]
pub(crate) struct QueryVectors {
    pub asked: Vec<f32>,
    pub english: Option<Vec<f32>>,
}

/// A [`Query`]'s vectors being made on the embedding thread.
pub(crate) struct PendingVectors {
    asked: PendingEmbedding,
    english: Option<PendingEmbedding>,
}

impl PendingVectors {
    /// Starts embedding the query ahead of any ingestion work queued on the shared embedder,
    /// after checking that the stored vectors come from the same model.
    pub fn submit(library: &dyn Storage, models: &Models, query: &Query) -> Result<PendingVectors> {
        let embedding = models.embedder()?;
        library.check_model(embedding.thread.info())?;
        let asked = embedding.thread.submit_query(&query.asked)?;
        let english = match &query.english {
            Some(terms) => Some(embedding.thread.submit_query(terms)?),
            None => None,
        };
        Ok(PendingVectors { asked, english })
    }

    pub fn wait(self) -> Result<QueryVectors> {
        let one = |p: PendingEmbedding| {
            p.wait()?
                .pop()
                .ok_or_else(|| Error::Embedding("no vector for the question".into()))
        };
        Ok(QueryVectors {
            asked: one(self.asked)?,
            english: self.english.map(one).transpose()?,
        })
    }
}

/// Search with the query's vectors already made (needed unless the mode is keyword only).
pub(crate) fn search_by(
    library: &dyn Storage,
    query: &Query,
    vectors: Option<&QueryVectors>,
    options: &SearchOptions,
) -> Result<Vec<SearchHit>> {
    let keyword = keyword_candidates(library, query, options)?;
    read_hits(
        library,
        rank(library, vectors, keyword, options)?,
        options.k,
    )
}

/// How many candidates each retriever gives the fusion.
fn candidates(k: usize) -> usize {
    (k * 5).max(50)
}

/// BM25's candidates for the question as asked and for its English terms, best first (none in
/// dense-only mode).
struct KeywordCandidates {
    asked: Vec<i64>,
    english: Option<Vec<i64>>,
}

fn keyword_candidates(
    library: &dyn Storage,
    query: &Query,
    options: &SearchOptions,
) -> Result<KeywordCandidates> {
    let find = |text: &str| {
        if options.mode == SearchMode::Dense {
            return Ok(Vec::new());
        }
        library.keyword_search(&query_terms(text), candidates(options.k), &options.docs)
    };
    Ok(KeywordCandidates {
        asked: find(&query.asked)?,
        english: query.english.as_deref().map(find).transpose()?,
    })
}

/// Nearest chunks of ready documents (all, or those in `docs`) with their cosine similarity,
/// best first. Chunks of documents still being added are in the shared index already; they
/// are left out until their document is ready, as the keyword search does.
fn dense_candidates(
    library: &dyn Storage,
    vector: &[f32],
    count: usize,
    docs: &[i64],
) -> Result<Vec<(i64, f32)>> {
    library.nearest(vector, count, docs)
}

/// Passages ranked: ids with their fused scores, best first, and what each list knows of them.
#[derive(Debug, Default)]
struct Ranked {
    fused: Vec<(i64, f64)>,
    /// Cosine similarity to the query, for those the dense search found.
    similarity: HashMap<i64, f32>,
    /// Found by words only: no vector yet.
    unseen: Vec<i64>,
}

/// The passages for a query. With English terms for a Chinese question, each passage is ranked
/// by the question in its document's language — passages of Chinese (or Japanese, Korean)
/// documents by the question as asked, the others by its English terms — and the two rankings
/// are merged by score, each a share of the most its ranking can give.
fn rank(
    library: &dyn Storage,
    vectors: Option<&QueryVectors>,
    keyword: KeywordCandidates,
    options: &SearchOptions,
) -> Result<Ranked> {
    let asked = rank_one(
        library,
        vectors.map(|v| v.asked.as_slice()),
        keyword.asked,
        1.0,
        options,
    )?;
    let Some(english_keyword) = keyword.english else {
        return Ok(asked);
    };
    let english_vector = vectors.and_then(|v| v.english.as_deref());
    let english = rank_one(
        library,
        english_vector,
        english_keyword,
        TRANSLATED_KEYWORD_WEIGHT,
        options,
    )?;
    let mut ids: Vec<i64> = asked.fused.iter().map(|f| f.0).collect();
    ids.extend(english.fused.iter().map(|f| f.0));
    ids.sort_unstable();
    ids.dedup();
    // A passage takes its document's language: the code listings of a Chinese manual are
    // ranked by the question as asked, like its prose.
    let chinese = library.cjk_chunks(&ids)?;
    let fused = merge_languages(
        (&asked.fused, most_score(options, 1.0)),
        (
            &english.fused,
            most_score(options, TRANSLATED_KEYWORD_WEIGHT),
        ),
        &chinese,
    );
    let mine = |id: &i64| -> &Ranked {
        if chinese.contains(id) {
            &asked
        } else {
            &english
        }
    };
    let similarity = fused
        .iter()
        .filter_map(|(id, _)| mine(id).similarity.get(id).map(|s| (*id, *s)))
        .collect();
    let unseen = fused
        .iter()
        .map(|f| f.0)
        .filter(|id| mine(id).unseen.contains(id))
        .collect();
    Ok(Ranked {
        fused,
        similarity,
        unseen,
    })
}

/// How much more the keyword ranks of a Chinese question's English terms weigh than their
/// dense ranks. The terms are a dictionary's bag of words ([`crate::glossary`]): what BM25 is
/// made for, and what a sentence encoder reads poorly. Measured on the 40 Chinese questions
/// over the English manuals (multilingual-e5-small, hybrid hit@5, 2026-12-04): keywords alone
/// 0.68, dense alone 0.50; fused with equal weights 0.60, keywords weighing 1.5 or 2 0.68, 3
/// 0.65. A question as asked (English, or Chinese over Chinese documents) keeps equal weights.
const TRANSLATED_KEYWORD_WEIGHT: f64 = 2.0;

/// The passages of Chinese documents as the question as asked ranked them, the others as its
/// English terms did, in one list. Each passage keeps the score its own language's ranking gave
/// it, as a share of the most that ranking can give (`most`: both its lists' first place), so
/// that the two languages compare by how well each matched: a passage both lists of one
/// language agree on comes before one that a single list of the other found. Fusing the two
/// rankings by rank put the languages' passages in turns, a Chinese one first. On a tie the
/// question as asked comes first.
fn merge_languages(
    (asked, asked_most): (&[(i64, f64)], f64),
    (english, english_most): (&[(i64, f64)], f64),
    chinese: &HashSet<i64>,
) -> Vec<(i64, f64)> {
    let mut merged: Vec<(i64, f64)> = asked
        .iter()
        .filter(|(id, _)| chinese.contains(id))
        .map(|&(id, score)| (id, score / asked_most))
        .chain(
            english
                .iter()
                .filter(|(id, _)| !chinese.contains(id))
                .map(|&(id, score)| (id, score / english_most)),
        )
        .collect();
    // Stable: ties keep the order above.
    merged.sort_by(|a, b| b.1.total_cmp(&a.1));
    merged
}

/// The most a passage can score in [`rank_one`] with these weights: first in both lists (first
/// in the one list searched, in a dense- or keyword-only search).
fn most_score(options: &SearchOptions, keyword_weight: f64) -> f64 {
    let dense = if options.mode == SearchMode::Keyword {
        0.0
    } else {
        1.0
    };
    let keyword = if options.mode == SearchMode::Dense {
        0.0
    } else {
        keyword_weight
    };
    (dense + keyword) / (RRF_K + 1.0)
}

/// Dense candidates for `vector`, fused with the keyword candidates by reciprocal rank, the
/// keyword ranks weighing `keyword_weight` times as much as the dense ones.
fn rank_one(
    library: &dyn Storage,
    vector: Option<&[f32]>,
    keyword: Vec<i64>,
    keyword_weight: f64,
    options: &SearchOptions,
) -> Result<Ranked> {
    let dense = match vector {
        Some(v) if options.mode != SearchMode::Keyword => {
            dense_candidates(library, v, candidates(options.k), &options.docs)?
        }
        _ => Vec::new(),
    };
    let dense_ids: Vec<i64> = dense.iter().map(|d| d.0).collect();
    let similarity: HashMap<i64, f32> = dense.into_iter().collect();
    // A passage without a vector yet cannot be ranked by meaning. Fused as it is, it would
    // lose to every passage both lists rank; instead its keyword rank stands in for the rank by
    // meaning it does not have (it is counted twice). Only when both lists are searched.
    let unseen: Vec<i64> = if vector.is_some() && options.mode == SearchMode::Hybrid {
        library.missing_vectors(&keyword)?
    } else {
        Vec::new()
    };
    let mut fused =
        weighted_rank_fusion(&[(&dense_ids, 1.0), (&keyword, keyword_weight)], usize::MAX);
    for (rank, id) in keyword.iter().enumerate() {
        if unseen.contains(id) {
            if let Some(f) = fused.iter_mut().find(|f| f.0 == *id) {
                f.1 += 1.0 / (RRF_K + rank as f64 + 1.0);
            }
        }
    }
    // Stable: ties keep the fusion's order.
    fused.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(Ranked {
        fused,
        similarity,
        unseen,
    })
}

/// The best `k` of the ranked passages, read back.
fn read_hits(library: &dyn Storage, mut ranked: Ranked, k: usize) -> Result<Vec<SearchHit>> {
    ranked.fused.truncate(k);
    let scores: HashMap<i64, f64> = ranked.fused.iter().copied().collect();
    let ids: Vec<i64> = ranked.fused.iter().map(|f| f.0).collect();
    Ok(library
        .chunks(&ids)?
        .into_iter()
        .map(|chunk| SearchHit {
            score: scores[&chunk.id],
            similarity: ranked.similarity.get(&chunk.id).copied(),
            by_words_only: ranked.unseen.contains(&chunk.id),
            chunk,
        })
        .collect())
}

/// The constant of reciprocal rank fusion (Cormack et al. 2009): damps the weight of the very
/// first ranks so that agreement between lists counts more than one list's top hit.
pub const RRF_K: f64 = 60.0;

/// Fuses ranked lists of ids: each id scores the sum of `1 / (RRF_K + rank)` over the lists it
/// appears in (rank from 1). Returns the best `limit` ids with their scores, best first; ties
/// keep the order of first appearance.
pub fn reciprocal_rank_fusion(lists: &[&[i64]], limit: usize) -> Vec<(i64, f64)> {
    let weighted: Vec<(&[i64], f64)> = lists.iter().map(|l| (*l, 1.0)).collect();
    weighted_rank_fusion(&weighted, limit)
}

/// [`reciprocal_rank_fusion`] with a weight per list: an id scores the sum of
/// `weight / (RRF_K + rank)`.
pub fn weighted_rank_fusion(lists: &[(&[i64], f64)], limit: usize) -> Vec<(i64, f64)> {
    let mut scores: HashMap<i64, (f64, usize)> = HashMap::new();
    let mut seen = 0;
    for (list, weight) in lists {
        for (rank, &id) in list.iter().enumerate() {
            let entry = scores.entry(id).or_insert_with(|| {
                seen += 1;
                (0.0, seen)
            });
            entry.0 += weight / (RRF_K + rank as f64 + 1.0);
        }
    }
    let mut fused: Vec<(i64, f64, usize)> = scores
        .into_iter()
        .map(|(id, (s, order))| (id, s, order))
        .collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    fused
        .into_iter()
        .take(limit)
        .map(|(id, s, _)| (id, s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_merge_by_how_well_each_matched() {
        // Passages 1-3 are of Chinese documents, 10-12 of English ones. The question as asked
        // (weights 1 + 1) found passage 1 first in one list only; its English terms (weights
        // 1 + 2) found 10 first in both lists.
        let chinese: HashSet<i64> = [1, 2, 3].into_iter().collect();
        let most = |weights: f64| weights / (RRF_K + 1.0);
        let asked = [(1, 1.0 / 61.0), (2, 1.0 / 62.0), (10, 1.0 / 63.0)];
        let english = [
            (10, 3.0 / 61.0),
            (11, 2.0 / 62.0),
            (2, 1.0 / 61.0),
            (12, 1.0 / 64.0),
        ];
        let merged = merge_languages((&asked, most(2.0)), (&english, most(3.0)), &chinese);
        let ids: Vec<i64> = merged.iter().map(|m| m.0).collect();
        // Each passage ranked by its own language only: 10 (1.0), 11 (0.66), 1 (0.5), 2 (0.49),
        // 12 (0.32).
        assert_eq!(ids, [10, 11, 1, 2, 12]);
        assert!((merged[0].1 - 1.0).abs() < 1e-12);
        // Equal shares: the question as asked first.
        let merged = merge_languages(
            (&[(1, 2.0 / 61.0)], most(2.0)),
            (&[(10, 3.0 / 61.0)], most(3.0)),
            &chinese,
        );
        assert_eq!(merged.iter().map(|m| m.0).collect::<Vec<_>>(), [1, 10]);
    }

    #[test]
    fn agreement_beats_a_single_top_hit() {
        let dense = [1, 2, 3];
        let keyword = [4, 2, 5];
        let fused = reciprocal_rank_fusion(&[&dense, &keyword], 3);
        assert_eq!(fused[0].0, 2);
        assert!((fused[0].1 - 2.0 / 62.0).abs() < 1e-12);
        // 1 and 4 tie at rank 1 of one list; the first list's comes first.
        assert_eq!(fused[1].0, 1);
        assert_eq!(fused[2].0, 4);
    }

    #[test]
    fn a_weighted_list_counts_more() {
        let dense = [1, 2];
        let keyword = [3, 2];
        let order = |weight: f64| {
            weighted_rank_fusion(&[(&dense, 1.0), (&keyword, weight)], 3)
                .iter()
                .map(|f| f.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(order(1.0), [2, 1, 3]);
        assert_eq!(order(2.0), [2, 3, 1]);
        let fused = weighted_rank_fusion(&[(&dense, 1.0), (&keyword, 2.0)], 1);
        assert!((fused[0].1 - 3.0 / 62.0).abs() < 1e-12);
    }

    #[test]
    fn one_list_keeps_its_order() {
        let fused = reciprocal_rank_fusion(&[&[7, 8, 9], &[]], 10);
        assert_eq!(fused.iter().map(|f| f.0).collect::<Vec<_>>(), [7, 8, 9]);
    }
}
