//! Asking the library: retrieval, a prompt that fits, an answer streamed from the local model,
//! its citations and supporting quotes, and the conversation it belongs to.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use serde::Serialize;

use crate::answer::{
    answer_opening, auto_passage_tokens, citations, conversation_title, fit_prompt,
    not_covered_figure, not_covered_naming, standalone_query, Citation, FittedPrompt, Quote,
    Source,
};
use crate::conversation::{no_conversation, Checked, Exchange};
use crate::error::{Error, Result};
use crate::focus::focus_passage;
use crate::generate::{Flow, GenerationStats, Generator, Message, Sampling, StopReason};
use crate::markers::{segments, without_dangling_marker, MarkerStream, Segment};
use crate::retrieve::{
    search_by, validate_k, PendingVectors, Query, QueryVectors, SearchMode, SearchOptions,
};
use crate::runtime::{Embedding, Models};
use crate::storage::Storage;
use crate::support::{dot, SourceSentences};
use crate::text::query_terms;
use crate::verify::{
    claims, content_words, verified_text, verify, AnswerSentence, Evidence, Omission, Outcome,
    Support,
};

/// Below this cosine similarity (all-MiniLM-L6-v2, question to passage) a source is taken as
/// unrelated to the question. Measured on clsguide.pdf: the best passage for each of the 22
/// labelled questions scored 0.354–0.722; for 10 off-topic questions (bread, vaccines, car
/// repair, …) 0.018–0.206.
pub const RELEVANT_SIMILARITY: f32 = 0.3;

/// How much of each retrieved passage goes into the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passages {
    /// Whole passages when this machine evaluates such a prompt within
    /// [`crate::answer::FIRST_TOKEN_TARGET_SECONDS`]; otherwise each is focused on the question
    /// to what fits that time, but never below [`crate::answer::MIN_PASSAGE_TOKENS`] (see
    /// [`auto_passage_tokens`]).
    Auto,
    Whole,
    /// Each passage focused to about this many tokens of the answer model ([`crate::focus`]).
    Tokens(usize),
}

impl std::str::FromStr for Passages {
    type Err = Error;
    fn from_str(value: &str) -> Result<Passages> {
        match value {
            "auto" => Ok(Passages::Auto),
            "whole" | "0" => Ok(Passages::Whole),
            n => match n.parse::<usize>() {
                Ok(n) if n >= 16 => Ok(Passages::Tokens(n)),
                _ => Err(Error::Usage(format!(
                    "passages must be auto, whole or a number of tokens (at least 16), not {n:?}"
                ))),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct AskOptions {
    /// Sources retrieved for the model (fewer when they do not fit its context), 1 to
    /// [`crate::retrieve::MAX_K`].
    pub k: usize,
    /// Only these documents (none: all).
    pub docs: Vec<i64>,
    /// Continue this conversation; `None` starts a new one.
    pub conversation: Option<i64>,
    /// Store the question and answer in the conversation.
    pub save: bool,
    /// Earlier messages (questions and answers) the model sees.
    pub history_messages: usize,
    /// How much of each source the model reads.
    pub passages: Passages,
    pub sampling: Sampling,
    /// Have the answer model write an answer after the extractive one; `false`: the sentences
    /// of the documents only, no model.
    pub generate: bool,
}

impl Default for AskOptions {
    fn default() -> AskOptions {
        AskOptions {
            k: 5,
            docs: Vec::new(),
            conversation: None,
            save: true,
            history_messages: 6,
            passages: Passages::Auto,
            sampling: Sampling::default(),
            generate: true,
        }
    }
}

impl AskOptions {
    pub fn validate(&self) -> Result<()> {
        validate_k(self.k, "sources per answer")?;
        if self.sampling.max_tokens == 0 {
            return Err(Error::Usage(
                "the answer needs room for at least one token".into(),
            ));
        }
        Ok(())
    }
}

/// What an answer reports while it is being made, in this order: the sources, the extractive
/// answer, the model's text and citation markers as they are written (not yet checked), then
/// the finished, checked answer.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum AskEvent {
    /// Every source the model gets (none cited yet), before it starts writing.
    Sources(Vec<Citation>),
    /// The extractive answer ("From your documents"): the sentences of the sources that answer
    /// the question best, before the model starts (empty when the documents do not cover it).
    Quotes(Vec<Quote>),
    /// The next piece of plain text (valid UTF-8, never part of a character).
    Text(String),
    /// A citation marker as the model wrote it, already parsed: the sources it names. Not yet
    /// checked: the finished answer keeps only the citations its sources support.
    Cite(Vec<usize>),
    /// The finished answer, checked sentence by sentence.
    Done(Box<Answer>),
}

/// How the prompt was put together (all zero when no model was asked).
#[derive(Debug, Clone, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct PromptReport {
    /// The whole prompt text as the model got it.
    #[serde(skip)]
    #[ts(skip)]
    pub text: String,
    #[serde(skip)]
    #[ts(skip)]
    pub tokens: usize,
    pub context_tokens: usize,
    /// Room kept for the answer.
    pub answer_tokens: usize,
    /// Sources retrieved, and how many of them fit.
    pub sources_found: usize,
    pub sources_given: usize,
    pub history_messages: usize,
    pub truncated: bool,
    /// Whether any source seemed to be about the question; when not, the model was told.
    pub relevant: bool,
    /// The first words of the answer, written for the model (part of the answer's text).
    #[serde(skip)]
    #[ts(skip)]
    pub opening: &'static str,
    /// Each source was focused to about this many tokens (0: whole passages).
    pub passage_tokens: usize,
}

/// Whether the documents seem to answer the question, decided before any model is asked.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Coverage {
    /// The closest in meaning (cosine) a sentence of the sources comes to the question.
    pub best_similarity: f32,
    /// The share of the question's content words that the sources hold.
    pub question_words_found: f32,
    /// Words of the question that occur nowhere in the documents asked.
    pub absent_terms: Vec<String>,
    /// Those of them that are names or identifiers (not ordinary words of the embedding
    /// model's vocabulary), a name with a version the documents never write together ("Debian
    /// 14"), or a file name with a part they never write as it is ("sysusers.d"): a question
    /// about something the documents never name.
    pub unknown_terms: Vec<String>,
    /// The question asks for a figure and nothing else ("What is the maximum length of a package
    /// name?", "How long does the review take?") and no source states one (a number with a
    /// unit).
    pub missing_figure: bool,
    pub covered: bool,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Answer {
    pub conversation_id: Option<i64>,
    pub message_id: Option<i64>,
    pub question: String,
    /// The query retrieval used (the question, with the previous one for follow-ups).
    pub query: String,
    /// What the answer is: the model's checked answer, the documents' own sentences, or the
    /// statement that the documents do not cover the question.
    pub outcome: Outcome,
    /// The answer's text as shown: the model's sentences that were kept, with the citations
    /// their sources support as `[n]` markers; or the not-covered statement.
    #[serde(rename = "answer")]
    pub text: String,
    /// `text` split into plain text and citations of `citations`.
    pub segments: Vec<Segment>,
    /// The model's sentences as checked: supported ones with their sources, the others marked.
    pub sentences: Vec<AnswerSentence>,
    /// What the model wrote that was left out (repeats, prompt labels, invented list items).
    pub omitted: Vec<Omission>,
    /// The model's output exactly as it was written.
    pub raw: String,
    /// Every source found, in prompt order; `cited` when a kept sentence cites it.
    pub citations: Vec<Citation>,
    /// The extractive answer: sentences of the sources, best first ("From your documents").
    pub quotes: Vec<Quote>,
    pub coverage: Coverage,
    #[serde(flatten)]
    pub prompt: PromptReport,
    #[serde(flatten)]
    pub stats: GenerationStats,
    /// The answer model's name (empty when none was asked).
    pub model: String,
}

impl PromptReport {
    /// The report of an answer no model was asked for.
    fn not_asked(sources_found: usize, relevant: bool) -> PromptReport {
        PromptReport {
            text: String::new(),
            tokens: 0,
            context_tokens: 0,
            answer_tokens: 0,
            sources_found,
            sources_given: 0,
            history_messages: 0,
            truncated: false,
            relevant,
            opening: "",
            passage_tokens: 0,
        }
    }
}

/// Retrieval's part of an answer: the query and what it found.
struct Retrieved {
    query: String,
    /// The query's English search terms, for a Chinese question ([`crate::glossary`]).
    english: Option<String>,
    history: Vec<Message>,
    vectors: QueryVectors,
    sources: Vec<Source>,
    relevant: bool,
}

/// What the generator thread sends back while it writes.
enum Update {
    Text(String),
    Done(Result<(PromptReport, GenerationStats)>),
}

pub(crate) fn ask(
    library: &dyn Storage,
    models: &Models,
    question: &str,
    options: &AskOptions,
    on_event: &mut dyn FnMut(&AskEvent) -> Flow,
) -> Result<Answer> {
    let question = question.trim();
    let retrieved = retrieve(library, models, question, options)?;
    let found = citations(&retrieved.sources, &[], &[]);
    let mut keep_going = on_event(&AskEvent::Sources(found.clone())) == Flow::Continue;
    let embedding = models.embedder()?;
    let said = SourceSentences::read(library, &embedding, &retrieved.sources)?;
    // Each source's words, read once: for the coverage check and the model's answer's check.
    let evidence: Vec<Evidence> = retrieved
        .sources
        .iter()
        .map(|s| Evidence::new(s.n, &s.chunk.passage.text))
        .collect();
    // A sentence is as close to the question as it is to the question or, for a Chinese
    // question, to its English terms (an English sentence is far from the Chinese words).
    let mut similarity = said.similarity(&retrieved.vectors.asked);
    if let Some(english) = &retrieved.vectors.english {
        for (s, e) in similarity.iter_mut().zip(said.similarity(english)) {
            *s = s.max(e);
        }
    }
    let coverage = coverage(
        library,
        &embedding,
        question,
        options,
        &retrieved.sources,
        &evidence,
        &similarity,
    )?;
    let quotes = if coverage.covered {
        match &retrieved.english {
            Some(english) => said.quotes(&similarity, &format!("{question} {english}")),
            None => said.quotes(&similarity, question),
        }
    } else {
        Vec::new()
    };
    keep_going &= on_event(&AskEvent::Quotes(quotes.clone())) == Flow::Continue;
    let mut answer = Answer {
        conversation_id: options.conversation,
        message_id: None,
        question: question.to_string(),
        query: retrieved.query.clone(),
        outcome: Outcome::NotCovered,
        text: String::new(),
        segments: Vec::new(),
        sentences: Vec::new(),
        omitted: Vec::new(),
        raw: String::new(),
        citations: found,
        quotes,
        coverage: coverage.clone(),
        prompt: PromptReport::not_asked(retrieved.sources.len(), retrieved.relevant),
        stats: GenerationStats::new(
            0,
            0,
            Default::default(),
            Default::default(),
            StopReason::NotAsked,
        ),
        model: String::new(),
    };
    if !coverage.covered {
        answer.text = if coverage.unknown_terms.is_empty() && coverage.missing_figure {
            not_covered_figure(question)
        } else {
            not_covered_naming(question, &coverage.unknown_terms)
        };
    } else if options.generate {
        let (raw, prompt, stats, model) =
            write_answer(models, question, &retrieved, options, keep_going, on_event)?;
        let given = &retrieved.sources[..prompt.sources_given];
        let (sentences, omitted) =
            check(&embedding, &said, &evidence[..given.len()], question, &raw)?;
        let supported = sentences.iter().any(|s| s.support == Support::Supported);
        answer.outcome = if supported {
            Outcome::Verified
        } else {
            Outcome::FromDocuments
        };
        answer.text = verified_text(&sentences);
        answer.citations = cited_sources(&retrieved.sources, &sentences);
        (answer.sentences, answer.omitted, answer.raw) = (sentences, omitted, raw);
        (answer.prompt, answer.stats, answer.model) = (prompt, stats, model);
    } else {
        answer.outcome = Outcome::FromDocuments;
    }
    answer.segments = segments(&answer.text, answer.citations.len());
    // On read-only storage the answer is given, not saved.
    if options.save && !library.is_read_only() {
        save(library, &mut answer)?;
    }
    on_event(&AskEvent::Done(Box::new(answer.clone())));
    Ok(answer)
}

/// A sentence of the sources must come at least this close in meaning (cosine,
/// all-MiniLM-L6-v2) to the question for the documents to cover it…
///
/// Chosen on the answer benchmark's 176 answerable and 30 unanswerable questions (a grid over
/// both thresholds, false refusals kept under 8 %): 0.48 / 0.56 decline 24 of the 30 and refuse 11
/// of the 176. What it cannot see are questions close to what the documents cover whose
/// specific answer is absent ("What is the maximum length of a package name?"): those reach
/// the model, whose sentences the verifier then checks.
pub const COVERED_SIMILARITY: f32 = 0.48;
/// …and this close when a word of the question occurs nowhere in the documents.
pub const COVERED_SIMILARITY_ABSENT: f32 = 0.56;

/// Whether the sources seem to answer the question at all: a name the documents never use, or
/// sentences far from the question in meaning, say they do not.
fn coverage(
    library: &dyn Storage,
    embedding: &Embedding,
    question: &str,
    options: &AskOptions,
    sources: &[Source],
    evidence: &[Evidence],
    similarity: &[f32],
) -> Result<Coverage> {
    let best_similarity = similarity.iter().copied().fold(0.0, f32::max);
    let words = content_words(question);
    let found = words
        .iter()
        .filter(|w| evidence.iter().any(|e| e.has_word(w)))
        .count();
    let question_words_found = if words.is_empty() {
        1.0
    } else {
        found as f32 / words.len() as f32
    };
    let mut absent_terms = Vec::new();
    for term in query_terms(question) {
        let checkable = term.chars().count() >= 3
            && term.chars().all(|c| c.is_ascii_alphanumeric())
            && !term.chars().all(|c| c.is_ascii_digit());
        if checkable && !library.has_term(&term, &options.docs)? {
            absent_terms.push(term);
        }
    }
    let mut unknown_terms: Vec<String> = absent_terms
        .iter()
        .filter(|t| !embedding.tokens.is_word(t))
        .cloned()
        .collect();
    // Names the keyword index finds too readily: a name with a release or version number that
    // the documents never write together ("Debian 14" where they list Debian 9 to 13), and a
    // file or path name with a part they never write as it is ("sysusers.d": the stemmed index
    // finds "sysuser"). Either names something the documents do not.
    for (name, versioned) in versioned_names(question) {
        if library.has_term(&name, &options.docs)?
            && !library.has_term(&versioned, &options.docs)?
        {
            absent_terms.push(versioned.clone());
            unknown_terms.push(versioned);
        }
    }
    for (name, parts) in file_names(question) {
        let mut missing = false;
        for part in &parts {
            let known_absent = absent_terms.iter().any(|t| t.eq_ignore_ascii_case(part));
            if !known_absent && !library.has_text(part, &options.docs)? {
                missing = true;
                break;
            }
        }
        if missing {
            absent_terms.push(name.clone());
            unknown_terms.push(name);
        }
    }
    // The model's card may set its own thresholds: cosines mean different things per model.
    let card = &embedding.thread.info().card;
    let covered_at = card.covered_similarity.unwrap_or(COVERED_SIMILARITY);
    let absent_at = card
        .covered_similarity_absent
        .unwrap_or(COVERED_SIMILARITY_ABSENT);
    let missing_figure = crate::figures::asks_only_for_a_figure(question)
        && !sources
            .iter()
            .any(|s| crate::figures::states_a_figure(&s.chunk.passage.text));
    let covered = unknown_terms.is_empty()
        && !missing_figure
        && best_similarity >= covered_at
        && (absent_terms.is_empty() || best_similarity >= absent_at);
    Ok(Coverage {
        best_similarity,
        question_words_found,
        absent_terms,
        unknown_terms,
        missing_figure,
        covered,
    })
}

/// The question's words split on white space, with the punctuation that ends a sentence or
/// clause trimmed, and whether each starts a sentence.
fn plain_words(question: &str) -> Vec<(&str, bool)> {
    let mut words = Vec::new();
    let mut starts = true;
    for raw in question.split_whitespace() {
        let word = raw
            .trim_start_matches(['(', '"', '\'', '“', '‘'])
            .trim_end_matches(['.', ',', ';', ':', '?', '!', ')', '"', '\'', '”', '’']);
        if !word.is_empty() {
            words.push((word, starts));
        }
        starts = raw.ends_with(['.', '?', '!', ':']);
    }
    words
}

/// Names with a release or version number ("Debian 14", "Python 3.12"), as (the name, the
/// two words): a capitalised word that does not start a sentence, followed by a number.
fn versioned_names(question: &str) -> Vec<(String, String)> {
    let words = plain_words(question);
    let mut out = Vec::new();
    for pair in words.windows(2) {
        let ((name, starts), (number, _)) = (pair[0], pair[1]);
        let capitalised = name.starts_with(|c: char| c.is_ascii_uppercase())
            && name.chars().count() >= 2
            && name.chars().all(|c| c.is_ascii_alphanumeric());
        let version = number.starts_with(|c: char| c.is_ascii_digit())
            && number
                .split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        if capitalised && !starts && version {
            out.push((name.to_string(), format!("{name} {number}")));
        }
    }
    out
}

/// File, path and other dotted or slashed names of a question ("sysusers.d",
/// "/etc/cron.d/foo.hourly", "debian/rules"), each with its parts of three or more characters
/// that hold a letter.
fn file_names(question: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (word, _) in plain_words(question) {
        let chars: Vec<char> = word.chars().collect();
        let joined = chars.windows(3).any(|w| {
            w[0].is_ascii_alphanumeric()
                && matches!(w[1], '.' | '/' | '_')
                && w[2].is_ascii_alphanumeric()
        });
        if !joined || !word.chars().any(|c| c.is_ascii_alphabetic()) {
            continue;
        }
        let parts: Vec<String> = word
            .split(|c: char| !c.is_alphanumeric())
            .filter(|p| p.chars().count() >= 3 && p.chars().any(|c| c.is_alphabetic()))
            .map(str::to_string)
            .collect();
        if !parts.is_empty() && !out.iter().any(|(w, _)| w == word) {
            out.push((word.to_string(), parts));
        }
    }
    out
}

/// Checks the model's answer against the sources it was given (their `evidence`), sentence by
/// sentence.
fn check(
    embedding: &Embedding,
    said: &SourceSentences,
    evidence: &[Evidence],
    question: &str,
    raw: &str,
) -> Result<(Vec<AnswerSentence>, Vec<Omission>)> {
    let (claims, mut omitted) = claims(raw, evidence.len());
    if claims.is_empty() {
        return Ok((Vec::new(), omitted));
    }
    // The answer's sentences are compared with every sentence of the sources, the short ones
    // the extractive answer does not weigh too ("Default 200.").
    let others = said.others();
    let mut texts: Vec<String> = claims.iter().map(|c| c.text.clone()).collect();
    texts.extend(others.iter().map(|s| s.text.clone()));
    let mut vectors = embedding.thread.submit_first(texts)?.wait()?;
    let other_vectors = vectors.split_off(claims.len().min(vectors.len()));
    let shift = meaning_shift(&embedding.thread.info().card);
    let mut meaning = said.meaning(&vectors, evidence.len(), &others, &other_vectors);
    meaning.iter_mut().flatten().for_each(|m| *m += shift);
    let (sentences, more) = verify(question, &claims, evidence, &meaning);
    omitted.extend(more);
    Ok((sentences, omitted))
}

/// What moves the embedding model's cosines onto the scale the verifier's
/// [`crate::verify::MEANING`] was chosen on (all-MiniLM-L6-v2's): a model whose card gives its
/// own support threshold has it land on `MEANING`.
fn meaning_shift(card: &crate::embed::ModelCard) -> f32 {
    card.support_similarity
        .map_or(0.0, |own| crate::verify::MEANING - own)
}

/// How `passage` bears on `sentence` (words, meaning, names), as [`check`] measures it; its
/// [`crate::verify::Check::supports`] is the rule.
pub(crate) fn support_check(
    models: &Models,
    question: &str,
    sentence: &str,
    passage: &str,
) -> Result<(crate::verify::Check, bool)> {
    let embedding = models.embedder()?;
    let mut texts = vec![sentence.to_string()];
    texts.extend(
        crate::chunk::sentences(passage)
            .into_iter()
            .map(|(s, e)| passage[s..e].to_string()),
    );
    let vectors = embedding.thread.submit_first(texts)?.wait()?;
    let meaning = vectors[1..]
        .iter()
        .map(|v| dot(v, &vectors[0]))
        .fold(0.0, f32::max)
        + meaning_shift(&embedding.thread.info().card);
    let claim = crate::verify::Claim {
        text: sentence.trim().to_string(),
        new_line: false,
        list_item: crate::verify::list_label(sentence.trim()),
        cited: vec![1],
    };
    let evidence = [Evidence::new(1, passage)];
    let check = crate::verify::checks(claim.body(), &evidence, &[meaning])[0];
    let (checked, _) = verify(question, &[claim], &evidence, &[vec![meaning]]);
    let supported = checked
        .first()
        .is_some_and(|s| s.support == Support::Supported && s.sources == [1]);
    Ok((check, supported))
}

/// The sources found, `cited` where a kept sentence cites them, `attributed` where the model
/// had not cited that source for that sentence.
fn cited_sources(sources: &[Source], sentences: &[AnswerSentence]) -> Vec<Citation> {
    let mut cited: Vec<usize> = Vec::new();
    let mut attributed: Vec<usize> = Vec::new();
    for s in sentences {
        for &n in &s.sources {
            if !cited.contains(&n) {
                cited.push(n);
            }
        }
    }
    for n in &cited {
        let by_model = sentences
            .iter()
            .any(|s| s.sources.contains(n) && !s.added.contains(n));
        if !by_model {
            attributed.push(*n);
        }
    }
    citations(sources, &cited, &attributed)
}

/// Checks the request, then finds the sources for the question (with the conversation's
/// previous question for a follow-up).
fn retrieve(
    library: &dyn Storage,
    models: &Models,
    question: &str,
    options: &AskOptions,
) -> Result<Retrieved> {
    if question.trim().is_empty() {
        return Err(Error::Usage("the question is empty".into()));
    }
    if library.ready_documents()? == 0 {
        return Err(Error::EmptyLibrary);
    }
    let history = match options.conversation {
        Some(id) => {
            let store = library;
            store.conversation(id)?.ok_or_else(|| no_conversation(id))?;
            store.recent_turns(id, options.history_messages)?
        }
        None => Vec::new(),
    };
    let query = standalone_query(&history, question);
    let searched = Query::new(models, &query);
    let vectors = PendingVectors::submit(library, models, &searched)?.wait()?;
    let search = SearchOptions {
        k: options.k,
        docs: options.docs.clone(),
        mode: SearchMode::Hybrid,
    };
    let sources: Vec<Source> = search_by(library, &searched, Some(&vectors), &search)?
        .into_iter()
        .enumerate()
        .map(|(i, hit)| Source {
            n: i + 1,
            chunk: hit.chunk,
            similarity: hit.similarity,
            by_words_only: hit.by_words_only,
        })
        .collect();
    let relevant = sources
        .iter()
        .any(|s| s.similarity.unwrap_or(0.0) >= RELEVANT_SIMILARITY);
    Ok(Retrieved {
        query,
        english: searched.english,
        history,
        vectors,
        sources,
        relevant,
    })
}

/// Has the answer model write the answer on its thread, passing text and citation markers to
/// `on_event` as they come. Returns the text, how the prompt was made, what it cost and the
/// model's name.
fn write_answer(
    models: &Models,
    question: &str,
    retrieved: &Retrieved,
    options: &AskOptions,
    keep_going: bool,
    on_event: &mut dyn FnMut(&AskEvent) -> Flow,
) -> Result<(String, PromptReport, GenerationStats, String)> {
    let generator = models.generator()?;
    let (updates_tx, updates) = mpsc::channel::<Update>();
    let cancel = Arc::new(AtomicBool::new(!keep_going));
    let job = AnswerJob {
        question: question.to_string(),
        history: retrieved.history.clone(),
        sources: retrieved.sources.clone(),
        relevant: retrieved.relevant,
        passages: options.passages,
        sampling: options.sampling.clone(),
        cancel: cancel.clone(),
    };
    generator.submit(move |g: &mut Generator<'_>| {
        let result = job.run(g, &updates_tx);
        let _ = updates_tx.send(Update::Done(result));
    })?;
    let mut text = String::new();
    let mut markers = MarkerStream::new(retrieved.sources.len());
    let mut outcome = None;
    let mut emit = |segments: Vec<Segment>, cancel: &AtomicBool| {
        for segment in segments {
            let event = match segment {
                Segment::Text { text } => AskEvent::Text(text),
                Segment::Cite { sources } => AskEvent::Cite(sources),
            };
            if !cancel.load(Ordering::Relaxed) && on_event(&event) == Flow::Stop {
                cancel.store(true, Ordering::Relaxed);
            }
        }
    };
    for update in updates {
        match update {
            Update::Text(piece) => {
                text.push_str(&piece);
                emit(markers.push(&piece), &cancel);
            }
            Update::Done(result) => {
                outcome = Some(result);
                break;
            }
        }
    }
    emit(markers.finish(), &cancel);
    let (prompt, stats) =
        outcome.ok_or_else(|| Error::Generation("the generator thread stopped".into()))??;
    let mut text = without_dangling_marker(text.trim()).to_string();
    if text == prompt.opening.trim() {
        // The model said nothing after the words it was given.
        text.clear();
    }
    Ok((text, prompt, stats, generator.info().name.clone()))
}

/// Stores the question and answer in its conversation (a new one unless continuing one).
fn save(library: &dyn Storage, answer: &mut Answer) -> Result<()> {
    let store = library;
    let id = match answer.conversation_id {
        Some(id) => id,
        None => store.create_conversation(&conversation_title(&answer.question))?,
    };
    answer.conversation_id = Some(id);
    answer.message_id = Some(store.put_exchange(
        id,
        &Exchange {
            question: &answer.question,
            answer: &answer.text,
            stop: answer.stats.stop.as_str(),
            citations: &answer.citations,
            quotes: &answer.quotes,
            checked: &Checked {
                outcome: answer.outcome,
                sentences: answer.sentences.clone(),
                omitted: answer.omitted.clone(),
            },
        },
    )?);
    Ok(())
}

/// An answer to write on the generator thread: fit the prompt, then stream the answer.
struct AnswerJob {
    question: String,
    history: Vec<Message>,
    sources: Vec<Source>,
    relevant: bool,
    passages: Passages,
    sampling: Sampling,
    cancel: Arc<AtomicBool>,
}

impl AnswerJob {
    fn run(
        &self,
        g: &mut Generator<'_>,
        updates: &mpsc::Sender<Update>,
    ) -> Result<(PromptReport, GenerationStats)> {
        let context = g.info().context_tokens;
        // Room for the answer: what was asked for, but never more than half the window.
        let answer_tokens = self.sampling.max_tokens.min(context / 2);
        let (fitted, passage_tokens) = self.fit(g, context - answer_tokens)?;
        let opening = answer_opening(&self.question);
        let text = g.render(&fitted.messages)? + opening;
        let report = PromptReport {
            tokens: g.prompt_length(&text),
            text,
            context_tokens: context,
            answer_tokens,
            sources_found: self.sources.len(),
            sources_given: fitted.sources,
            history_messages: fitted.history,
            truncated: fitted.truncated,
            relevant: self.relevant,
            opening,
            passage_tokens,
        };
        let stats = self.stream(g, &report, answer_tokens, updates)?;
        Ok((report, stats))
    }

    /// The prompt that fits `limit` tokens, and the tokens each passage was focused to (0:
    /// whole passages). With `Auto`, the prompt with whole passages is fitted first; it is the
    /// one used when the machine is fast enough.
    fn fit(&self, g: &Generator<'_>, limit: usize) -> Result<(FittedPrompt, usize)> {
        let measure = |m: &[Message]| -> usize {
            match g.render(m) {
                Ok(text) => g.prompt_length(&text),
                Err(_) => usize::MAX,
            }
        };
        let count = |text: &str| g.count_tokens(text);
        let fit = |sources: &[Source]| {
            let (question, history) = (&self.question, &self.history);
            fit_prompt(question, history, sources, self.relevant, limit, &measure)
        };
        let whole = match self.passages {
            Passages::Auto => fit(&self.sources),
            _ => None,
        };
        let passage_tokens = match self.passages {
            Passages::Whole => 0,
            Passages::Tokens(n) => n,
            Passages::Auto => whole.as_ref().map_or(0, |whole| {
                let source_tokens = self.sources[..whole.sources]
                    .iter()
                    .map(|s| count(&s.chunk.passage.text))
                    .sum();
                auto_passage_tokens(whole.tokens, source_tokens, whole.sources, g.prompt_rate())
            }),
        };
        let fitted = match whole {
            Some(whole) if passage_tokens == 0 => Some(whole),
            _ if passage_tokens == 0 => fit(&self.sources),
            _ => {
                let terms = query_terms(&self.question);
                let focused: Vec<Source> = self
                    .sources
                    .iter()
                    .map(|s| {
                        let mut s = s.clone();
                        let text = &s.chunk.passage.text;
                        s.chunk.passage.text = focus_passage(text, &terms, passage_tokens, &count);
                        s
                    })
                    .collect();
                fit(&focused)
            }
        };
        let fitted = fitted.ok_or_else(|| {
            Error::Generation(format!(
                "the answer model's context window ({} tokens) is too small for even the \
                 instructions and the question",
                g.info().context_tokens
            ))
        })?;
        Ok((fitted, passage_tokens))
    }

    /// Generates the answer after the prompt, sending each piece of text on.
    fn stream(
        &self,
        g: &mut Generator<'_>,
        report: &PromptReport,
        answer_tokens: usize,
        updates: &mpsc::Sender<Update>,
    ) -> Result<GenerationStats> {
        let mut stops = g.stop_sequences();
        // A small base model that runs on tends to copy the prompt's layout: a new question, a
        // list of sources, a source's heading.
        stops.extend(["Question:", "Sources:"].map(String::from));
        let mut titles: Vec<String> = self.sources[..report.sources_given]
            .iter()
            .map(|s| format!("] {}, page", s.chunk.passage.title))
            .collect();
        titles.dedup();
        stops.extend(titles);
        let sampling = Sampling {
            max_tokens: answer_tokens,
            ..self.sampling.clone()
        };
        let opening = report.opening;
        if !opening.is_empty() && updates.send(Update::Text(opening.to_string())).is_err() {
            return Err(Error::Cancelled);
        }
        g.generate(&report.text, &sampling, &stops, &mut |piece| {
            if self.cancel.load(Ordering::Relaxed) {
                return Flow::Stop;
            }
            if !piece.is_empty() && updates.send(Update::Text(piece.to_string())).is_err() {
                return Flow::Stop;
            }
            Flow::Continue
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_names_are_capitalised_words_with_a_number_inside_a_sentence() {
        assert_eq!(
            versioned_names("What is the code name of Debian 14?"),
            vec![("Debian".to_string(), "Debian 14".to_string())]
        );
        assert_eq!(
            versioned_names("Does it run on Python 3.12, or only Python 3?"),
            vec![
                ("Python".to_string(), "Python 3.12".to_string()),
                ("Python".to_string(), "Python 3".to_string())
            ]
        );
        // A sentence's first word, lower-case words (the user's own numbers), and numbers
        // that are not versions are left alone.
        assert!(versioned_names("Debian 14 ships which kernel?").is_empty());
        assert!(versioned_names("My package is at version 1.4-5. Page 3 says so.").is_empty());
        assert!(versioned_names("I have about 40 bugs to file").is_empty());
        assert!(versioned_names("Is Figure 3a right?").is_empty());
    }

    #[test]
    fn file_names_are_dotted_or_slashed_words_with_their_parts() {
        assert_eq!(
            file_names("Should I ship a systemd sysusers.d file instead?"),
            vec![("sysusers.d".to_string(), vec!["sysusers".to_string()])]
        );
        assert_eq!(
            file_names("I installed /etc/cron.d/myapp.hourly, but cron never runs it."),
            vec![(
                "/etc/cron.d/myapp.hourly".to_string(),
                ["etc", "cron", "myapp", "hourly"]
                    .map(String::from)
                    .to_vec()
            )]
        );
        assert_eq!(
            file_names("Where does debian/rules live? And aux_i?"),
            vec![
                (
                    "debian/rules".to_string(),
                    vec!["debian".into(), "rules".into()]
                ),
                ("aux_i".to_string(), vec!["aux".into()]),
            ]
        );
        // Sentence ends, decimals, abbreviations and units are not file names.
        assert!(file_names("It is 9.81 m/s, e.g. fast. Really.").is_empty());
    }
}
