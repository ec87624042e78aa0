//! Asking the library: retrieval, a prompt that fits, an answer streamed from the local model,
//! its citations and supporting quotes, and the conversation it belongs to.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use crate::answer::{
    answer_opening, attribute, auto_passage_tokens, citations, cited_numbers, conversation_title,
    fit_prompt, pick_quotes, says_not_found, source_sentences, standalone_query, uncited_sentences,
    Citation, Quote, Sentence, Source, ATTRIBUTION_SIMILARITY,
};
use crate::conversation::Exchange;
use crate::error::{Error, Result};
use crate::focus::focus_passage;
use crate::generate::{
    Flow, GenerationStats, GeneratorOptions, GeneratorThread, Message, Sampling,
};
use crate::library::{Library, SearchMode};
use crate::text::query_terms;
use crate::DeviceChoice;

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

/// Sentences considered for supporting quotes (from the cited or top sources).
const QUOTE_CANDIDATES: usize = 48;

#[derive(Debug, Clone)]
pub struct AskOptions {
    /// Sources retrieved for the model (fewer when they do not fit its context).
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

/// What an answer reports while it is being made.
#[derive(Debug)]
pub enum AskEvent<'a> {
    /// The sources the model gets, before it starts writing.
    Sources(&'a [Source]),
    /// The next piece of the answer (valid UTF-8, never part of a character).
    Text(&'a str),
}

/// How the prompt was put together.
#[derive(Debug, Clone)]
pub struct PromptReport {
    /// The whole prompt text as the model got it.
    pub text: String,
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
    pub opening: &'static str,
    /// Each source was focused to about this many tokens (0: whole passages).
    pub passage_tokens: usize,
}

#[derive(Debug, Clone)]
pub struct Answer {
    pub conversation_id: Option<i64>,
    pub message_id: Option<i64>,
    pub question: String,
    /// The query retrieval used (the question, with the previous one for follow-ups).
    pub query: String,
    /// The answer as it streamed, plus the `[n]` markers Quire attributed to sentences the
    /// model left uncited (see [`Citation::attributed`]).
    pub text: String,
    /// Every source given to the model, in prompt order.
    pub citations: Vec<Citation>,
    pub quotes: Vec<Quote>,
    pub prompt: PromptReport,
    pub stats: GenerationStats,
    pub model: String,
}

enum Update {
    Text(String),
    Done(Result<(PromptReport, GenerationStats)>),
}

impl Library {
    /// Loads the answer model (once) on its own thread.
    pub fn generator(&mut self) -> Result<&GeneratorThread> {
        if self.generator.is_none() {
            let options = self.options();
            let generator = GeneratorThread::start(GeneratorOptions {
                model: options.answer_model_path(),
                context_tokens: options.context_tokens,
                threads: options.generation_threads,
                gpu: options.device != DeviceChoice::Cpu,
            })?;
            self.generator = Some(generator);
        }
        Ok(self.generator.as_ref().expect("just loaded"))
    }

    /// Answers `question` from the library: `on_event` gets the sources, then the answer piece
    /// by piece, and can stop it by returning [`Flow::Stop`] (what was written so far is kept).
    pub fn ask(
        &mut self,
        question: &str,
        options: &AskOptions,
        on_event: &mut dyn FnMut(AskEvent<'_>) -> Flow,
    ) -> Result<Answer> {
        let question = question.trim();
        if question.is_empty() {
            return Err(Error::Usage("the question is empty".into()));
        }
        if self.store.ready_documents()? == 0 {
            return Err(Error::EmptyLibrary);
        }
        if let Some(id) = options.conversation {
            if self.store.conversation(id)?.is_none() {
                return Err(Error::Usage(format!("there is no conversation {id}")));
            }
        }
        let history = match options.conversation {
            Some(id) => self.store.recent_turns(id, options.history_messages)?,
            None => Vec::new(),
        };
        let query = standalone_query(&history, question);
        let vector = self.embed_query(&query)?;
        let found = self.search_by(
            &query,
            Some(&vector),
            options.k,
            &options.docs,
            SearchMode::Hybrid,
        )?;
        let sources: Vec<Source> = found
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

        let (updates_tx, updates) = mpsc::channel::<Update>();
        let cancel = Arc::new(AtomicBool::new(false));
        let job = {
            let cancel = cancel.clone();
            let question = question.to_string();
            let sources = sources.clone();
            let sampling = options.sampling.clone();
            let passages = options.passages;
            move |g: &mut crate::generate::Generator<'_>| {
                let result = answer_job(
                    g,
                    &question,
                    &history,
                    &sources,
                    relevant,
                    passages,
                    &sampling,
                    &cancel,
                    &updates_tx,
                );
                let _ = updates_tx.send(Update::Done(result));
            }
        };
        let model = self.generator()?.info().name.clone();
        self.generator()?.submit(job)?;
        if on_event(AskEvent::Sources(&sources)) == Flow::Stop {
            cancel.store(true, Ordering::Relaxed);
        }
        let mut text = String::new();
        let mut outcome = None;
        for update in updates {
            match update {
                Update::Text(piece) => {
                    text.push_str(&piece);
                    if !cancel.load(Ordering::Relaxed)
                        && on_event(AskEvent::Text(&piece)) == Flow::Stop
                    {
                        cancel.store(true, Ordering::Relaxed);
                    }
                }
                Update::Done(result) => {
                    outcome = Some(result);
                    break;
                }
            }
        }
        let (prompt, stats) =
            outcome.ok_or_else(|| Error::Generation("the generator thread stopped".into()))??;
        let mut text = text.trim().to_string();
        if text == prompt.opening.trim() {
            // The model said nothing after the words it was given.
            text.clear();
        }
        let given = &sources[..prompt.sources_given];
        let cited = cited_numbers(&text, given.len());
        let (text, attributed, quotes) = self.support(given, &cited, &vector, &text)?;
        let citations = citations(given, &cited, &attributed);

        let mut conversation_id = options.conversation;
        let mut message_id = None;
        if options.save {
            let id = match conversation_id {
                Some(id) => id,
                None => self
                    .store
                    .create_conversation(&conversation_title(question))?,
            };
            conversation_id = Some(id);
            message_id = Some(self.store.put_exchange(
                id,
                &Exchange {
                    question,
                    answer: &text,
                    stop: stats.stop.as_str(),
                    citations: &citations,
                    quotes: &quotes,
                },
            )?);
        }
        Ok(Answer {
            conversation_id,
            message_id,
            question: question.to_string(),
            query,
            text,
            citations,
            quotes,
            prompt,
            stats,
            model,
        })
    }

    /// The quotable sentences of `sources` (best-ranked sources first, at most
    /// [`QUOTE_CANDIDATES`]) with their vectors.
    fn source_sentences(&mut self, sources: &[Source]) -> Result<(Vec<Sentence>, Vec<Vec<f32>>)> {
        let mut sentences: Vec<Sentence> = Vec::new();
        for source in sources {
            let doc = source.chunk.document_id;
            let store = &self.store;
            let page_text = |page: u32| store.page_text(doc, page).ok().flatten();
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
        let vectors = self.embedder()?.embed(texts)?;
        Ok((sentences, vectors))
    }

    /// Adds `[n]` to the answer's sentences that the model left uncited but that clearly come
    /// from source n, and picks one to three supporting quotes from the cited sources (or the
    /// top three when none is cited). Returns the answer, the attributed sources and the quotes.
    fn support(
        &mut self,
        sources: &[Source],
        cited: &[usize],
        question_vector: &[f32],
        answer: &str,
    ) -> Result<(String, Vec<usize>, Vec<Quote>)> {
        let (sentences, vectors) = self.source_sentences(sources)?;
        if sentences.is_empty() {
            return Ok((answer.to_string(), Vec::new(), Vec::new()));
        }
        let dot = |a: &[f32], b: &[f32]| -> f32 { a.iter().zip(b).map(|(x, y)| x * y).sum() };
        let mut text = answer.to_string();
        let mut attributed = Vec::new();
        let spans = uncited_sentences(answer);
        if !spans.is_empty() && !says_not_found(answer) {
            let texts: Vec<String> = spans
                .iter()
                .map(|&(s, e)| answer[s..e].to_string())
                .collect();
            let answer_vectors = self.embedder()?.embed(texts)?;
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
            (text, attributed) = attribute(answer, &spans, &best);
        }
        let supporting: Vec<usize> = cited.iter().chain(&attributed).copied().collect();
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
        let quotes = pick_quotes(&chosen, &similarity, &text, &supporting);
        Ok((text, attributed, quotes))
    }
}

/// Runs on the generator thread: fits the prompt, then streams the answer.
#[allow(clippy::too_many_arguments)]
fn answer_job(
    g: &mut crate::generate::Generator<'_>,
    question: &str,
    history: &[Message],
    sources: &[Source],
    relevant: bool,
    passages: Passages,
    sampling: &Sampling,
    cancel: &AtomicBool,
    updates: &mpsc::Sender<Update>,
) -> Result<(PromptReport, GenerationStats)> {
    let context = g.info().context_tokens;
    // Room for the answer: what was asked for, but never more than half the window.
    let answer_tokens = sampling.max_tokens.min(context / 2);
    let limit = context - answer_tokens;
    let measure = |m: &[Message]| -> usize {
        match g.render(m) {
            Ok(text) => g.prompt_length(&text),
            Err(_) => usize::MAX,
        }
    };
    let count = |text: &str| g.count_tokens(text);
    let fit =
        |sources: &[Source]| fit_prompt(question, history, sources, relevant, limit, &measure);
    // With `Auto`, the prompt with whole passages is fitted first; it is the one used when the
    // machine is fast enough.
    let whole = match passages {
        Passages::Auto => fit(sources),
        _ => None,
    };
    let passage_tokens = match passages {
        Passages::Whole => 0,
        Passages::Tokens(n) => n,
        Passages::Auto => whole.as_ref().map_or(0, |whole| {
            let source_tokens = sources[..whole.sources]
                .iter()
                .map(|s| count(&s.chunk.text))
                .sum();
            auto_passage_tokens(whole.tokens, source_tokens, whole.sources, g.prompt_rate())
        }),
    };
    let focused: Vec<Source>;
    let sources = if passage_tokens == 0 {
        sources
    } else {
        let terms = query_terms(question);
        focused = sources
            .iter()
            .map(|s| {
                let mut s = s.clone();
                s.chunk.text = focus_passage(&s.chunk.text, &terms, passage_tokens, &count);
                s
            })
            .collect();
        &focused[..]
    };
    let fitted = match whole {
        Some(whole) if passage_tokens == 0 => Some(whole),
        _ => fit(sources),
    }
    .ok_or_else(|| {
        Error::Generation(format!(
            "the answer model's context window ({context} tokens) is too small for even the \
             instructions and the question"
        ))
    })?;
    let opening = answer_opening(question);
    let text = g.render(&fitted.messages)? + opening;
    let report = PromptReport {
        tokens: g.prompt_length(&text),
        text,
        context_tokens: context,
        answer_tokens,
        sources_found: sources.len(),
        sources_given: fitted.sources,
        history_messages: fitted.history,
        truncated: fitted.truncated,
        relevant,
        opening,
        passage_tokens,
    };
    let mut stops = g.stop_sequences();
    // A small base model that runs on tends to copy the prompt's layout: a new question, a
    // list of sources, a source's heading.
    stops.extend(["Question:", "Sources:"].map(String::from));
    let mut titles: Vec<String> = sources[..fitted.sources]
        .iter()
        .map(|s| format!("] {}, page", s.chunk.title))
        .collect();
    titles.dedup();
    stops.extend(titles);
    let sampling = Sampling {
        max_tokens: answer_tokens,
        ..sampling.clone()
    };
    if !opening.is_empty() && updates.send(Update::Text(opening.to_string())).is_err() {
        return Err(Error::Cancelled);
    }
    let stats = g.generate(&report.text, &sampling, &stops, &mut |piece| {
        if cancel.load(Ordering::Relaxed) {
            return Flow::Stop;
        }
        if !piece.is_empty() && updates.send(Update::Text(piece.to_string())).is_err() {
            return Flow::Stop;
        }
        Flow::Continue
    })?;
    Ok((report, stats))
}

impl Library {
    /// All conversations, the most recently active first.
    pub fn conversations(&self) -> Result<Vec<crate::Conversation>> {
        self.store.conversations()
    }

    /// Every message of a conversation, oldest first.
    pub fn conversation_messages(&self, id: i64) -> Result<Vec<crate::StoredMessage>> {
        if self.store.conversation(id)?.is_none() {
            return Err(Error::Usage(format!("there is no conversation {id}")));
        }
        self.store.messages(id)
    }

    pub fn rename_conversation(&self, id: i64, title: &str) -> Result<()> {
        let title = title.trim();
        if title.is_empty() {
            return Err(Error::Usage("a conversation needs a title".into()));
        }
        if !self.store.rename_conversation(id, title)? {
            return Err(Error::Usage(format!("there is no conversation {id}")));
        }
        Ok(())
    }

    pub fn delete_conversation(&self, id: i64) -> Result<()> {
        if !self.store.delete_conversation(id)? {
            return Err(Error::Usage(format!("there is no conversation {id}")));
        }
        Ok(())
    }
}
