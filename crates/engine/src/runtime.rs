//! The model runtime: the embedding model and the answer model, each on its own thread, each
//! loaded once per engine on first need and shared by every job (ingestion, search, answers).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde::Serialize;

use crate::device::DeviceChoice;
use crate::embed::{EmbedderThread, EncoderPrecision, ModelFiles, ModelTokens};
use crate::error::{Error, Result};
use crate::generate::{GeneratorOptions, GeneratorThread};
use crate::glossary::Glossary;

/// Which models to load, and where they run.
#[derive(Debug, Clone)]
pub(crate) struct ModelOptions {
    pub embedding_dir: PathBuf,
    pub answer_path: PathBuf,
    pub device: DeviceChoice,
    pub embedding_precision: EncoderPrecision,
    pub context_tokens: Option<u32>,
    pub generation_threads: Option<usize>,
    /// The Chinese–English dictionary for Chinese questions over English documents (optional).
    pub glossary_path: PathBuf,
}

/// The embedding model on its thread, with its tokenizer for chunking (which runs on the
/// caller's thread).
pub(crate) struct Embedding {
    pub thread: EmbedderThread,
    pub tokens: ModelTokens,
}

/// Whether a model can be used, without loading it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ModelStatus {
    #[ts(type = "string")]
    pub path: PathBuf,
    pub present: bool,
    /// Why it cannot be used, when it cannot.
    pub problem: Option<String>,
}

pub(crate) struct Models {
    options: ModelOptions,
    embedder: Mutex<Option<Arc<Embedding>>>,
    generator: Mutex<Option<Arc<GeneratorThread>>>,
    /// The embedding model's id (see [`crate::embed::ModelInfo::id`]), read on first need.
    embedding_id: OnceLock<Option<String>>,
    /// The dictionary, read on first need; `None` inside when it is not there or unreadable.
    glossary: OnceLock<Option<Arc<Glossary>>>,
    /// Why the wanted GPU is not in use, once the embedder has started (until taken).
    device_warning: Mutex<Option<String>>,
}

impl Models {
    pub fn new(options: ModelOptions) -> Models {
        Models {
            options,
            embedder: Mutex::new(None),
            generator: Mutex::new(None),
            glossary: OnceLock::new(),
            embedding_id: OnceLock::new(),
            device_warning: Mutex::new(None),
        }
    }

    /// The embedding model, loaded on first use (callers meanwhile wait for that one load).
    pub fn embedder(&self) -> Result<Arc<Embedding>> {
        let mut slot = self.embedder.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(loaded) = slot.as_ref() {
            return Ok(loaded.clone());
        }
        let dir = &self.options.embedding_dir;
        if !dir.is_dir() {
            return Err(Error::ModelMissing(format!(
                "the embedding model is missing: there is no folder {}",
                dir.display()
            )));
        }
        let thread =
            EmbedderThread::start(dir, self.options.device, self.options.embedding_precision)?;
        *self
            .device_warning
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = thread.device_warning().map(String::from);
        let tokens = ModelTokens::new(&ModelFiles::locate(dir)?)?;
        let loaded = Arc::new(Embedding { thread, tokens });
        *slot = Some(loaded.clone());
        Ok(loaded)
    }

    /// The answer model, loaded on first use.
    pub fn generator(&self) -> Result<Arc<GeneratorThread>> {
        let mut slot = self
            .generator
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(loaded) = slot.as_ref() {
            return Ok(loaded.clone());
        }
        let loaded = Arc::new(GeneratorThread::start(GeneratorOptions {
            model: self.options.answer_path.clone(),
            context_tokens: self.options.context_tokens,
            threads: self.options.generation_threads,
            gpu: self.options.device != DeviceChoice::Cpu,
        })?);
        *slot = Some(loaded.clone());
        Ok(loaded)
    }

    /// The dictionary for Chinese questions over English documents, read on first need; `None`
    /// when its file is not in the models folder (Chinese questions then search as asked).
    pub fn glossary(&self) -> Option<Arc<Glossary>> {
        self.glossary
            .get_or_init(|| {
                Glossary::load(&self.options.glossary_path)
                    .ok()
                    .map(Arc::new)
            })
            .clone()
    }

    /// The chosen embedding model's id, without loading it; `None` when its files are not
    /// usable.
    pub fn embedding_id(&self) -> Option<String> {
        self.embedding_id
            .get_or_init(|| {
                ModelFiles::locate(&self.options.embedding_dir)
                    .and_then(|f| f.info())
                    .ok()
                    .map(|info| info.id())
            })
            .clone()
    }

    /// A Chinese question as English search terms, when the dictionary is there.
    pub fn english_terms(&self, question: &str) -> Option<String> {
        if !crate::glossary::has_chinese(question) {
            return None; // the dictionary is not even read
        }
        let glossary = self.glossary()?;
        let looked_up = glossary.look_up(question)?;
        // A model that reads Chinese chooses each word's senses by meaning; an English one
        // cannot, and the dictionary's order stands.
        if let Ok(embedding) = self.embedder() {
            if embedding.thread.info().card.multilingual() {
                let embed = |texts| embedding.thread.submit_queries(texts)?.wait();
                if let Ok(terms) = looked_up.terms_by_meaning(question, embed) {
                    return terms;
                }
            }
        }
        looked_up.first_senses()
    }

    pub fn take_device_warning(&self) -> Option<String> {
        self.device_warning
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    pub fn embedding_device(&self) -> Option<String> {
        let slot = self.embedder.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref().map(|e| e.thread.device_name().to_string())
    }

    pub fn device_choice(&self) -> DeviceChoice {
        self.options.device
    }

    /// Whether the embedding model's files are there and readable, without loading it.
    pub fn embedding_status(&self) -> ModelStatus {
        let path = self.options.embedding_dir.clone();
        let problem = ModelFiles::locate(&path)
            .and_then(|f| f.check_weights().and_then(|()| f.info()))
            .err()
            .map(|e| e.to_string());
        ModelStatus {
            path,
            present: problem.is_none(),
            problem,
        }
    }

    /// Whether the answer model's file is there, without loading it.
    pub fn answer_status(&self) -> ModelStatus {
        let path = self.options.answer_path.clone();
        let problem = if path.is_file() {
            // A GGUF whose header or tensors are cut short or damaged is not "present".
            crate::gguf::read(&path)
                .err()
                .map(|e| format!("{} is not usable: {e}", path.display()))
        } else {
            Some(format!("there is no file {}", path.display()))
        };
        ModelStatus {
            path,
            present: problem.is_none(),
            problem,
        }
    }
}
