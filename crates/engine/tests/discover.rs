//! Discovery over a home folder laid out the way each app lays out its models, around the real
//! GGUFs from Quire's models folder (hard links, so nothing is copied), with the damaged files
//! those apps leave behind: a web page saved as `.gguf`, a cut-off download, an empty blob, a
//! manifest that is not JSON or points nowhere, links that loop or dangle.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use quire_engine::{
    discover_models, Discovery, FoundModel, ModelKind, ModelSource, SkipKind, SkippedFile,
};

const GEMMA: &str = "gemma-3-270m-q4_k_m.gguf";
const SMOL: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// A real model file from Quire's models folder (fetched by models/fetch.py).
fn real_model(name: &str) -> PathBuf {
    let dir = std::env::var_os("QUIRE_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(quire_engine::default_models_dir);
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `python3 models/fetch.py`",
        path.display()
    );
    path
}

/// Puts `model` at `at`: a hard link (same bytes, no copy), or a copy across file systems.
fn place(model: &Path, at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    if std::fs::hard_link(model, at).is_err() {
        std::fs::copy(model, at).unwrap();
    }
}

fn write(at: &Path, bytes: impl AsRef<[u8]>) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::fs::write(at, bytes).unwrap();
}

/// The OS's application data folders under `home`, as each app's own code resolves them.
fn data_dir(home: &Path) -> PathBuf {
    if cfg!(target_os = "macos") {
        home.join("Library/Application Support")
    } else if cfg!(windows) {
        home.join("AppData/Roaming")
    } else {
        home.join(".local/share")
    }
}

fn local_data_dir(home: &Path) -> PathBuf {
    if cfg!(windows) {
        home.join("AppData/Local")
    } else {
        data_dir(home)
    }
}

/// An Ollama manifest as `ollama pull` writes it, its model layer naming `digest`.
fn ollama_manifest(digest: &str) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
  "config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:{c}","size":487}},
  "layers":[
    {{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:{digest}","size":1}},
    {{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:{t}","size":358}},
    {{"mediaType":"application/vnd.ollama.image.params","digest":"sha256:{p}","size":78}}]}}"#,
        c = "1".repeat(64),
        t = "2".repeat(64),
        p = "3".repeat(64),
    )
}

fn ollama(models: &Path, name: &str, digest: &str, blob: Option<&Path>) {
    let (model, tag) = name.split_once(':').unwrap();
    let manifest = models
        .join("manifests/registry.ollama.ai/library")
        .join(model)
        .join(tag);
    write(&manifest, ollama_manifest(digest));
    if let Some(blob) = blob {
        place(blob, &models.join("blobs").join(format!("sha256-{digest}")));
    }
}

#[cfg(unix)]
fn symlink(target: impl AsRef<Path>, at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, at).unwrap();
}

/// Every app's store, each with both models and the damage typical of it.
fn lay_out_home(home: &Path) {
    let (gemma, smol) = (real_model(GEMMA), real_model(SMOL));

    let quire = data_dir(home).join("quire/models");
    place(&gemma, &quire.join(GEMMA));
    place(&smol, &quire.join(SMOL));
    let bytes = std::fs::read(&gemma).unwrap();
    // A download that stopped after the header: the tensors' data is missing.
    write(&quire.join("gemma-partial.gguf"), &bytes[..8 << 20]);

    let o = home.join(".ollama/models");
    ollama(&o, "gemma3:270m", &"a".repeat(64), Some(&gemma));
    ollama(&o, "smollm2:135m", &"b".repeat(64), Some(&smol));
    ollama(&o, "gone:latest", &"c".repeat(64), None);
    ollama(&o, "empty:latest", &"d".repeat(64), None);
    write(&o.join(format!("blobs/sha256-{}", "d".repeat(64))), b"");
    write(
        &o.join("manifests/registry.ollama.ai/library/broken/latest"),
        "{ not json",
    );

    let lms = home.join(".lmstudio/models");
    place(
        &gemma,
        &lms.join("lmstudio-community/gemma-3-270m-GGUF").join(GEMMA),
    );
    place(
        &smol,
        &lms.join("HuggingFaceTB/SmolLM2-135M-Instruct-GGUF")
            .join(SMOL),
    );
    let page = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body></body></html>";
    write(
        &lms.join("bartowski/Llama-3.2-1B-GGUF/Llama-3.2-1B-Q4_K_M.gguf"),
        page,
    );

    let gpt4all = local_data_dir(home).join("nomic.ai/GPT4All");
    place(&gemma, &gpt4all.join(GEMMA));
    place(&smol, &gpt4all.join(SMOL));
    // Cut inside the header, in the middle of the vocabulary.
    write(&gpt4all.join("gemma-cut.gguf"), &bytes[..100_000]);

    let jan = data_dir(home).join("Jan/data");
    let jan_models = jan.join("llamacpp/models");
    place(&gemma, &jan_models.join("gemma-3-270m/model.gguf"));
    write(
        &jan_models.join("gemma-3-270m/model.yml"),
        "model_path: llamacpp/models/gemma-3-270m/model.gguf\nname: gemma-3-270m\nsize_bytes: 253113024\n",
    );
    // Imported in place: the record points at the file where the user keeps it.
    let downloads = home.join("Downloads").join(SMOL);
    place(&smol, &downloads);
    let record = format!("model_path: '{}'\nname: SmolLM2\n", downloads.display());
    write(&jan_models.join("smollm2-135m/model.yml"), record);
    write(
        &jan_models.join("deleted/model.yml"),
        "model_path: llamacpp/models/deleted/model.gguf\n",
    );
    #[cfg(unix)]
    {
        symlink("model.gguf", &jan_models.join("loop/model.gguf"));
        symlink("..", &jan_models.join("gemma-3-270m/up"));
    }
}

/// A folder the user added: a link to a model another app holds, a link back up the tree,
/// a dangling link, one part of a split model, hidden and unrelated files.
fn lay_out_folder(home: &Path) -> PathBuf {
    let folder = home.join("Models");
    place(
        &real_model(SMOL),
        &folder.join("big-model-00001-of-00002.gguf"),
    );
    write(&folder.join("notes.txt"), "not a model");
    write(&folder.join(".cache/hidden.gguf"), "hidden");
    #[cfg(unix)]
    {
        let lms_gemma = home
            .join(".lmstudio/models/lmstudio-community/gemma-3-270m-GGUF")
            .join(GEMMA);
        symlink(lms_gemma, &folder.join("linked.gguf"));
        symlink(&folder, &folder.join("nested/again"));
        symlink("nowhere.gguf", &folder.join("gone.gguf"));
    }
    folder
}

fn assert_gemma(m: &FoundModel) {
    assert_eq!(m.architecture.as_deref(), Some("gemma3"), "{m:?}");
    assert_eq!(m.quantisation.as_deref(), Some("Q4_K_M"), "{m:?}");
    assert_eq!(m.context_length, Some(32768), "{m:?}");
    assert!(!m.chat_template, "this GGUF has no chat template: {m:?}");
    assert_eq!(m.parameters, Some(268_098_176), "{m:?}");
    assert_eq!(m.size_bytes, 253_113_024, "{m:?}");
    assert_eq!(
        (m.kind, m.answer_capable, m.parts),
        (ModelKind::Text, true, 1)
    );
}

fn assert_smol(m: &FoundModel) {
    assert_eq!(m.architecture.as_deref(), Some("llama"), "{m:?}");
    assert_eq!(m.quantisation.as_deref(), Some("Q4_1"), "{m:?}");
    assert_eq!(m.context_length, Some(8192), "{m:?}");
    assert!(m.chat_template, "{m:?}");
    assert_eq!(m.parameters, Some(134_515_008), "{m:?}");
    assert_eq!(m.size_bytes, 98_362_432, "{m:?}");
    assert_eq!(
        (m.kind, m.answer_capable, m.parts),
        (ModelKind::Text, true, 1)
    );
}

fn models_of(d: &Discovery, source: ModelSource) -> Vec<&FoundModel> {
    d.models.iter().filter(|m| m.source == source).collect()
}

fn skipped<'a>(d: &'a Discovery, path: &Path) -> &'a SkippedFile {
    d.skipped
        .iter()
        .find(|s| s.path == path)
        .unwrap_or_else(|| {
            panic!(
                "{} is not among the skipped: {:#?}",
                path.display(),
                d.skipped
            )
        })
}

fn assert_skipped(d: &Discovery, path: &Path, kind: SkipKind, says: &str) {
    let s = skipped(d, path);
    assert_eq!(s.kind, kind, "{s:?}");
    assert!(
        s.reason.contains(says),
        "{:?} should say {says:?}",
        s.reason
    );
}

#[test]
fn each_apps_models_are_found_with_their_facts_and_damaged_files_are_skipped_with_reasons() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    lay_out_home(home);
    let folder = lay_out_folder(home);
    let d = discover_models(home, std::slice::from_ref(&folder));

    let expected_names = [
        (
            ModelSource::Quire,
            "gemma-3-270m-q4_k_m",
            "SmolLM2-135M-Instruct.Q4_1",
        ),
        (ModelSource::Ollama, "gemma3:270m", "smollm2:135m"),
        (
            ModelSource::LmStudio,
            "gemma-3-270m-q4_k_m",
            "SmolLM2-135M-Instruct.Q4_1",
        ),
        (
            ModelSource::Gpt4All,
            "gemma-3-270m-q4_k_m",
            "SmolLM2-135M-Instruct.Q4_1",
        ),
        (ModelSource::Jan, "gemma-3-270m", "smollm2-135m"),
    ];
    for (source, gemma, smol) in expected_names {
        let found = models_of(&d, source);
        let names: Vec<&str> = found.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(found.len(), 2, "{source:?}: {names:?}");
        let by = |name: &str| {
            *found
                .iter()
                .find(|m| m.name == name)
                .unwrap_or_else(|| panic!("{source:?} has no {name}: {names:?}"))
        };
        assert_gemma(by(gemma));
        assert_smol(by(smol));
    }
    // The user's folder held no model of its own: its link leads to LM Studio's file, which is
    // listed once, under LM Studio.
    assert!(
        models_of(&d, ModelSource::Folder).is_empty(),
        "{:#?}",
        d.models
    );
    assert_eq!(d.models.len(), 10);
    let paths: HashSet<&PathBuf> = d.models.iter().map(|m| &m.path).collect();
    assert_eq!(paths.len(), 10, "a file is listed once");
    assert_eq!(
        models_of(&d, ModelSource::Quire)[0].source,
        d.models[0].source,
        "Quire first"
    );

    let quire = data_dir(home).join("quire/models");
    assert_skipped(
        &d,
        &quire.join("gemma-partial.gguf"),
        SkipKind::Truncated,
        "its tensors need",
    );
    let o = home.join(".ollama/models");
    let library = o.join("manifests/registry.ollama.ai/library");
    assert_skipped(
        &d,
        &library.join("broken/latest"),
        SkipKind::BadManifest,
        "not valid JSON",
    );
    assert_skipped(
        &d,
        &library.join("gone/latest"),
        SkipKind::Missing,
        "gone:latest: its model file",
    );
    let empty_blob = o.join(format!("blobs/sha256-{}", "d".repeat(64)));
    assert_skipped(
        &d,
        &empty_blob,
        SkipKind::Empty,
        "empty:latest: the file is empty (0 bytes)",
    );
    let page = home.join(".lmstudio/models/bartowski/Llama-3.2-1B-GGUF/Llama-3.2-1B-Q4_K_M.gguf");
    assert_skipped(&d, &page, SkipKind::NotGguf, "web page");
    let cut = local_data_dir(home).join("nomic.ai/GPT4All/gemma-cut.gguf");
    assert_skipped(&d, &cut, SkipKind::Truncated, "inside its header");
    let jan = data_dir(home).join("Jan/data/llamacpp/models");
    assert_skipped(
        &d,
        &jan.join("deleted/model.yml"),
        SkipKind::Missing,
        "which is missing",
    );
    let split = folder.join("big-model-00001-of-00002.gguf");
    assert_skipped(&d, &split, SkipKind::Missing, "part 2 of 2 is missing");
    #[cfg(unix)]
    {
        assert_skipped(
            &d,
            &jan.join("loop/model.gguf"),
            SkipKind::BrokenLink,
            "loops back",
        );
        assert_skipped(
            &d,
            &folder.join("gone.gguf"),
            SkipKind::BrokenLink,
            "does not exist",
        );
    }
    let expected_skips = if cfg!(unix) { 10 } else { 8 };
    assert_eq!(d.skipped.len(), expected_skips, "{:#?}", d.skipped);
    assert!(d.searched.iter().any(|s| s.path == folder && s.present));
}

#[test]
fn folders_moved_in_each_apps_settings_are_searched() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let smol = real_model(SMOL);
    let elsewhere = home.join("Big Disk");
    let json_path = |p: &Path| serde_json::to_string(&p.display().to_string()).unwrap();

    let lms = elsewhere.join("lmstudio");
    place(
        &smol,
        &lms.join("HuggingFaceTB/SmolLM2-135M-Instruct-GGUF")
            .join(SMOL),
    );
    let settings = format!(
        "{{\"downloadsFolder\": {}, \"theme\": \"dark\"}}",
        json_path(&lms)
    );
    write(&home.join(".lmstudio/settings.json"), settings);

    let gpt4all = elsewhere.join("gpt4all");
    place(&smol, &gpt4all.join(SMOL));
    let ini_dir = if cfg!(windows) {
        data_dir(home)
    } else {
        home.join(".config")
    };
    let ini = format!(
        "[General]\nmodelPath={}\nsaveChats=false\n",
        gpt4all.display()
    );
    write(&ini_dir.join("nomic.ai/GPT4All.ini"), ini);

    let jan = elsewhere.join("jan-data");
    place(&smol, &jan.join("llamacpp/models/smollm2-135m/model.gguf"));
    let settings = format!(
        "{{\"data_folder\": {}, \"quick_ask\": false}}",
        json_path(&jan)
    );
    write(&data_dir(home).join("Jan/settings.json"), settings);

    let d = discover_models(home, &[]);
    for source in [
        ModelSource::LmStudio,
        ModelSource::Gpt4All,
        ModelSource::Jan,
    ] {
        let found = models_of(&d, source);
        assert_eq!(found.len(), 1, "{source:?}: {:#?}", d.models);
        assert!(found[0].path.starts_with(&elsewhere), "{:?}", found[0].path);
        assert_smol(found[0]);
    }
    assert_eq!(models_of(&d, ModelSource::Jan)[0].name, "smollm2-135m");
    assert!(d.skipped.is_empty(), "{:#?}", d.skipped);
}

#[test]
fn an_empty_home_finds_nothing_and_a_missing_folder_is_named() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("no such folder");
    let d = discover_models(home.path(), std::slice::from_ref(&missing));
    assert!(d.models.is_empty());
    assert_skipped(&d, &missing, SkipKind::Missing, "does not exist");
    assert_eq!(d.skipped.len(), 1);
    assert!(d.searched.iter().all(|s| !s.present));
}

#[test]
fn the_discovery_serialises_as_the_contract_says() {
    let home = tempfile::tempdir().unwrap();
    let folder = home.path().join("mine");
    place(&real_model(SMOL), &folder.join(SMOL));
    let d = discover_models(home.path(), &[folder]);
    let json = serde_json::to_value(&d).unwrap();
    let model = &json["models"][0];
    assert_eq!(model["source"], "folder");
    assert_eq!(model["name"], "SmolLM2-135M-Instruct.Q4_1");
    assert_eq!(model["quantisation"], "Q4_1");
    assert_eq!(model["kind"], "text");
    assert_eq!(model["chat_template"], true);
    assert_eq!(
        serde_json::to_value(ModelSource::Gpt4All).unwrap(),
        "gpt4all"
    );
    assert_eq!(
        serde_json::to_value(ModelSource::LmStudio).unwrap(),
        "lm_studio"
    );
}
