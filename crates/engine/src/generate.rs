//! Text written by a local GGUF model through llama.cpp, on a thread of its own.
//!
//! A llama.cpp context is not `Send`, so [`GeneratorThread`] loads the model and its context on
//! a dedicated thread (a `worker::Worker`) and runs jobs there: each job gets the
//! [`Generator`], which renders chat prompts (the model's own template, or a tested fallback),
//! counts tokens and generates text, streamed as valid UTF-8 pieces through a callback that can
//! stop it at any token.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::token::LlamaToken;

use crate::error::{Error, Result};
use crate::worker::{Jobs, Worker};

mod model;
mod prompt;
mod sampling;
mod stream;

pub use model::physical_cores;
pub use prompt::{Fallback, Message, PromptFormat, Role};
pub use sampling::Sampling;
pub use stream::{StopScanner, Utf8Stream};

use model::{load, new_context};
use sampling::make_sampler;
use stream::TextSink;

/// Contexts are capped at this many tokens unless asked otherwise: enough for many sources and
/// a conversation, small enough for a laptop's memory.
pub const DEFAULT_CONTEXT_CAP: u32 = 8192;

/// What to load and how to run it.
#[derive(Debug, Clone)]
pub struct GeneratorOptions {
    pub model: PathBuf,
    /// Context window in tokens; `None`: the model's trained length, capped at
    /// [`DEFAULT_CONTEXT_CAP`].
    pub context_tokens: Option<u32>,
    /// CPU threads; `None`: one per physical core.
    pub threads: Option<usize>,
    /// Offload every layer to the GPU (effective in builds with the `cuda` or `metal` feature).
    pub gpu: bool,
}

impl GeneratorOptions {
    pub fn new(model: impl Into<PathBuf>) -> GeneratorOptions {
        GeneratorOptions {
            model: model.into(),
            context_tokens: None,
            threads: None,
            gpu: true,
        }
    }
}
/// Whether generation goes on after a piece of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model ended its turn.
    EndOfText,
    /// The token limit was reached.
    MaxTokens,
    /// The model started a new turn or section of the prompt by itself.
    StopSequence,
    /// The caller stopped it.
    Cancelled,
    /// The context window was full.
    ContextFull,
    /// No model was asked (the documents' own sentences are the answer).
    NotAsked,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::EndOfText => "end_of_text",
            StopReason::MaxTokens => "max_tokens",
            StopReason::StopSequence => "stop_sequence",
            StopReason::Cancelled => "cancelled",
            StopReason::ContextFull => "context_full",
            StopReason::NotAsked => "not_asked",
        }
    }
}

/// What one generation cost.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct GenerationStats {
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    /// From the start of prompt processing to the first piece of text.
    #[serde(rename = "time_to_first_token_ms", with = "millis")]
    #[ts(type = "number")]
    pub time_to_first_token: Duration,
    /// Prompt processing and generation together.
    #[serde(rename = "total_time_ms", with = "millis")]
    #[ts(type = "number")]
    pub total_time: Duration,
    /// Generated tokens per second after the first one.
    pub tokens_per_second: f64,
    pub stop: StopReason,
}

impl GenerationStats {
    pub fn new(
        prompt_tokens: usize,
        generated_tokens: usize,
        time_to_first_token: Duration,
        total_time: Duration,
        stop: StopReason,
    ) -> GenerationStats {
        let after_first = total_time.saturating_sub(time_to_first_token);
        let tokens_per_second = if generated_tokens < 2 || after_first.is_zero() {
            0.0
        } else {
            (generated_tokens - 1) as f64 / after_first.as_secs_f64()
        };
        GenerationStats {
            prompt_tokens,
            generated_tokens,
            time_to_first_token,
            total_time,
            tokens_per_second,
            stop,
        }
    }
}

/// Durations as whole milliseconds in JSON.
mod millis {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<std::time::Duration, D::Error> {
        let millis: u64 = serde::Deserialize::deserialize(d)?;
        Ok(std::time::Duration::from_millis(millis))
    }
}

/// The loaded model, as the generator thread sees it.
#[derive(Debug, Clone)]
pub struct GeneratorInfo {
    pub path: PathBuf,
    /// `general.name` from the GGUF, else the file name.
    pub name: String,
    pub architecture: String,
    pub context_tokens: usize,
    pub trained_context_tokens: usize,
    pub threads: usize,
    pub format: PromptFormat,
    /// Where the layers run: "cpu", or the GPU backend with the number of layers offloaded.
    pub device: String,
}

/// The model and its context, usable only on the generator thread.
pub struct Generator<'m> {
    model: &'m LlamaModel,
    context: LlamaContext<'m>,
    info: GeneratorInfo,
    /// Prompt tokens evaluated per second on this machine: measured by the warm-up at start,
    /// then by every prompt long enough to tell.
    prompt_rate: f64,
}

/// Text evaluated once when the model is loaded: it brings the weights into memory and starts
/// the threads before the first question, and measures the prompt rate.
const WARM_UP_TEXT: &str = "Quire reads the documents on this computer and answers questions about them. Every answer names the pages it comes from, so that the reader can check it. The sources are numbered, and each sentence of the answer ends with the number of its source. Nothing leaves the machine: the models, the library and the conversations stay on this disk.";

/// Prompts shorter than this do not update the measured prompt rate.
const RATE_SAMPLE_TOKENS: usize = 48;

impl<'m> Generator<'m> {
    /// A context for `model`, warmed up (see [`Self::warm_up`]).
    fn open(model: &'m LlamaModel, info: GeneratorInfo) -> Result<Generator<'m>> {
        let context = new_context(model, &info)?;
        let mut generator = Generator {
            model,
            context,
            info,
            prompt_rate: 0.0,
        };
        generator.warm_up()?;
        Ok(generator)
    }

    pub fn info(&self) -> &GeneratorInfo {
        &self.info
    }

    /// Prompt tokens this machine evaluates per second with this model (see [`Self::warm_up`]).
    pub fn prompt_rate(&self) -> f64 {
        self.prompt_rate
    }

    /// Evaluates a short text once and forgets it: the first question then finds the weights in
    /// memory and the threads started, and [`Self::prompt_rate`] has a first measure.
    pub fn warm_up(&mut self) -> Result<()> {
        let tokens = self.prompt_tokens(&format!("{WARM_UP_TEXT} {WARM_UP_TEXT}"));
        let n_ctx = self.context.n_ctx() as usize;
        // Every prompt clears the context before it is evaluated, so nothing is left to undo.
        self.evaluate_prompt(&tokens[..tokens.len().min(n_ctx / 2)])?;
        Ok(())
    }

    /// Clears the context and evaluates `tokens` from position 0, asking for the last one's
    /// logits; updates the prompt rate. Returns the batch holding the last token.
    fn evaluate_prompt(&mut self, tokens: &[LlamaToken]) -> Result<LlamaBatch<'static>> {
        let started = Instant::now();
        self.context.clear_kv_cache();
        let n_batch = self.context.n_batch() as usize;
        let mut batch = LlamaBatch::new(n_batch.max(1), 1);
        for (start, piece) in tokens
            .chunks(n_batch)
            .enumerate()
            .map(|(i, p)| (i * n_batch, p))
        {
            batch.clear();
            for (offset, token) in piece.iter().enumerate() {
                let pos = start + offset;
                let last = pos + 1 == tokens.len();
                batch
                    .add(*token, pos as i32, &[0], last)
                    .map_err(|e| Error::Generation(e.to_string()))?;
            }
            self.context
                .decode(&mut batch)
                .map_err(|e| Error::Generation(format!("prompt: {e}")))?;
        }
        let seconds = started.elapsed().as_secs_f64();
        if tokens.len() >= RATE_SAMPLE_TOKENS && seconds > 0.0 {
            self.prompt_rate = tokens.len() as f64 / seconds;
        }
        Ok(batch)
    }

    /// Tokens of `text` as it appears inside a prompt (special markers parsed, no BOS).
    pub fn count_tokens(&self, text: &str) -> usize {
        self.model
            .vocab()
            .tokenize(text.as_bytes(), false, true)
            .len()
    }

    /// The whole prompt as the model will see it, tokenised (with BOS when the model wants it).
    fn prompt_tokens(&self, prompt: &str) -> Vec<LlamaToken> {
        self.model.vocab().tokenize(prompt.as_bytes(), true, true)
    }

    /// Number of tokens `prompt` takes in the context (BOS included).
    pub fn prompt_length(&self, prompt: &str) -> usize {
        self.prompt_tokens(prompt).len()
    }

    /// `messages` as one prompt in the model's format, ending where the answer begins.
    pub fn render(&self, messages: &[Message]) -> Result<String> {
        match &self.info.format {
            PromptFormat::Fallback(f) => Ok(f.render(messages)),
            PromptFormat::Model(template) => {
                let template = LlamaChatTemplate::new(template)
                    .map_err(|e| Error::Generation(format!("chat template: {e}")))?;
                let chat = messages
                    .iter()
                    .map(|m| LlamaChatMessage::new(m.role.as_str().into(), m.content.clone()))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| Error::Generation(format!("chat message: {e}")))?;
                self.model
                    .apply_chat_template(&template, &chat, true)
                    .map_err(|e| Error::Generation(format!("chat template: {e}")))
            }
        }
    }

    /// Text that ends the answer when the model writes it.
    pub fn stop_sequences(&self) -> Vec<String> {
        let fallback = match &self.info.format {
            PromptFormat::Fallback(f) => *f,
            PromptFormat::Model(_) => Fallback::for_architecture(&self.info.architecture),
        };
        fallback
            .stop_sequences()
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// Generates a continuation of `prompt`, handing each piece of text to `on_text` as soon as
    /// it is complete UTF-8 and cannot be the start of one of `stops`. `on_text` is called once
    /// per generated token (with an empty piece when the token completes no text), so that it
    /// can stop generation promptly.
    pub fn generate(
        &mut self,
        prompt: &str,
        sampling: &Sampling,
        stops: &[String],
        on_text: &mut dyn FnMut(&str) -> Flow,
    ) -> Result<GenerationStats> {
        let started = Instant::now();
        let tokens = self.prompt_tokens(prompt);
        let n_ctx = self.context.n_ctx() as usize;
        if tokens.len() >= n_ctx {
            return Err(Error::Generation(format!(
                "the prompt has {} tokens, more than the context window of {n_ctx}",
                tokens.len()
            )));
        }
        let batch = self.evaluate_prompt(&tokens)?;
        let mut text = TextSink::new(stops, started, on_text);
        let (stop, generated) = self.continue_from(batch, tokens.len(), sampling, &mut text)?;
        text.finish(stop);
        let total_time = started.elapsed();
        Ok(GenerationStats::new(
            tokens.len(),
            generated,
            text.first_text().unwrap_or(total_time),
            total_time,
            stop,
        ))
    }

    /// Samples and decodes one token after another from an evaluated prompt of `pos` tokens
    /// (`batch` holds its last one) until something stops it; returns why, and how many tokens
    /// it generated.
    fn continue_from(
        &mut self,
        mut batch: LlamaBatch<'static>,
        mut pos: usize,
        sampling: &Sampling,
        text: &mut TextSink<'_>,
    ) -> Result<(StopReason, usize)> {
        let n_ctx = self.context.n_ctx() as usize;
        let mut sampler = make_sampler(self.model, sampling);
        let vocab = self.model.vocab();
        let mut bytes = Vec::new();
        let mut generated = 0;
        let mut logits_index = batch.n_tokens() - 1;
        let stop = loop {
            if generated >= sampling.max_tokens {
                break StopReason::MaxTokens;
            }
            if pos >= n_ctx {
                break StopReason::ContextFull;
            }
            let token = sampler.sample(&self.context, logits_index);
            if vocab.is_eog(token) {
                break StopReason::EndOfText;
            }
            generated += 1;
            bytes.clear();
            vocab.token_to_piece_into(token, &mut bytes, false, None);
            if let Some(stop) = text.push(&bytes) {
                break stop;
            }
            batch.clear();
            batch
                .add(token, pos as i32, &[0], true)
                .map_err(|e| Error::Generation(e.to_string()))?;
            pos += 1;
            logits_index = 0;
            self.context
                .decode(&mut batch)
                .map_err(|e| Error::Generation(format!("generation: {e}")))?;
        };
        Ok((stop, generated))
    }
}

type Job = Box<dyn for<'m> FnOnce(&mut Generator<'m>) + Send>;

/// The generator's own thread: jobs run there one at a time, in order.
pub struct GeneratorThread {
    worker: Worker<Job>,
    info: GeneratorInfo,
}

impl GeneratorThread {
    /// Loads the model on a new thread; returns when it is ready (or failed to load).
    pub fn start(options: GeneratorOptions) -> Result<GeneratorThread> {
        let (worker, info) = Worker::spawn(
            "quire-generate",
            thread_stopped,
            move |ready, jobs: Jobs<Job>| {
                let (model, info) = match load(&options) {
                    Ok(loaded) => loaded,
                    Err(e) => return ready.fail(e),
                };
                let mut generator = match Generator::open(&model, info.clone()) {
                    Ok(generator) => generator,
                    Err(e) => return ready.fail(e),
                };
                ready.ok(info);
                for job in jobs {
                    job(&mut generator);
                }
            },
        )?;
        Ok(GeneratorThread { worker, info })
    }

    pub fn info(&self) -> &GeneratorInfo {
        &self.info
    }

    /// Runs `job` on the generator thread and waits for its result.
    pub fn run<R, F>(&self, job: F) -> Result<R>
    where
        R: Send + 'static,
        F: for<'m> FnOnce(&mut Generator<'m>) -> R + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        self.submit(move |g| {
            let _ = tx.send(job(g));
        })?;
        rx.recv().map_err(|_| thread_stopped())
    }

    /// Queues `job` on the generator thread without waiting.
    pub fn submit<F>(&self, job: F) -> Result<()>
    where
        F: for<'m> FnOnce(&mut Generator<'m>) + Send + 'static,
    {
        self.worker.submit(Box::new(job))
    }
}

fn thread_stopped() -> Error {
    Error::Generation("the generator thread stopped".into())
}
