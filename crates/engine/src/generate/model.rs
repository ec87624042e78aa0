//! Loading a GGUF model through llama.cpp, and the context that runs it.

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::OnceLock;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;

use super::prompt::prompt_format;
use super::{GeneratorInfo, GeneratorOptions, DEFAULT_CONTEXT_CAP};
use crate::error::{Error, Result};

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

pub(super) fn load(options: &GeneratorOptions) -> Result<(LlamaModel, GeneratorInfo)> {
    let path = &options.model;
    if !path.is_file() {
        return Err(Error::ModelMissing(format!(
            "the answer model {} is missing: there is no such file",
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

pub(super) fn new_context<'m>(
    model: &'m LlamaModel,
    info: &GeneratorInfo,
) -> Result<LlamaContext<'m>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_cores_is_at_least_one() {
        assert!(physical_cores() >= 1);
    }
}
