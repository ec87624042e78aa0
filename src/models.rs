//! `quire models`: the GGUF models already on this computer (Quire's, Ollama's, LM Studio's,
//! GPT4All's, Jan's, and in the folders named with `--folder`), as the engine finds them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use quire_engine::{Discovery, FoundModel, ModelKind};

use crate::print_json;

/// Lists the models found; `answer_model` (the one in use) is marked.
pub fn list(
    quire_models: &Path,
    folders: &[PathBuf],
    answer_model: &Path,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let found = quire_engine::discover_models_on_this_computer(quire_models, folders);
    if json {
        print_json(&found)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_models(&found, answer_model);
    Ok(ExitCode::SUCCESS)
}

fn print_models(found: &Discovery, answer_model: &Path) {
    if found.models.is_empty() {
        println!("No GGUF models found. Looked in:");
        for s in &found.searched {
            let there = if s.present { "" } else { " (not there)" };
            println!("  {:<9}  {}{there}", s.source.label(), s.path.display());
        }
        println!("Add a folder of .gguf files with `quire models --folder DIR`.");
    } else {
        let count = found.models.len();
        println!("{count} model{} on this computer:\n", plural(count));
    }
    let in_use = std::fs::canonicalize(answer_model).ok();
    let width = found.models.iter().map(|m| m.name.chars().count()).max();
    let width = width.unwrap_or(0).min(40);
    let mut marked = false;
    for m in &found.models {
        let answers = in_use.is_some() && std::fs::canonicalize(&m.path).ok() == in_use;
        marked |= answers;
        let mark = if answers { "*" } else { " " };
        println!("{mark} {:<width$}  {}", m.name, facts(m));
        println!("    {}", m.path.display());
    }
    if marked {
        println!("\n* answers now. Answer with another: quire ask \"…\" --answer-model PATH");
    } else if !found.models.is_empty() {
        println!("\nAnswer with one: quire ask \"…\" --answer-model PATH");
    }
    if !found.skipped.is_empty() {
        let count = found.skipped.len();
        println!("\nSkipped {count} file{}:", plural(count));
        for s in &found.skipped {
            println!(
                "  {} ({}): {}",
                s.path.display(),
                s.source.label(),
                s.reason
            );
        }
    }
}

/// "LM Studio  98 MB  Q4_1  135M  context 8192  chat template".
fn facts(m: &FoundModel) -> String {
    let mut facts = vec![
        format!("{:<9}", m.source.label()),
        format!("{:>6}", size(m.size_bytes)),
    ];
    facts.extend(m.quantisation.clone());
    facts.extend(m.parameters.map(count));
    match m.context_length {
        Some(n) => facts.push(format!("context {n}")),
        None => facts.push("context unknown".into()),
    }
    let template = match m.chat_template {
        true => "chat template",
        false => "no chat template",
    };
    facts.push(template.into());
    if m.parts > 1 {
        facts.push(format!("{} parts", m.parts));
    }
    match m.kind {
        ModelKind::Text => {}
        ModelKind::Embedding => facts.push("embeddings only: cannot answer".into()),
        ModelKind::Projector => facts.push("vision projector: cannot answer".into()),
        ModelKind::Other => facts.push("not a text model: cannot answer".into()),
    }
    facts.join("  ")
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Bytes as people read them: "98 MB", "4.7 GB".
fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else {
        format!("{:.0} MB", (b / 1e6).max(1.0))
    }
}

/// Parameters as model names write them: "135M", "1.2B".
fn count(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.1}B", n / 1e9)
    } else {
        format!("{:.0}M", (n / 1e6).max(1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_counts_read_like_model_names() {
        assert_eq!(size(98_362_432), "98 MB");
        assert_eq!(size(4_683_074_240), "4.7 GB");
        assert_eq!(count(134_515_008), "135M");
        assert_eq!(count(8_030_261_248), "8.0B");
    }
}
