//! Ollama's store: content-addressed. `manifests/<registry>/<namespace>/<model>/<tag>` is a
//! JSON manifest (Docker's distribution format) whose layer of media type
//! `application/vnd.ollama.image.model` names the GGUF by digest, `sha256:<hex>`; the file is
//! `blobs/sha256-<hex>` (`blobs/sha256:<hex>` in early versions, a name Windows cannot hold).
//! Ollama lists `registry.ollama.ai/library/llama3.2/1b` as `llama3.2:1b`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::walk::Walk;
use super::{Candidate, Found, ModelSource, SkipKind};

const MODEL_LAYER: &str = "application/vnd.ollama.image.model";
const DEFAULT_REGISTRY: &str = "registry.ollama.ai";
/// Real manifests are a few hundred bytes; anything this big is not one.
const MAX_MANIFEST: u64 = 1024 * 1024;
/// registry/namespace/model/tag, with room for a deeper namespace.
const MANIFEST_DEPTH: usize = 5;

#[derive(Deserialize)]
struct Manifest {
    layers: Vec<Layer>,
}

#[derive(Deserialize)]
struct Layer {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: String,
}

/// Adds the model of every manifest under `root` (an Ollama models folder) to `found`.
pub(super) fn scan(root: &Path, walk: &mut Walk, found: &mut Found) {
    let manifests = root.join("manifests");
    let files = walk.files(
        &manifests,
        MANIFEST_DEPTH,
        &|_| true,
        ModelSource::Ollama,
        found,
    );
    for manifest in files {
        let name = model_name(&manifests, &manifest);
        match model_blob(root, &manifest) {
            Ok(path) => found.candidates.push((
                ModelSource::Ollama,
                Candidate {
                    path,
                    more_parts: Vec::new(),
                    name,
                    name_in_reason: true,
                },
            )),
            Err((kind, why)) => found.skip(
                &manifest,
                ModelSource::Ollama,
                kind,
                format!("{name}: {why}"),
            ),
        }
    }
}

/// The name Ollama lists a manifest by.
fn model_name(manifests: &Path, manifest: &Path) -> String {
    let parts: Vec<String> = manifest
        .strip_prefix(manifests)
        .unwrap_or(manifest)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [registry, namespace, model, tag] if registry == DEFAULT_REGISTRY => {
            if namespace == "library" {
                format!("{model}:{tag}")
            } else {
                format!("{namespace}/{model}:{tag}")
            }
        }
        [registry, namespace, model, tag] => format!("{registry}/{namespace}/{model}:{tag}"),
        other => other.join("/"),
    }
}

/// The GGUF blob a manifest names, or why there is none.
fn model_blob(root: &Path, manifest: &Path) -> Result<PathBuf, (SkipKind, String)> {
    let bad = |why: String| (SkipKind::BadManifest, why);
    let size = std::fs::metadata(manifest)
        .map_err(|e| {
            (
                SkipKind::Unreadable,
                format!("cannot read its manifest: {e}"),
            )
        })?
        .len();
    if size > MAX_MANIFEST {
        return Err(bad(format!(
            "its manifest is {size} bytes, far too large to be an Ollama manifest"
        )));
    }
    let bytes = std::fs::read(manifest).map_err(|e| {
        (
            SkipKind::Unreadable,
            format!("cannot read its manifest: {e}"),
        )
    })?;
    let json: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("its manifest is not valid JSON ({e})")))?;
    let parsed: Manifest = serde_json::from_value(json)
        .map_err(|e| bad(format!("its manifest is not an Ollama manifest ({e})")))?;
    let layer = parsed
        .layers
        .iter()
        .find(|l| l.media_type == MODEL_LAYER)
        .ok_or_else(|| {
            let why = "its manifest names no model file (a cloud model, or an adapter only)";
            (SkipKind::Missing, why.to_string())
        })?;
    // Checked to be 64 hex digits: a digest never becomes a path outside `blobs/`.
    let hex = layer
        .digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| {
            bad(format!(
                "its model layer's digest {:?} is not a sha256 digest",
                layer.digest
            ))
        })?;
    let blobs = root.join("blobs");
    let current = blobs.join(format!("sha256-{hex}"));
    if current.exists() {
        return Ok(current);
    }
    if cfg!(unix) {
        let older = blobs.join(format!("sha256:{hex}"));
        if older.exists() {
            return Ok(older);
        }
    }
    Err((
        SkipKind::Missing,
        format!("its model file {} is missing", current.display()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_ones_ollama_lists() {
        let m = Path::new("/m/manifests");
        let name = |rel: &str| model_name(m, &m.join(rel));
        assert_eq!(
            name("registry.ollama.ai/library/llama3.2/1b"),
            "llama3.2:1b"
        );
        assert_eq!(
            name("registry.ollama.ai/someone/tiny/latest"),
            "someone/tiny:latest"
        );
        assert_eq!(
            name("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF/Q4_K_M"),
            "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"
        );
    }
}
