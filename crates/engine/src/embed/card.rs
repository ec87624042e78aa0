//! What a model folder says about how to use its model: the text put before queries and
//! passages, how token vectors become one vector, its languages. The engine holds no model
//! names; everything model-specific comes from here.
//!
//! Read from, in order:
//! 1. `quire_model.json` (Quire's model card, written by `models/fetch.py` for the models it
//!    converts, or by a person for a model they bring);
//! 2. sentence-transformers' own files: `config_sentence_transformers.json` (`prompts`) and
//!    `1_Pooling/config.json` (`pooling_mode_*`);
//! 3. otherwise: no prefixes, mean pooling.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the token vectors of the last layer become the text's vector (L2-normalised after).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// The mean over all tokens, special tokens included (sentence-transformers' mean).
    #[default]
    Mean,
    /// The first token's vector ([CLS] / <s>).
    Cls,
}

/// How the model wants to be used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelCard {
    /// A name for people, when the folder's name is not one.
    pub name: Option<String>,
    /// Put before every question (e5: "query: ").
    pub query_prefix: String,
    /// Put before every passage and sentence of the documents (e5: "passage: ").
    pub passage_prefix: String,
    pub pooling: Pooling,
    /// The languages the model was trained on ("en", "zh", or "multilingual"); empty when the
    /// card does not say.
    pub languages: Vec<String>,
    /// The longest input the model was trained for, in tokens, when shorter than its position
    /// table.
    pub max_tokens: Option<usize>,
    /// How close (cosine) a sentence of the documents must come to a question for the
    /// documents to cover it, and when a word of the question occurs nowhere in them; and how
    /// close a passage's sentence must come to an answer's sentence to support it. Cosines
    /// mean different things for different models; without these the engine's defaults
    /// (chosen for all-MiniLM-L6-v2 on the answer benchmark) apply.
    pub covered_similarity: Option<f32>,
    pub covered_similarity_absent: Option<f32>,
    pub support_similarity: Option<f32>,
}

/// sentence-transformers' `config_sentence_transformers.json`, the part Quire reads.
#[derive(Deserialize, Default)]
struct StConfig {
    #[serde(default)]
    prompts: std::collections::HashMap<String, String>,
}

/// sentence-transformers' `1_Pooling/config.json`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct StPooling {
    pooling_mode_cls_token: bool,
    pooling_mode_mean_tokens: bool,
    pooling_mode_max_tokens: bool,
    pooling_mode_mean_sqrt_len_tokens: bool,
    pooling_mode_weightedmean_tokens: bool,
    pooling_mode_lasttoken: bool,
}

impl ModelCard {
    /// The card of the model in `dir` (see the module's documentation for where it comes from).
    pub fn read(dir: &Path) -> Result<ModelCard> {
        let card = dir.join("quire_model.json");
        let mut out = if card.is_file() {
            let text = std::fs::read_to_string(&card)?;
            serde_json::from_str(&text).map_err(|e| {
                Error::ModelInvalid(format!("{} is not a Quire model card: {e}", card.display()))
            })?
        } else {
            ModelCard::from_sentence_transformers(dir)?
        };
        out.languages.retain(|l| !l.trim().is_empty());
        Ok(out)
    }

    fn from_sentence_transformers(dir: &Path) -> Result<ModelCard> {
        let mut card = ModelCard::default();
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        if let Some(text) = read("config_sentence_transformers.json") {
            let st: StConfig = serde_json::from_str(&text).unwrap_or_default();
            card.query_prefix = st.prompts.get("query").cloned().unwrap_or_default();
            card.passage_prefix = ["passage", "document", "text"]
                .iter()
                .find_map(|k| st.prompts.get(*k).cloned())
                .unwrap_or_default();
        }
        if let Some(text) = read("1_Pooling/config.json") {
            let p: StPooling = serde_json::from_str(&text).map_err(|e| {
                Error::ModelInvalid(format!(
                    "{}: {e}",
                    dir.join("1_Pooling/config.json").display()
                ))
            })?;
            let others = p.pooling_mode_max_tokens
                || p.pooling_mode_mean_sqrt_len_tokens
                || p.pooling_mode_weightedmean_tokens
                || p.pooling_mode_lasttoken;
            card.pooling = match (p.pooling_mode_cls_token, p.pooling_mode_mean_tokens, others) {
                (true, false, false) => Pooling::Cls,
                (false, true, false) => Pooling::Mean,
                _ => {
                    return Err(Error::ModelInvalid(format!(
                        "{} asks for a pooling Quire does not do (it does mean or CLS pooling)",
                        dir.join("1_Pooling/config.json").display()
                    )))
                }
            };
        }
        Ok(card)
    }

    /// What of the card changes the vectors (the prefixes and the pooling), for the model's
    /// fingerprint: none for a plain model (no prefixes, mean pooling), so that the
    /// fingerprints of models without a card stay what they were. Thresholds, languages and
    /// names do not change a vector and do not count: changing them never re-indexes a library.
    pub fn vector_key(&self) -> Option<String> {
        let plain = self.query_prefix.is_empty()
            && self.passage_prefix.is_empty()
            && self.pooling == Pooling::Mean;
        (!plain).then(|| {
            serde_json::json!({
                "query_prefix": self.query_prefix,
                "passage_prefix": self.passage_prefix,
                "pooling": self.pooling,
            })
            .to_string()
        })
    }

    /// Whether the model was trained on more than English.
    pub fn multilingual(&self) -> bool {
        self.languages
            .iter()
            .any(|l| l == "multilingual" || !l.eq_ignore_ascii_case("en"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn a_folder_without_a_card_is_plain() {
        let dir = folder(&[]);
        let card = ModelCard::read(dir.path()).unwrap();
        assert_eq!(card.vector_key(), None);
        assert_eq!(card.pooling, Pooling::Mean);
    }

    #[test]
    fn quires_card_gives_prefixes_and_pooling() {
        let dir = folder(&[(
            "quire_model.json",
            r#"{"query_prefix": "query: ", "passage_prefix": "passage: ", "pooling": "mean",
                "languages": ["multilingual", "en", "zh"], "max_tokens": 512}"#,
        )]);
        let card = ModelCard::read(dir.path()).unwrap();
        assert_eq!(card.query_prefix, "query: ");
        assert_eq!(card.passage_prefix, "passage: ");
        assert_eq!(card.max_tokens, Some(512));
        assert!(card.multilingual());
        assert!(card.vector_key().is_some());
    }

    #[test]
    fn sentence_transformers_files_give_prompts_and_cls_pooling() {
        let dir = folder(&[
            (
                "config_sentence_transformers.json",
                r#"{"prompts": {"query": "Represent this sentence: ", "document": ""}}"#,
            ),
            (
                "1_Pooling/config.json",
                r#"{"word_embedding_dimension": 384, "pooling_mode_cls_token": true,
                    "pooling_mode_mean_tokens": false}"#,
            ),
        ]);
        let card = ModelCard::read(dir.path()).unwrap();
        assert!(card.vector_key().unwrap().contains("cls"));
        assert_eq!(card.query_prefix, "Represent this sentence: ");
        assert_eq!(card.passage_prefix, "");
        assert_eq!(card.pooling, Pooling::Cls);
    }

    #[test]
    fn thresholds_and_languages_do_not_change_the_vectors_identity() {
        let a = ModelCard {
            query_prefix: "query: ".into(),
            passage_prefix: "passage: ".into(),
            ..ModelCard::default()
        };
        let b = ModelCard {
            covered_similarity: Some(0.85),
            support_similarity: Some(0.95),
            languages: vec!["zh".into()],
            ..a.clone()
        };
        assert_eq!(a.vector_key(), b.vector_key());
    }

    #[test]
    fn a_pooling_quire_does_not_do_is_refused_by_name() {
        let dir = folder(&[(
            "1_Pooling/config.json",
            r#"{"pooling_mode_max_tokens": true}"#,
        )]);
        let e = ModelCard::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("mean or CLS"), "{e}");
    }

    #[test]
    fn a_broken_card_says_which_file() {
        let dir = folder(&[("quire_model.json", "{ not json")]);
        let e = ModelCard::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("quire_model.json"), "{e}");
    }
}
