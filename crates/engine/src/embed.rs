//! Sentence embeddings with a BERT-family model on candle.
//!
//! Any folder holding `config.json`, `model.safetensors` and `tokenizer.json` of a BERT-family
//! encoder works. Vectors are the attention-masked mean of the last hidden states, L2-normalised,
//! which is what sentence-transformers computes for all-MiniLM-L6-v2. The model runs on a thread
//! of its own ([`EmbedderThread`]); callers talk to it through a channel.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config;

use crate::bert::Bert;
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

use crate::chunk::TokenCounter;
use crate::error::{candle_message, Error, Result};

/// Which compute device to use.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// CUDA or Metal when this build and this machine have one, else the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
    Metal,
}

impl std::str::FromStr for DeviceChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<DeviceChoice> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda),
            "metal" => Ok(DeviceChoice::Metal),
            other => Err(Error::Usage(format!(
                "unknown device {other:?}; use auto, cpu, cuda or metal"
            ))),
        }
    }
}

/// The device in use, with a human description ("CPU", "CUDA GPU 0").
#[derive(Debug, Clone)]
pub struct SelectedDevice {
    pub device: Device,
    pub name: String,
    /// Set when the wanted device could not be used and the CPU was taken instead.
    pub warning: Option<String>,
}

/// Picks the device for `choice`; an explicit GPU that this build lacks is an error, a GPU that
/// fails under `Auto` falls back to the CPU with a warning.
pub fn select_device(choice: DeviceChoice) -> Result<SelectedDevice> {
    let cpu = |warning| SelectedDevice {
        device: Device::Cpu,
        name: "CPU".into(),
        warning,
    };
    match choice {
        DeviceChoice::Cpu => Ok(cpu(None)),
        DeviceChoice::Cuda => {
            if !cfg!(feature = "cuda") {
                return Err(Error::Usage(
                    "this build has no CUDA support; rebuild with `--features cuda` or use --device cpu".into(),
                ));
            }
            let device = Device::new_cuda(0).map_err(|e| {
                Error::Device(format!("cannot start CUDA GPU 0: {}", candle_message(&e)))
            })?;
            Ok(SelectedDevice {
                device,
                name: "CUDA GPU 0".into(),
                warning: None,
            })
        }
        DeviceChoice::Metal => {
            if !cfg!(feature = "metal") {
                return Err(Error::Usage(
                    "this build has no Metal support; rebuild with `--features metal` or use --device cpu".into(),
                ));
            }
            let device = Device::new_metal(0).map_err(|e| {
                Error::Device(format!(
                    "cannot start the Metal GPU: {}",
                    candle_message(&e)
                ))
            })?;
            Ok(SelectedDevice {
                device,
                name: "Metal GPU".into(),
                warning: None,
            })
        }
        DeviceChoice::Auto => {
            if cfg!(feature = "cuda") {
                return Ok(match Device::new_cuda(0) {
                    Ok(device) => SelectedDevice {
                        device,
                        name: "CUDA GPU 0".into(),
                        warning: None,
                    },
                    Err(e) => cpu(Some(format!(
                        "CUDA GPU unavailable ({}); using the CPU",
                        candle_message(&e)
                    ))),
                });
            }
            if cfg!(feature = "metal") {
                return Ok(match Device::new_metal(0) {
                    Ok(device) => SelectedDevice {
                        device,
                        name: "Metal GPU".into(),
                        warning: None,
                    },
                    Err(e) => cpu(Some(format!(
                        "Metal GPU unavailable ({}); using the CPU",
                        candle_message(&e)
                    ))),
                });
            }
            Ok(cpu(None))
        }
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// The folder name, e.g. "all-MiniLM-L6-v2".
    pub name: String,
    /// Hash over the config, tokenizer and weights' size: changes when the model does.
    pub fingerprint: String,
    pub dimensions: usize,
    /// Maximum input length in tokens, special tokens included.
    pub max_tokens: usize,
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
        let max_tokens = st_max
            .unwrap_or(config.max_position_embeddings)
            .min(config.max_position_embeddings);
        let mut hash = Sha256::new();
        hash.update(config_text.as_bytes());
        hash.update(std::fs::read(&self.tokenizer)?);
        hash.update(std::fs::metadata(&self.weights)?.len().to_le_bytes());
        let fingerprint: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
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
    model: Bert,
    tokenizer: Tokenizer,
    device: Device,
    info: ModelInfo,
    batch_size: usize,
    /// How the encoder runs here, for people: "f32", "f16, fused kernels", ...
    backend: String,
    /// Texts per forward pass on the fused (packed) path.
    #[cfg(feature = "cuda")]
    packed_batch: usize,
}

impl Embedder {
    pub fn load(dir: &Path, device: &Device) -> Result<Embedder> {
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
        let model = Bert::load(vb, &config).map_err(|e| {
            Error::ModelInvalid(format!(
                "{} is not a BERT-family model: {}",
                dir.display(),
                candle_message(&e)
            ))
        })?;
        let tokenizer = files.tokenizer(info.max_tokens)?;
        let batch_size = if device.is_cpu() { 16 } else { 256 };
        #[allow(unused_mut)]
        let mut embedder = Embedder {
            model,
            tokenizer,
            device: device.clone(),
            batch_size,
            backend: dtype_name(dtype),
            #[cfg(feature = "cuda")]
            packed_batch: packed_batch(device, &config, info.max_tokens),
            info,
        };
        #[cfg(feature = "cuda")]
        embedder.check_fused();
        Ok(embedder)
    }

    /// The same model on candle's own ops (no fused kernels), for comparing the two.
    #[cfg(feature = "cuda")]
    pub fn without_fused_kernels(mut self) -> Embedder {
        if self.model.has_fused() {
            self.model.disable_fused();
            self.backend = format!(
                "{}, candle kernels (asked for)",
                dtype_name(weights_dtype(&self.device))
            );
        }
        self
    }

    /// How the encoder runs: the number type, and on CUDA whether Quire's fused kernels are in
    /// use (and if not, why).
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// The fused kernels are used only when they agree with candle's own ops on this GPU, on
    /// texts of several lengths (one past a 64-token tile, padding in the reference batch):
    /// a kernel that misbehaves on some GPU costs speed, never correct vectors.
    #[cfg(feature = "cuda")]
    fn check_fused(&mut self) {
        if !self.model.has_fused() {
            self.backend
                .push_str(", candle kernels (no fused kernels for this model)");
            return;
        }
        let texts = fused_check_texts();
        let outcome = (|| -> std::result::Result<f32, String> {
            let encodings = self
                .tokenizer
                .encode_batch(texts.clone(), true)
                .map_err(|e| e.to_string())?;
            let rows: Vec<&[u32]> = encodings.iter().map(|e| e.get_ids()).collect();
            let reference = self.embed_ids(&rows).map_err(|e| candle_message(&e))?;
            let fused = self
                .model
                .embed_packed(&rows, &self.device)
                .and_then(|t| t.to_vec2::<f32>())
                .map_err(|e| candle_message(&e))?;
            Ok(reference
                .iter()
                .zip(&fused)
                .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>())
                .fold(1.0f32, f32::min))
        })();
        match outcome {
            Ok(cosine) if cosine >= FUSED_MIN_COSINE => self.backend.push_str(", fused kernels"),
            Ok(cosine) => {
                self.model.disable_fused();
                self.backend.push_str(&format!(
                    ", candle kernels (the fused kernels disagreed with them: cosine {cosine:.4})"
                ));
            }
            Err(e) => {
                self.model.disable_fused();
                self.backend
                    .push_str(&format!(", candle kernels (the fused kernels failed: {e})"));
            }
        }
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Embeds `texts`, returning one unit-length vector per text, in order.
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        #[cfg(feature = "cuda")]
        if self.model.has_fused() {
            return self.embed_fused(texts);
        }
        let inputs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| Error::Embedding(format!("tokenizer: {e}")))?;
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

    /// The fused CUDA path: texts in groups of `packed_batch`, each group one packed forward
    /// pass; the next group is tokenised on the CPU while the GPU runs the previous one.
    #[cfg(feature = "cuda")]
    fn embed_fused(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        let mut running: Option<Tensor> = None;
        for group in texts.chunks(self.packed_batch) {
            let inputs: Vec<&str> = group.iter().map(|s| s.as_str()).collect();
            let encodings = self
                .tokenizer
                .encode_batch(inputs, true)
                .map_err(|e| Error::Embedding(format!("tokenizer: {e}")))?;
            let rows: Vec<&[u32]> = encodings.iter().map(|e| e.get_ids()).collect();
            let next = self.model.embed_packed(&rows, &self.device)?;
            if let Some(done) = running.replace(next) {
                out.extend(done.to_vec2::<f32>()?);
            }
        }
        if let Some(done) = running {
            out.extend(done.to_vec2::<f32>()?);
        }
        Ok(out)
    }

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
        let hidden = self.model.forward(&ids, &mask, padded)?;
        // Mean over real tokens only: padding must not move a vector.
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.to_dtype(DType::F32)?.broadcast_mul(&mask)?.sum(1)?;
        let mean = summed.broadcast_div(&mask.sum(1)?)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        mean.broadcast_div(&norm)?.to_vec2::<f32>()
    }
}

/// The lowest cosine between fused and reference vectors that passes the start-up check: far
/// below what f16 rounding can cost, above what a wrong kernel gives.
#[cfg(feature = "cuda")]
const FUSED_MIN_COSINE: f32 = 0.999;

/// Short, long and tile-crossing texts for the start-up check.
#[cfg(feature = "cuda")]
fn fused_check_texts() -> Vec<String> {
    let sentence = "Quire reads the pages of a PDF, cuts them into passages and answers questions \
                    about them with citations, entirely on this machine. ";
    vec![
        "Which margins does the article class use?".to_string(),
        sentence.repeat(3),
        sentence.repeat(7),
        "x".to_string(),
    ]
}

/// Texts per packed forward pass on CUDA: as many as fit a quarter of the free GPU memory at
/// the model's longest input (activations of ~ 8 x hidden + 2 x intermediate f16 values per
/// token), at most 512 (where the GPU is already saturated), at least 16.
#[cfg(feature = "cuda")]
fn packed_batch(device: &Device, config: &Config, max_tokens: usize) -> usize {
    let per_text = 2 * (8 * config.hidden_size + 2 * config.intermediate_size) * max_tokens.max(1);
    let free = match device {
        Device::Cuda(d) => d
            .cuda_stream()
            .context()
            .mem_get_info()
            .map(|(free, _)| free),
        _ => return 16,
    };
    match free {
        Ok(free) => (free / 4 / per_text).clamp(16, 512),
        Err(_) => 64,
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

type Reply = mpsc::Sender<Result<Vec<Vec<f32>>>>;

/// An [`Embedder`] running on its own OS thread. Cheap to share by reference.
pub struct EmbedderThread {
    requests: Option<mpsc::Sender<(Vec<String>, Reply)>>,
    info: ModelInfo,
    device_name: String,
    warning: Option<String>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeviceChoice::Auto => "auto",
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Cuda => "cuda",
            DeviceChoice::Metal => "metal",
        })
    }
}

impl EmbedderThread {
    /// TEMPORARY shim until the runtime branch lands.
    pub fn start(dir: &Path, choice: DeviceChoice) -> Result<EmbedderThread> {
        let device = select_device(choice)?;
        let mut t = match EmbedderThread::start_on(dir, &device) {
            Err(e) if choice == DeviceChoice::Auto && !device.device.is_cpu() => {
                let mut t = EmbedderThread::start_on(dir, &select_device(DeviceChoice::Cpu)?)?;
                t.warning = Some(format!(
                    "the embedding model could not run on {} ({e}); using the CPU",
                    device.name
                ));
                t
            }
            other => other?,
        };
        if t.warning.is_none() {
            t.warning = device.warning.clone();
        }
        Ok(t)
    }
    pub fn device_warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }
    pub fn submit_first(&self, texts: Vec<String>) -> Result<PendingEmbedding> {
        self.submit(texts)
    }

    /// Loads the model on a new thread; returns when it is ready or failed to load.
    pub fn start_on(dir: &Path, device: &SelectedDevice) -> Result<EmbedderThread> {
        let (requests, inbox) = mpsc::channel::<(Vec<String>, Reply)>();
        let (ready_tx, ready_rx) = mpsc::channel();
        let dir = dir.to_path_buf();
        let candle_device = device.device.clone();
        let worker = std::thread::Builder::new()
            .name("quire-embedder".into())
            .spawn(move || {
                let embedder = match Embedder::load(&dir, &candle_device) {
                    Ok(e) => {
                        let _ = ready_tx.send(Ok((e.info().clone(), e.backend().to_string())));
                        e
                    }
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                for (texts, reply) in inbox {
                    let _ = reply.send(embedder.embed(&texts));
                }
            })?;
        let (info, backend) = ready_rx
            .recv()
            .map_err(|_| Error::Embedding("the embedding thread stopped while loading".into()))??;
        Ok(EmbedderThread {
            requests: Some(requests),
            info,
            device_name: format!("{} ({backend})", device.name),
            warning: None,
            worker: Some(worker),
        })
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn device_name(&self) -> &str {
        &self.device_name
    }

    /// Embeds `texts` on the model's thread, blocking until done.
    pub fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
        self.submit(texts)?.wait()
    }

    /// Starts embedding `texts` on the model's thread and returns at once; the caller can do
    /// other work (a keyword search) before it waits for the vectors.
    pub fn submit(&self, texts: Vec<String>) -> Result<PendingEmbedding> {
        let (tx, rx) = mpsc::channel();
        self.requests
            .as_ref()
            .ok_or_else(thread_stopped)?
            .send((texts, tx))
            .map_err(|_| thread_stopped())?;
        Ok(PendingEmbedding(rx))
    }
}

fn thread_stopped() -> Error {
    Error::Embedding("the embedding thread has stopped".into())
}

/// Vectors being computed on the embedding thread.
pub struct PendingEmbedding(mpsc::Receiver<Result<Vec<Vec<f32>>>>);

impl PendingEmbedding {
    /// Blocks until the vectors are ready.
    pub fn wait(self) -> Result<Vec<Vec<f32>>> {
        self.0.recv().map_err(|_| thread_stopped())?
    }
}

impl Drop for EmbedderThread {
    fn drop(&mut self) {
        self.requests.take();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}
