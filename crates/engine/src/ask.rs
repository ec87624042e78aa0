//! Asking the library: retrieval, a prompt that fits, an answer streamed from the local model,
//! its citations and supporting quotes, and the conversation it belongs to.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use serde::Serialize;

use crate::answer::{
    answer_opening, auto_passage_tokens, citations, conversation_title, fit_prompt,
    standalone_query, Citation, FittedPrompt, Quote, Source,
};
use crate::conversation::{no_conversation, Exchange};
use crate::error::{Error, Result};
use crate::focus::focus_passage;
use crate::generate::{Flow, GenerationStats, Generator, Message, Sampling};
use crate::library::Library;
use crate::markers::{cited_numbers, segments, without_dangling_marker, MarkerStream, Segment};
use crate::retrieve::{query_vector, search_by, validate_k, SearchMode, SearchOptions};
use crate::runtime::Models;
use crate::support::support;
use crate::text::query_terms;

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

/// What an answer reports while it is being made, in this order: the sources, the answer's
/// text and citation markers as they are written, then the finished answer.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum AskEvent {
    /// Every source the model gets (none cited yet), before it starts writing.
    Sources(Vec<Citation>),
    /// The next piece of plain text (valid UTF-8, never part of a character).
    Text(String),
    /// A citation marker, already parsed: the sources it names.
    Cite(Vec<usize>),
    /// The finished answer, with Quire's attributions and quotes.
    Done(Box<Answer>),
}

/// How the prompt was put together.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
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

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Answer {
    pub conversation_id: Option<i64>,
    pub message_id: Option<i64>,
    pub question: String,
    /// The query retrieval used (the question, with the previous one for follow-ups).
    pub query: String,
    /// The answer as it streamed, plus the `[n]` markers Quire attributed to sentences the
    /// model left uncited (see [`Citation::attributed`]).
    #[serde(rename = "answer")]
    pub text: String,
    /// `text` split into plain text and citations of `citations`.
    pub segments: Vec<Segment>,
    /// Every source given to the model, in prompt order.
    pub citations: Vec<Citation>,
    pub quotes: Vec<Quote>,
    #[serde(flatten)]
    pub prompt: PromptReport,
    #[serde(flatten)]
    pub stats: GenerationStats,
    pub model: String,
}

/// Retrieval's part of an answer: the query and what it found.
struct Retrieved {
    query: String,
    history: Vec<Message>,
    vector: Vec<f32>,
    sources: Vec<Source>,
    relevant: bool,
}

/// What the generator thread sends back while it writes.
enum Update {
    Text(String),
    Done(Result<(PromptReport, GenerationStats)>),
}

pub(crate) fn ask(
    library: &Library,
    models: &Models,
    question: &str,
    options: &AskOptions,
    on_event: &mut dyn FnMut(&AskEvent) -> Flow,
) -> Result<Answer> {
    let question = question.trim();
    let retrieved = retrieve(library, models, question, options)?;
    let given = citations(&retrieved.sources, &[], &[]);
    let keep_going = on_event(&AskEvent::Sources(given)) == Flow::Continue;
    let (text, prompt, stats, model) =
        write_answer(models, question, &retrieved, options, keep_going, on_event)?;
    let given = &retrieved.sources[..prompt.sources_given];
    let cited = cited_numbers(&text, given.len());
    let embedding = models.embedder()?;
    let found = support(library, &embedding, given, &cited, &retrieved.vector, &text)?;
    let mut answer = Answer {
        conversation_id: options.conversation,
        message_id: None,
        question: question.to_string(),
        query: retrieved.query,
        segments: segments(&found.text, given.len()),
        text: found.text,
        citations: citations(given, &cited, &found.attributed),
        quotes: found.quotes,
        prompt,
        stats,
        model,
    };
    if options.save {
        save(library, &mut answer)?;
    }
    on_event(&AskEvent::Done(Box::new(answer.clone())));
    Ok(answer)
}

/// Checks the request, then finds the sources for the question (with the conversation's
/// previous question for a follow-up).
fn retrieve(
    library: &Library,
    models: &Models,
    question: &str,
    options: &AskOptions,
) -> Result<Retrieved> {
    if question.is_empty() {
        return Err(Error::Usage("the question is empty".into()));
    }
    if library.store().ready_documents()? == 0 {
        return Err(Error::EmptyLibrary);
    }
    let history = match options.conversation {
        Some(id) => {
            let store = library.store();
            store.conversation(id)?.ok_or_else(|| no_conversation(id))?;
            store.recent_turns(id, options.history_messages)?
        }
        None => Vec::new(),
    };
    let query = standalone_query(&history, question);
    let vector = query_vector(library, models, &query)?;
    let search = SearchOptions {
        k: options.k,
        docs: options.docs.clone(),
        mode: SearchMode::Hybrid,
    };
    let sources: Vec<Source> = search_by(library, &query, Some(&vector), &search)?
        .into_iter()
        .enumerate()
        .map(|(i, hit)| Source {
            n: i + 1,
            chunk: hit.chunk,
            similarity: hit.similarity,
        })
        .collect();
    let relevant = sources
        .iter()
        .any(|s| s.similarity.unwrap_or(0.0) >= RELEVANT_SIMILARITY);
    Ok(Retrieved {
        query,
        history,
        vector,
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
fn save(library: &Library, answer: &mut Answer) -> Result<()> {
    let mut store = library.store();
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
