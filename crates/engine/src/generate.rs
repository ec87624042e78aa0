//! Text written by a local GGUF model through llama.cpp, on a thread of its own.
//!
//! A llama.cpp context is not `Send`, so [`GeneratorThread`] loads the model and its context on
//! a dedicated thread and runs jobs there: each job gets the [`Generator`], which renders chat
//! prompts (the model's own template, or a tested fallback), counts tokens and generates text,
//! streamed as valid UTF-8 pieces through a callback that can stop it at any token.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;

use crate::error::{Error, Result};

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

/// How the next token is chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampling {
    /// 0 picks the most likely token every time.
    pub temperature: f32,
    pub top_k: i32,
    pub top_p: f32,
    pub min_p: f32,
    /// Penalty for tokens seen in the last `repeat_last_n` tokens (1 = off).
    pub repeat_penalty: f32,
    pub repeat_last_n: i32,
    /// DRY penalty for repeating longer sequences (0 = off): what keeps small base models from
    /// copying their prompt over and over.
    pub dry_multiplier: f32,
    pub seed: u32,
    /// Stop after this many generated tokens.
    pub max_tokens: usize,
}

impl Default for Sampling {
    fn default() -> Sampling {
        Sampling {
            temperature: 0.2,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.15,
            repeat_last_n: 256,
            dry_multiplier: 0.8,
            seed: 42,
            max_tokens: 256,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Message {
        Message {
            role,
            content: content.into(),
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
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
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::EndOfText => "end_of_text",
            StopReason::MaxTokens => "max_tokens",
            StopReason::StopSequence => "stop_sequence",
            StopReason::Cancelled => "cancelled",
            StopReason::ContextFull => "context_full",
        }
    }
}

/// What one generation cost.
#[derive(Debug, Clone, PartialEq, serde::Serialize, ts_rs::TS)]
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
}

/// How chat messages become one prompt.
#[derive(Debug, Clone)]
pub enum PromptFormat {
    /// The GGUF's own template, as llama.cpp's template engine applies it.
    Model(String),
    /// Our own rendering of a known format, for models without a template llama.cpp knows.
    Fallback(Fallback),
}

/// Chat formats Quire renders itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// `<start_of_turn>user … <end_of_turn>`; Gemma has no system role, so the system text
    /// opens the first user turn.
    Gemma,
    /// `<|im_start|>role … <|im_end|>`, understood by many small models.
    ChatMl,
}

impl Fallback {
    /// The format suited to a model architecture (from the GGUF's `general.architecture`).
    pub fn for_architecture(architecture: &str) -> Fallback {
        if architecture.starts_with("gemma") {
            Fallback::Gemma
        } else {
            Fallback::ChatMl
        }
    }

    /// The prompt for `messages`, ending with the opening of the assistant's turn.
    pub fn render(self, messages: &[Message]) -> String {
        let mut out = String::new();
        match self {
            Fallback::Gemma => {
                let mut system = String::new();
                for m in messages {
                    match m.role {
                        Role::System => {
                            system.push_str(m.content.trim());
                            system.push_str("\n\n");
                        }
                        Role::User | Role::Assistant => {
                            let role = if m.role == Role::User {
                                "user"
                            } else {
                                "model"
                            };
                            out.push_str("<start_of_turn>");
                            out.push_str(role);
                            out.push('\n');
                            if m.role == Role::User {
                                out.push_str(&std::mem::take(&mut system));
                            }
                            out.push_str(m.content.trim());
                            out.push_str("<end_of_turn>\n");
                        }
                    }
                }
                out.push_str("<start_of_turn>model\n");
            }
            Fallback::ChatMl => {
                for m in messages {
                    out.push_str("<|im_start|>");
                    out.push_str(m.role.as_str());
                    out.push('\n');
                    out.push_str(m.content.trim());
                    out.push_str("<|im_end|>\n");
                }
                out.push_str("<|im_start|>assistant\n");
            }
        }
        out
    }

    /// Text that means the model has started a turn of its own.
    fn stop_sequences(self) -> &'static [&'static str] {
        match self {
            Fallback::Gemma => &["<start_of_turn>", "<end_of_turn>"],
            Fallback::ChatMl => &["<|im_start|>", "<|im_end|>"],
        }
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

fn backend() -> Result<&'static LlamaBackend> {
    static BACKEND: OnceLock<std::result::Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            // llama.cpp logs every tensor it loads to stderr; our users get our messages instead.
            llama_cpp_2::send_logs_to_tracing(
                llama_cpp_2::LogOptions::default().with_logs_enabled(false),
            );
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Generation(format!("llama.cpp could not start: {e}")))
}

/// Number of physical cores (hyper-threads share one core's arithmetic units, and llama.cpp is
/// fastest with one thread per core).
pub fn physical_cores() -> usize {
    let logical = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut cores = std::collections::HashSet::new();
    for cpu in 0..logical {
        let path = format!("/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list");
        match std::fs::read_to_string(path) {
            Ok(siblings) => {
                cores.insert(siblings.trim().to_string());
            }
            Err(_) => return logical,
        }
    }
    cores.len().clamp(1, logical)
}

/// Turns token bytes into text without ever splitting a character: bytes of an unfinished
/// UTF-8 sequence wait for the next token; invalid bytes become U+FFFD.
#[derive(Debug, Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.push_str(std::str::from_utf8(&self.pending[..valid]).expect("valid"));
                    match e.error_len() {
                        // Incomplete sequence at the end: keep it for the next token.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        Some(bad) => {
                            out.push('\u{FFFD}');
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    /// Whatever is left at the end (an unfinished character becomes U+FFFD).
    pub fn finish(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}

/// Holds back text that might be the start of a stop sequence, and finds the sequences even
/// when they arrive split over several pieces.
#[derive(Debug)]
pub struct StopScanner {
    stops: Vec<String>,
    held: String,
}

impl StopScanner {
    pub fn new(stops: Vec<String>) -> StopScanner {
        StopScanner {
            stops: stops.into_iter().filter(|s| !s.is_empty()).collect(),
            held: String::new(),
        }
    }

    /// Text that is safe to show, and whether a stop sequence was found (the text before it is
    /// returned; the sequence itself and anything after it are dropped).
    pub fn push(&mut self, piece: &str) -> (String, bool) {
        self.held.push_str(piece);
        let first_stop = self
            .stops
            .iter()
            .filter_map(|s| self.held.find(s.as_str()))
            .min();
        if let Some(at) = first_stop {
            let out = self.held[..at].to_string();
            self.held.clear();
            return (out, true);
        }
        // Keep the longest tail that could still grow into a stop sequence.
        let mut keep = 0;
        for stop in &self.stops {
            for (i, _) in stop.char_indices().skip(1) {
                if self.held.ends_with(&stop[..i]) {
                    keep = keep.max(i);
                }
            }
        }
        let cut = self.held.len() - keep;
        let out = self.held[..cut].to_string();
        self.held.drain(..cut);
        (out, false)
    }

    /// Text held back when generation ends.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
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
        let mut batch = self.evaluate_prompt(&tokens)?;

        let mut sampler = make_sampler(self.model, sampling);
        let vocab = self.model.vocab();
        let mut utf8 = Utf8Stream::default();
        let mut scanner = StopScanner::new(stops.to_vec());
        let mut bytes = Vec::new();
        let mut first_text: Option<Duration> = None;
        let mut generated = 0;
        let mut pos = tokens.len();
        let mut logits_index = batch.n_tokens() - 1;
        let mut emit = |text: &str, first_text: &mut Option<Duration>| -> Flow {
            if first_text.is_none() && !text.is_empty() {
                *first_text = Some(started.elapsed());
            }
            on_text(text)
        };
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
            let text = utf8.push(&bytes);
            let (shown, stopped) = scanner.push(&text);
            if emit(&shown, &mut first_text) == Flow::Stop {
                break StopReason::Cancelled;
            }
            if stopped {
                break StopReason::StopSequence;
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
        if !matches!(stop, StopReason::Cancelled | StopReason::StopSequence) {
            let rest = utf8.finish();
            let (mut shown, _) = scanner.push(&rest);
            shown.push_str(&scanner.finish());
            if !shown.is_empty() {
                emit(&shown, &mut first_text);
            }
        }
        let total_time = started.elapsed();
        Ok(GenerationStats::new(
            tokens.len(),
            generated,
            first_text.unwrap_or(total_time),
            total_time,
            stop,
        ))
    }
}

/// Candidates kept before the penalties run. Penalties only lower scores, so a token outside
/// the 256 most likely can never come back into the final choice; without this cut, each
/// penalty would walk the whole vocabulary (262,144 tokens for Gemma 3) at every token.
const PENALTY_CANDIDATES: i32 = 256;

fn make_sampler(model: &LlamaModel, s: &Sampling) -> LlamaSampler {
    let mut chain = vec![LlamaSampler::top_k(PENALTY_CANDIDATES.max(s.top_k))];
    if s.repeat_penalty != 1.0 && s.repeat_last_n > 0 {
        chain.push(LlamaSampler::penalties(
            model.n_vocab(),
            s.repeat_last_n,
            s.repeat_penalty,
            0.0,
            0.0,
        ));
    }
    if s.dry_multiplier > 0.0 {
        chain.push(LlamaSampler::dry(
            model,
            s.dry_multiplier,
            1.75,
            2,
            s.repeat_last_n.max(64),
            ["\n", ":", "\"", "*"],
        ));
    }
    if s.temperature <= 0.0 {
        chain.push(LlamaSampler::greedy());
    } else {
        chain.push(LlamaSampler::top_k(s.top_k.max(1)));
        chain.push(LlamaSampler::top_p(s.top_p, 1));
        chain.push(LlamaSampler::min_p(s.min_p, 1));
        chain.push(LlamaSampler::temp(s.temperature));
        chain.push(LlamaSampler::dist(s.seed));
    }
    LlamaSampler::chain_simple(chain)
}

/// How a model's own template is used: kept when llama.cpp's template engine knows it, else
/// replaced by our rendering of the format its architecture uses.
fn prompt_format(model: &LlamaModel, architecture: &str) -> PromptFormat {
    let fallback = PromptFormat::Fallback(Fallback::for_architecture(architecture));
    let Ok(template) = model.chat_template(None) else {
        return fallback;
    };
    let Ok(text) = template.to_string() else {
        return fallback;
    };
    let probe = [
        LlamaChatMessage::new("system".into(), "S".into()),
        LlamaChatMessage::new("user".into(), "U".into()),
    ];
    let probe: Vec<_> = probe.into_iter().filter_map(|m| m.ok()).collect();
    match model.apply_chat_template(&template, &probe, true) {
        Ok(rendered) if rendered.contains('U') => PromptFormat::Model(text),
        _ => fallback,
    }
}

fn load(options: &GeneratorOptions) -> Result<(LlamaModel, GeneratorInfo)> {
    let path = &options.model;
    if !path.is_file() {
        return Err(Error::ModelMissing(format!(
            "the answer model {} is missing: fetch the default models with \
             `python3 models/fetch.py`, or choose another GGUF file",
            path.display()
        )));
    }
    let backend = backend()?;
    let gpu_layers = if options.gpu && backend.supports_gpu_offload() {
        u32::MAX
    } else {
        0
    };
    let params = LlamaModelParams::default().with_n_gpu_layers(gpu_layers);
    let model = LlamaModel::load_from_file(backend, path, &params).map_err(|e| {
        Error::ModelInvalid(format!(
            "{} is not a GGUF model that llama.cpp can load ({e})",
            path.display()
        ))
    })?;
    let architecture = model
        .meta_val_str("general.architecture")
        .unwrap_or_default();
    let name = model
        .meta_val_str("general.name")
        .ok()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| file_name(path));
    let trained = model.n_ctx_train() as usize;
    let context_tokens = match options.context_tokens {
        Some(n) => n as usize,
        None => trained.min(DEFAULT_CONTEXT_CAP as usize),
    }
    .clamp(256, trained.max(256));
    let threads = options.threads.unwrap_or_else(physical_cores).max(1);
    let device = if gpu_layers > 0 {
        format!("gpu ({} layers)", model.n_layer())
    } else {
        "cpu".to_string()
    };
    let format = prompt_format(&model, &architecture);
    let info = GeneratorInfo {
        path: path.clone(),
        name,
        architecture,
        context_tokens,
        trained_context_tokens: trained,
        threads,
        format,
        device,
    };
    Ok((model, info))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn new_context<'m>(model: &'m LlamaModel, info: &GeneratorInfo) -> Result<LlamaContext<'m>> {
    let n_ctx = NonZeroU32::new(info.context_tokens as u32);
    let params = LlamaContextParams::default()
        .with_n_ctx(n_ctx)
        .with_n_batch((info.context_tokens as u32).min(2048))
        .with_n_threads(info.threads as i32)
        .with_n_threads_batch(info.threads as i32)
        .with_no_perf(true);
    model
        .new_context(backend()?, params)
        .map_err(|e| Error::Generation(format!("could not create a context: {e}")))
}

type Job = Box<dyn for<'m> FnOnce(&mut Generator<'m>) + Send>;

/// The generator's own thread: jobs go in through a channel and run one at a time.
pub struct GeneratorThread {
    jobs: Option<mpsc::Sender<Job>>,
    info: GeneratorInfo,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl GeneratorThread {
    /// Loads the model on a new thread; returns when it is ready (or failed to load).
    pub fn start(options: GeneratorOptions) -> Result<GeneratorThread> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<GeneratorInfo>>();
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("quire-generate".into())
            .spawn(move || {
                let (model, info) = match load(&options) {
                    Ok(loaded) => loaded,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let context = match new_context(&model, &info) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let mut generator = Generator {
                    model: &model,
                    context,
                    info: info.clone(),
                    prompt_rate: 0.0,
                };
                if let Err(e) = generator.warm_up() {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
                if ready_tx.send(Ok(info)).is_err() {
                    return;
                }
                for job in jobs_rx {
                    job(&mut generator);
                }
            })?;
        let info = ready_rx
            .recv()
            .map_err(|_| Error::Generation("the generator thread stopped".into()))??;
        Ok(GeneratorThread {
            jobs: Some(jobs_tx),
            info,
            handle: Some(handle),
        })
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
        rx.recv()
            .map_err(|_| Error::Generation("the generator thread stopped".into()))
    }

    /// Queues `job` on the generator thread without waiting.
    pub fn submit<F>(&self, job: F) -> Result<()>
    where
        F: for<'m> FnOnce(&mut Generator<'m>) + Send + 'static,
    {
        self.jobs
            .as_ref()
            .expect("open until dropped")
            .send(Box::new(job))
            .map_err(|_| Error::Generation("the generator thread stopped".into()))
    }
}

impl Drop for GeneratorThread {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_stream_never_splits_a_character() {
        let text = "答案在第三页。";
        let bytes = text.as_bytes();
        let mut stream = Utf8Stream::default();
        let mut out = String::new();
        for b in bytes {
            let piece = stream.push(std::slice::from_ref(b));
            assert!(std::str::from_utf8(piece.as_bytes()).is_ok());
            out.push_str(&piece);
        }
        out.push_str(&stream.finish());
        assert_eq!(out, text);
        let mut stream = Utf8Stream::default();
        assert_eq!(stream.push(&[b'a', 0xFF, b'b']), "a\u{FFFD}b");
        assert_eq!(stream.push(&[0xE7, 0xAD]), "");
        assert_eq!(stream.finish(), "\u{FFFD}");
    }

    #[test]
    fn stop_scanner_finds_split_sequences_and_holds_prefixes() {
        let mut s = StopScanner::new(vec!["<end_of_turn>".into(), "\nQuestion:".into()]);
        assert_eq!(s.push("The answer"), ("The answer".to_string(), false));
        assert_eq!(s.push(" is 4.<end_"), (" is 4.".to_string(), false));
        assert_eq!(s.push("of_turn> more"), (String::new(), true));
        let mut s = StopScanner::new(vec!["\nQuestion:".into()]);
        assert_eq!(s.push("a\nQue"), ("a".to_string(), false));
        assert_eq!(s.push("ue"), ("\nQueue".to_string(), false));
        assert_eq!(s.push("<"), ("<".to_string(), false));
        assert_eq!(s.finish(), "");
    }

    #[test]
    fn gemma_fallback_puts_the_system_text_in_the_first_user_turn() {
        let prompt = Fallback::Gemma.render(&[
            Message::new(Role::System, "Be brief."),
            Message::new(Role::User, "Hi"),
            Message::new(Role::Assistant, "Hello."),
            Message::new(Role::User, "Why?"),
        ]);
        assert_eq!(
            prompt,
            "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n\
             <start_of_turn>model\nHello.<end_of_turn>\n\
             <start_of_turn>user\nWhy?<end_of_turn>\n<start_of_turn>model\n"
        );
        let chatml = Fallback::ChatMl.render(&[Message::new(Role::User, "Hi")]);
        assert_eq!(
            chatml,
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn physical_cores_is_at_least_one() {
        assert!(physical_cores() >= 1);
    }
}
