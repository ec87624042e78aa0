//! Helpers shared by the engine's integration tests (`mod common;`).

use std::path::PathBuf;

/// The real default embedding model, fetched by models/fetch.py ($QUIRE_MODELS or the default
/// models folder).
pub fn embedding_model_dir() -> PathBuf {
    let models = std::env::var_os("QUIRE_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(quire_engine::default_models_dir);
    let dir = models.join(quire_engine::DEFAULT_EMBEDDING_MODEL);
    assert!(
        dir.is_dir(),
        "the embedding model is missing at {}: run `python3 models/fetch.py`",
        dir.display()
    );
    dir
}
