//! Sentence embeddings with a BERT-family model on candle.
//!
//! Any folder holding `config.json`, `model.safetensors` and `tokenizer.json` of a BERT-family
//! encoder works. Vectors are the attention-masked mean of the last hidden states, L2-normalised,
//! which is what sentence-transformers computes for all-MiniLM-L6-v2. The model runs on a thread
//! of its own ([`EmbedderThread`]); callers talk to it through a queue.
//!
//! The encoder runs on candle's ops everywhere, or, in builds with the `cuda` feature, on
//! Quire's fused CUDA kernels (`Encoder` is the seam; all CUDA-only code is in `embed/cuda.rs`).

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokenizers::{Encoding, Tokenizer, TruncationParams};

use crate::bert::Bert;
use crate::chunk::TokenCounter;
use crate::device::{start_on_device, DeviceChoice};
use crate::error::{candle_message, Error, Result};
use crate::worker::{Jobs, Worker};

pub use card::{ModelCard, Pooling};

mod card;
mod cpu;
#[cfg(feature = "cuda")]
mod cuda;
mod int8;
mod packed;
mod simd;

/// The number type of the CPU encoder's projections, written "f32" or "int8". f32 gives the
/// model's own vectors; int8 (weights quantised at load, activations per token) is about twice
/// as fast on CPUs with AVX-512 VNNI (more with AMX tiles) and gives vectors within cosine
/// ~0.99 of them (docs/benchmarks.md). On a GPU, and on CPUs without VNNI, int8 runs as f32 and
/// the backend description says why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum EncoderPrecision {
    #[default]
    F32,
    Int8,
}

impl EncoderPrecision {
    pub fn as_str(self) -> &'static str {
        match self {
            EncoderPrecision::F32 => "f32",
            EncoderPrecision::Int8 => "int8",
        }
    }
}

impl std::fmt::Display for EncoderPrecision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EncoderPrecision {
    type Err = Error;
    fn from_str(s: &str) -> Result<EncoderPrecision> {
        match s.to_ascii_lowercase().as_str() {
            "f32" => Ok(EncoderPrecision::F32),
            "int8" | "i8" => Ok(EncoderPrecision::Int8),
            other => Err(Error::Usage(format!(
                "unknown embedding precision {other:?}; use f32 or int8"
            ))),
        }
    }
}

/// Read as [`FromStr`](std::str::FromStr) reads it, with its message for others.
impl<'de> Deserialize<'de> for EncoderPrecision {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let word = String::deserialize(d)?;
        word.parse().map_err(serde::de::Error::custom)
    }
}

/// The number type of the weights on `device`: f16 on CUDA (tensor cores), held to the f32
/// vectors by the fused path's start-up check and tests/gpu.rs; f32 elsewhere.
fn weights_dtype(device: &Device) -> DType {
    if device.is_cuda() {
        DType::F16
    } else {
        DType::F32
    }
}

/// "f16", "f32": how [`Embedder::backend`] names a number type.
fn dtype_name(dtype: DType) -> String {
    format!("{dtype:?}").to_lowercase()
}

/// What identifies an embedding model: vectors from different models must never be mixed.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The folder name, e.g. "all-MiniLM-L6-v2".
    pub name: String,
    /// Hash over the config, tokenizer and weights' size: changes when the model does.
    pub fingerprint: String,
    pub dimensions: usize,
    /// Maximum input length in tokens, special tokens included.
    pub max_tokens: usize,
    /// Prefixes, pooling, languages: how the model wants to be used.
    pub card: ModelCard,
}

impl ModelInfo {
    /// One string that identifies the model, stored with the vectors.
    pub fn id(&self) -> String {
        format!(
            "{}@{}:{}",
            self.name,
            &self.fingerprint[..16],
            self.dimensions
        )
    }
}

/// The model's files, checked to exist.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub weights: PathBuf,
    pub tokenizer: PathBuf,
}

impl ModelFiles {
    pub fn locate(dir: &Path) -> Result<ModelFiles> {
        let file = |name: &str| {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(Error::ModelMissing(format!(
                    "the embedding model folder {} has no {name}",
                    dir.display()
                )))
            }
        };
        Ok(ModelFiles {
            dir: dir.to_path_buf(),
            config: file("config.json")?,
            weights: file("model.safetensors")?,
            tokenizer: file("tokenizer.json")?,
        })
    }

    /// Whether the weights file is whole: a safetensors file is an 8-byte header length, a
    /// JSON header, then the tensors, whose byte ranges the header lists. A file cut short (an
    /// unfinished copy or download) ends before the last range does.
    pub fn check_weights(&self) -> Result<()> {
        use std::io::Read;
        let invalid = |why: String| {
            Error::ModelInvalid(format!("{} is not usable: {why}", self.weights.display()))
        };
        let mut file = std::fs::File::open(&self.weights)?;
        let len = file.metadata()?.len();
        let mut size = [0u8; 8];
        file.read_exact(&mut size)
            .map_err(|_| invalid(format!("it is only {len} bytes long")))?;
        let header_len = u64::from_le_bytes(size);
        if header_len > 100 << 20 || 8 + header_len > len {
            return Err(invalid(
                "its header is damaged or cut short (not a safetensors file?)".into(),
            ));
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact(&mut header)?;
        let header: serde_json::Value = serde_json::from_slice(&header)
            .map_err(|_| invalid("its header is not readable (not a safetensors file?)".into()))?;
        let data_end = header
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(_, t)| t.get("data_offsets")?.get(1)?.as_u64())
            .max()
            .unwrap_or(0);
        let needed = 8 + header_len + data_end;
        if needed > len {
            return Err(invalid(format!(
                "the file is cut short: it is {len} bytes, but its tensors need {needed} (an \
                 unfinished download or copy)"
            )));
        }
        Ok(())
    }

    /// Reads the model's identity and limits without loading the weights.
    pub fn info(&self) -> Result<ModelInfo> {
        let config_text = std::fs::read_to_string(&self.config)?;
        let config: Config = serde_json::from_str(&config_text).map_err(|e| {
            Error::ModelInvalid(format!(
                "{} is not a BERT config: {e}",
                self.config.display()
            ))
        })?;
        // sentence-transformers stores the length the model was trained for; the position
        // table may allow more, but quality drops beyond it.
        let st_max = std::fs::read_to_string(self.dir.join("sentence_bert_config.json"))
            .ok()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .and_then(|v| v.get("max_seq_length").and_then(|m| m.as_u64()))
            .map(|m| m as usize);
        let card = ModelCard::read(&self.dir)?;
        let max_tokens = st_max
            .or(card.max_tokens)
            .unwrap_or(config.max_position_embeddings)
            .min(config.max_position_embeddings);
        let mut hash = Sha256::new();
        hash.update(config_text.as_bytes());
        hash.update(std::fs::read(&self.tokenizer)?);
        hash.update(std::fs::metadata(&self.weights)?.len().to_le_bytes());
        // Prefixes and pooling change the vectors; a plain card leaves the fingerprints of
        // models without one as they were.
        if let Some(key) = card.vector_key() {
            hash.update(key.as_bytes());
        }
        let fingerprint = crate::digest::hex(hash.finalize());
        let name = self
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(ModelInfo {
            name,
            fingerprint,
            dimensions: config.hidden_size,
            max_tokens,
            card,
        })
    }

    /// The tokenizer as the model sees it: truncating at the model's real maximum, no padding
    /// (the tokenizer.json of all-MiniLM-L6-v2 pads and truncates at 128, which would silently
    /// cut every chunk).
    pub fn tokenizer(&self, max_tokens: usize) -> Result<Tokenizer> {
        let mut tokenizer = Tokenizer::from_file(&self.tokenizer).map_err(|e| {
            Error::ModelInvalid(format!("cannot read {}: {e}", self.tokenizer.display()))
        })?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| Error::ModelInvalid(format!("tokenizer: {e}")))?;
        Ok(tokenizer)
    }
}

/// Counts and splits text with the model's tokenizer, without truncation.
pub struct ModelTokens {
    tokenizer: Tokenizer,
}

impl ModelTokens {
    pub fn new(files: &ModelFiles) -> Result<ModelTokens> {
        let mut tokenizer = files.tokenizer(usize::MAX / 2)?;
        tokenizer
            .with_truncation(None)
            .map_err(|e| Error::ModelInvalid(format!("tokenizer: {e}")))?;
        Ok(ModelTokens { tokenizer })
    }
}

impl ModelTokens {
    /// Whether `word` is one token of the model's vocabulary: an ordinary word of the languages
    /// it was trained on, not a name or identifier it has to piece together.
    pub fn is_word(&self, word: &str) -> bool {
        self.tokenizer
            .encode(word, false)
            .is_ok_and(|e| e.get_ids().len() == 1)
    }
}

impl TokenCounter for ModelTokens {
    fn count(&self, texts: &[&str]) -> Vec<usize> {
        match self.tokenizer.encode_batch(texts.to_vec(), false) {
            Ok(encodings) => encodings.iter().map(|e| e.get_ids().len()).collect(),
            // Tokenizers fail only on pathological input; an estimate keeps chunking going.
            Err(_) => texts
                .iter()
                .map(|t| t.split_whitespace().count() * 2)
                .collect(),
        }
    }

    fn split(&self, text: &str, max_tokens: usize) -> Vec<(usize, usize)> {
        let Ok(encoding) = self.tokenizer.encode(text, false) else {
            return vec![(0, text.len())];
        };
        let offsets = encoding.get_offsets();
        let mut pieces: Vec<(usize, usize)> = offsets
            .chunks(max_tokens.max(1))
            .map(|group| (group[0].0, group[group.len() - 1].1))
            .collect();
        // Offsets must fall on char boundaries of `text` and cover it without gaps.
        for i in 0..pieces.len() {
            let start = if i == 0 { 0 } else { pieces[i - 1].1 };
            pieces[i].0 = start;
        }
        if let Some(last) = pieces.last_mut() {
            last.1 = text.len();
        }
        pieces.retain(|&(s, e)| s < e && text.is_char_boundary(s) && text.is_char_boundary(e));
        pieces
    }
}

/// A loaded embedding model. Not shared across threads: see [`EmbedderThread`].
pub struct Embedder {
    encoder: Encoder,
    info: ModelInfo,
    /// How the encoder runs here, for people: "f32", "f16, fused kernels", ...
    backend: String,
}

impl Embedder {
    pub fn load(dir: &Path, device: &Device) -> Result<Embedder> {
        Embedder::load_with(dir, device, Some(EncoderPrecision::F32))
    }

    /// The model with the CPU encoder's projections in `precision` (see [`EncoderPrecision`]).
    pub fn load_precision(
        dir: &Path,
        device: &Device,
        precision: EncoderPrecision,
    ) -> Result<Embedder> {
        Embedder::load_with(dir, device, Some(precision))
    }

    /// The same model on candle's own ops only, the reference Quire's encoders are held to
    /// (tests, `embed_bench`).
    pub fn load_candle_ops(dir: &Path, device: &Device) -> Result<Embedder> {
        Embedder::load_with(dir, device, None)
    }

    /// `precision`: None for candle's ops only.
    fn load_with(
        dir: &Path,
        device: &Device,
        precision: Option<EncoderPrecision>,
    ) -> Result<Embedder> {
        keep_freed_memory();
        let files = ModelFiles::locate(dir)?;
        let info = files.info()?;
        let config: Config = serde_json::from_str(&std::fs::read_to_string(&files.config)?)
            .map_err(|e| Error::ModelInvalid(format!("{}: {e}", files.config.display())))?;
        let dtype = weights_dtype(device);
        // SAFETY: the weights file is memory-mapped read-only; Quire never writes to it while
        // the model is loaded.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&files.weights], dtype, device) }
            .map_err(|e| {
            Error::ModelInvalid(format!(
                "{}: {}",
                files.weights.display(),
                candle_message(&e)
            ))
        })?;
        let not_bert = |e: candle_core::Error| {
            Error::ModelInvalid(format!(
                "{} is not a BERT-family model: {}",
                dir.display(),
                candle_message(&e)
            ))
        };
        let model = Bert::load(vb, &config).map_err(not_bert)?;
        let candle = CandleEncoder {
            model,
            tokenizer: files.tokenizer(info.max_tokens)?,
            device: device.clone(),
            batch_size: if device.is_cpu() { 16 } else { 256 },
            pooling: info.card.pooling,
        };
        let (encoder, backend) = match precision {
            Some(precision) => {
                let (encoder, note) =
                    fastest(candle, &config, info.max_tokens, precision).map_err(not_bert)?;
                let number = match &encoder {
                    Encoder::Cpu(cpu) if cpu.int8() => "int8".to_string(),
                    _ => dtype_name(dtype),
                };
                (encoder, format!("{number}{note}"))
            }
            None => (
                Encoder::Candle(candle),
                format!("{}, candle ops", dtype_name(dtype)),
            ),
        };
        Ok(Embedder {
            encoder,
            info,
            backend,
        })
    }

    /// How the encoder runs: the number type, and on CUDA whether Quire's fused kernels are in
    /// use (and if not, why).
    pub fn backend(&self) -> &str {
        &self.backend
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Embeds `texts` as they are, returning one unit-length vector per text, in order.
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        self.encoder.embed(texts)
    }

    /// Embeds `texts` as questions or as the documents' text: with the prefix the model's card
    /// gives for that kind ("query: ", "passage: " for e5), if any.
    pub fn embed_as(&self, kind: TextKind, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let prefix = match kind {
            TextKind::Query => &self.info.card.query_prefix,
            TextKind::Passage => &self.info.card.passage_prefix,
        };
        if prefix.is_empty() {
            return self.embed(texts);
        }
        let texts: Vec<String> = texts.iter().map(|t| format!("{prefix}{t}")).collect();
        self.embed(&texts)
    }
}

/// What a text is to the model: a question, or text of the documents (passages, their
/// sentences, an answer's sentences checked against them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Query,
    Passage,
}

/// Where the encoder's arithmetic runs: candle's portable ops, Quire's CPU encoder, or Quire's
/// fused CUDA kernels. All give the same vectors (the CPU encoder is held to candle's by the
/// embedding tests, the fused path is checked against candle's at start-up); Quire's own are
/// 2× (CPU) to several times (CUDA GPU) faster.
// One per loaded model, never moved in a hot path: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Encoder {
    /// candle's ops: Metal, CUDA where the fused kernels do not apply, and the reference.
    Candle(CandleEncoder),
    /// Quire's own CPU encoder (f32, packed batches, fused row passes).
    Cpu(cpu::CpuEncoder),
    /// Quire's fused CUDA kernels over padding-free packed batches.
    #[cfg(feature = "cuda")]
    Fused(cuda::FusedEncoder),
}

impl Encoder {
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        match self {
            Encoder::Candle(candle) => candle.embed(texts),
            Encoder::Cpu(cpu) => cpu.embed(texts),
            #[cfg(feature = "cuda")]
            Encoder::Fused(fused) => fused.embed(texts),
        }
    }
}

/// The fastest encoder this build has for the model on its device, and what that adds to the
/// backend description: Quire's own encoder on the CPU (in int8 when asked and the CPU can);
/// with CUDA support, ", fused kernels" or ", candle kernels (why not)"; elsewhere (Metal)
/// candle's ops. int8 where it cannot run adds why.
fn fastest(
    candle: CandleEncoder,
    config: &Config,
    max_tokens: usize,
    precision: EncoderPrecision,
) -> candle_core::Result<(Encoder, String)> {
    let int8 = precision == EncoderPrecision::Int8;
    if candle.device.is_cpu() {
        let vnni = int8::supported();
        let note = if !int8 {
            ""
        } else if !vnni {
            " (int8 needs a CPU with AVX-512 VNNI)"
        } else {
            int8::kernel()
        };
        let encoder = cpu::CpuEncoder::new(candle, config, int8 && vnni)?;
        return Ok((Encoder::Cpu(encoder), note.to_string()));
    }
    let note = if int8 { " (int8 is for the CPU)" } else { "" };
    #[cfg(feature = "cuda")]
    return cuda::fastest(candle, config, max_tokens).map(|(e, n)| (e, format!("{n}{note}")));
    #[cfg(not(feature = "cuda"))]
    {
        let _ = max_tokens;
        Ok((Encoder::Candle(candle), note.to_string()))
    }
}

/// The token ids of `texts` (with the model's special tokens), as every encoder reads them.
fn tokenize(tokenizer: &Tokenizer, texts: &[String]) -> Result<Vec<Encoding>> {
    let inputs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
    tokenizer
        .encode_batch(inputs, true)
        .map_err(|e| Error::Embedding(format!("tokenizer: {e}")))
}

/// The model on candle's ops: padded batches of similar lengths.
struct CandleEncoder {
    model: Bert,
    tokenizer: Tokenizer,
    device: Device,
    batch_size: usize,
    pooling: Pooling,
}

impl CandleEncoder {
    fn tokenize(&self, texts: &[String]) -> Result<Vec<Encoding>> {
        tokenize(&self.tokenizer, texts)
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let encodings = self.tokenize(texts)?;
        // Similar lengths together keep padding, and so wasted work, small.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let mut out = vec![Vec::new(); texts.len()];
        for batch in order.chunks(self.batch_size) {
            let rows: Vec<&[u32]> = batch.iter().map(|&i| encodings[i].get_ids()).collect();
            let vectors = self.embed_ids(&rows)?;
            for (&i, v) in batch.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    /// Unit vectors for `rows` of token ids, as one padded batch.
    fn embed_ids(&self, rows: &[&[u32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let width = rows.iter().map(|r| r.len()).max().unwrap_or(0).max(1);
        let mut ids = Vec::with_capacity(rows.len() * width);
        let mut mask = Vec::with_capacity(rows.len() * width);
        for row in rows {
            ids.extend_from_slice(row);
            ids.extend(std::iter::repeat_n(0u32, width - row.len()));
            mask.extend(std::iter::repeat_n(1u32, row.len()));
            mask.extend(std::iter::repeat_n(0u32, width - row.len()));
        }
        let shape = (rows.len(), width);
        let padded = rows.iter().any(|r| r.len() < width);
        let ids = Tensor::from_vec(ids, shape, &self.device)?;
        let mask = Tensor::from_vec(mask, shape, &self.device)?;
        let hidden = self
            .model
            .forward(&ids, &mask, padded)?
            .to_dtype(DType::F32)?;
        let pooled = match self.pooling {
            // Mean over real tokens only: padding must not move a vector.
            Pooling::Mean => {
                let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
                let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
                summed.broadcast_div(&mask.sum(1)?)?
            }
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
        };
        let norm = pooled
            .sqr()?
            .sum_keepdim(1)?
            .sqrt()?
            .clamp(1e-12, f64::MAX)?;
        pooled.broadcast_div(&norm)?.to_vec2::<f32>()
    }
}

/// Every forward pass allocates and frees tensors of tens of MB (attention scores). glibc
/// serves such sizes with fresh `mmap`s, so each pass paid for zeroing new pages (~10 % of the
/// time in a profile). Raising the mmap threshold lets freed blocks be reused instead.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only changes allocator tuning parameters.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
                libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
            }
        });
    }
}

/// One request to the embedding thread: texts in, vectors back.
struct EmbedJob {
    kind: TextKind,
    texts: Vec<String>,
    reply: mpsc::Sender<Result<Vec<Vec<f32>>>>,
}

/// An [`Embedder`] running on its own OS thread. Cheap to share by reference.
pub struct EmbedderThread {
    worker: Worker<EmbedJob>,
    info: ModelInfo,
    device_name: String,
    device_warning: Option<String>,
}

impl EmbedderThread {
    /// Loads the model from `dir` on a new thread, on the device `choice` gives (under `Auto`,
    /// the CPU when the GPU cannot run it); returns when it is ready or failed to load.
    pub fn start(
        dir: &Path,
        choice: DeviceChoice,
        precision: EncoderPrecision,
    ) -> Result<EmbedderThread> {
        let ((worker, (info, backend)), device) =
            start_on_device(choice, "the embedding model", |device| {
                Self::spawn(dir.to_path_buf(), device.clone(), precision)
            })?;
        Ok(EmbedderThread {
            worker,
            info,
            device_name: format!("{} ({backend})", device.name),
            device_warning: device.warning,
        })
    }

    /// The thread, with the model's info and backend description once it has loaded.
    fn spawn(
        dir: PathBuf,
        device: Device,
        precision: EncoderPrecision,
    ) -> Result<(Worker<EmbedJob>, (ModelInfo, String))> {
        Worker::spawn(
            "quire-embedder",
            thread_stopped,
            move |ready, jobs: Jobs<EmbedJob>| {
                let embedder = match Embedder::load_precision(&dir, &device, precision) {
                    Ok(embedder) => embedder,
                    Err(e) => return ready.fail(e),
                };
                ready.ok((embedder.info().clone(), embedder.backend().to_string()));
                for job in jobs {
                    let _ = job.reply.send(embedder.embed_as(job.kind, &job.texts));
                }
            },
        )
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The device and how the encoder runs on it: "CUDA GPU 0 (f16, fused kernels)", "CPU (f32)".
    pub fn device_name(&self) -> &str {
        &self.device_name
    }

    /// Why the wanted GPU is not in use, when the CPU was taken instead.
    pub fn device_warning(&self) -> Option<&str> {
        self.device_warning.as_deref()
    }

    /// Embeds `texts` (the documents' text) on the model's thread, blocking until done.
    pub fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
        self.submit(texts)?.wait()
    }

    /// Starts embedding `texts` (the documents' text) on the model's thread behind the work
    /// already queued, and returns at once: for ingestion batches.
    pub fn submit(&self, texts: Vec<String>) -> Result<PendingEmbedding> {
        let (job, pending) = PendingEmbedding::new(TextKind::Passage, texts);
        self.worker.submit(job)?;
        Ok(pending)
    }

    /// Starts embedding `texts` of the documents (or an answer's sentences, compared with
    /// them) ahead of the queued [`Self::submit`] work (as soon as the batch in progress ends),
    /// and returns at once: for questions, which someone is waiting for.
    pub fn submit_first(&self, texts: Vec<String>) -> Result<PendingEmbedding> {
        let (job, pending) = PendingEmbedding::new(TextKind::Passage, texts);
        self.worker.submit_first(job)?;
        Ok(pending)
    }

    /// Starts embedding a question ahead of the queued work, and returns at once: the caller
    /// can do other work (a keyword search) before it waits.
    pub fn submit_query(&self, query: &str) -> Result<PendingEmbedding> {
        self.submit_queries(vec![query.to_string()])
    }

    /// [`Self::submit_query`] for several texts embedded as questions (a question's words and
    /// their dictionary senses: [`crate::glossary::LookedUp::terms_by_meaning`]).
    pub fn submit_queries(&self, texts: Vec<String>) -> Result<PendingEmbedding> {
        let (job, pending) = PendingEmbedding::new(TextKind::Query, texts);
        self.worker.submit_first(job)?;
        Ok(pending)
    }
}

fn thread_stopped() -> Error {
    Error::Embedding("the embedding thread has stopped".into())
}

/// Vectors being computed on the embedding thread.
pub struct PendingEmbedding(mpsc::Receiver<Result<Vec<Vec<f32>>>>);

impl PendingEmbedding {
    fn new(kind: TextKind, texts: Vec<String>) -> (EmbedJob, PendingEmbedding) {
        let (reply, vectors) = mpsc::channel();
        (EmbedJob { kind, texts, reply }, PendingEmbedding(vectors))
    }

    /// Blocks until the vectors are ready.
    pub fn wait(self) -> Result<Vec<Vec<f32>>> {
        self.0.recv().map_err(|_| thread_stopped())?
    }
}
