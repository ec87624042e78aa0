//! Helpers shared by the engine's integration tests (`mod common;`).

use std::path::PathBuf;

pub mod postgres;

/// The real default embedding model, fetched by models/fetch.py ($QUIRE_MODELS or the default
/// models folder).
#[allow(dead_code)] // not every test file uses every helper
pub fn embedding_model_dir() -> PathBuf {
    model_dir(quire_engine::DEFAULT_EMBEDDING_MODEL)
}

/// A model folder fetched by models/fetch.py, by its name there.
#[allow(dead_code)] // not every test file uses every helper
pub fn model_dir(name: &str) -> PathBuf {
    let models = std::env::var_os("QUIRE_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(quire_engine::default_models_dir);
    let dir = models.join(name);
    assert!(
        dir.is_dir(),
        "the model {name} is missing at {}: run `python3 models/fetch.py`",
        dir.display()
    );
    dir
}

/// A PDF of Debian's texlive-latex-base-doc (installed by scripts/setup.sh).
#[allow(dead_code)]
pub fn texlive(name: &str) -> PathBuf {
    let path = PathBuf::from("/usr/share/doc/texlive-doc/latex/base").join(name);
    assert!(
        path.is_file(),
        "{} is missing: apt-get install texlive-latex-base-doc",
        path.display()
    );
    path
}

/// A Chinese PDF of Debian's texlive-lang-chinese, unpacked by scripts/zh-manuals.sh into
/// $QUIRE_CACHE/zh-pdfs (default ~/.cache/quire).
#[allow(dead_code)]
pub fn zh_pdf(name: &str) -> PathBuf {
    let cache = std::env::var_os("QUIRE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/quire"));
    let path = cache.join("zh-pdfs").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run bash scripts/zh-manuals.sh",
        path.display()
    );
    path
}
