//! `quire models`: the real binary over a home folder laid out like Ollama's and LM Studio's
//! stores around the real GGUFs (hard links), plus a folder named with `--folder`.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const SMOL: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

fn place(model: &Path, at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    if std::fs::hard_link(model, at).is_err() {
        std::fs::copy(model, at).unwrap();
    }
}

/// `quire models` with `home` as the home folder and nothing from this machine's environment.
fn models_command(q: &Quire, home: &Path) -> Command {
    let mut cmd = q.command();
    cmd.env("HOME", home).env("USERPROFILE", home);
    for var in [
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
        "OLLAMA_MODELS",
        "JAN_DATA_FOLDER",
    ] {
        cmd.env_remove(var);
    }
    cmd.arg("models");
    cmd
}

#[test]
fn models_lists_what_other_apps_downloaded_and_why_files_were_skipped() {
    let q = Quire::new();
    let home = q.dir("home");
    let smol = models_dir().join(SMOL);
    assert!(
        smol.is_file(),
        "{} is missing: run `python3 models/fetch.py`",
        smol.display()
    );
    let digest = "e".repeat(64);
    let store = home.join(".ollama/models");
    let manifest = store.join("manifests/registry.ollama.ai/library/smollm2/135m");
    std::fs::create_dir_all(manifest.parent().unwrap()).unwrap();
    let layer = format!(
        r#"{{"layers":[{{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:{digest}"}}]}}"#
    );
    std::fs::write(&manifest, layer).unwrap();
    place(&smol, &store.join(format!("blobs/sha256-{digest}")));
    let lms = home
        .join(".lmstudio/models/HuggingFaceTB/SmolLM2-135M-Instruct-GGUF")
        .join(SMOL);
    place(&smol, &lms);
    let folder = q.dir("downloads");
    std::fs::write(folder.join("model.gguf"), "<!DOCTYPE html><html></html>").unwrap();

    let out = models_command(&q, &home)
        .args(["--json", "--folder", folder.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let models = found["models"].as_array().unwrap();
    let find = |source: &str, name: &str| {
        models
            .iter()
            .find(|m| m["source"] == source && m["name"] == name)
            .unwrap_or_else(|| panic!("no {source} {name} in {models:#?}"))
    };
    // Quire's own models folder (QUIRE_MODELS) comes first.
    assert_eq!(models[0]["source"], "quire");
    find("quire", "gemma-3-270m-q4_k_m");
    let ollama = find("ollama", "smollm2:135m");
    assert_eq!(ollama["quantisation"], "Q4_1");
    assert_eq!(ollama["context_length"], 8192);
    assert_eq!(ollama["chat_template"], true);
    assert_eq!(
        find("lm_studio", "SmolLM2-135M-Instruct.Q4_1")["path"],
        lms.to_str().unwrap()
    );
    let skipped = found["skipped"].as_array().unwrap();
    assert!(
        skipped.iter().any(|s| s["kind"] == "not_gguf"
            && s["source"] == "folder"
            && s["reason"].as_str().unwrap().contains("web page")),
        "{skipped:#?}"
    );

    let out = models_command(&q, &home)
        .args(["--folder", folder.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("* gemma-3-270m-q4_k_m"),
        "the default answer model is marked:\n{text}"
    );
    assert!(
        text.contains("smollm2:135m") && text.contains("Ollama"),
        "{text}"
    );
    assert!(text.contains("--answer-model PATH"), "{text}");
    assert!(
        text.contains("not a GGUF model: it is a web page"),
        "{text}"
    );
    assert!(
        !q.library().exists(),
        "listing models does not create a library"
    );
}
