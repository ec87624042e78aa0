//! The UI's TypeScript types (`ui/src/lib/types.ts`) are generated from the Rust types that
//! cross the window's IPC, so a field is written once. This test fails when the file is stale;
//! `QUIRE_UPDATE_TYPES=1 cargo test --release -p quire-app --test types` writes it anew.

use std::path::Path;

use quire_app::{
    AddUpdate, AppError, AppSettings, CancelTarget, JobEvent, OcrLanguages, TeamLibrary,
};
use quire_engine::conversation::Checked;
use quire_engine::generate::Role;
use quire_engine::{
    AddEvent, AddStatus, Answer, AnswerSentence, AskEvent, Citation, Conversation, Coverage,
    DeviceChoice, Discovery, DocStatus, Document, DocumentCounts, EncoderPrecision, ErrorKind,
    FailureKind, FileOutcome, FoundModel, GenerationStats, LibraryStatus, ModelKind, ModelSource,
    ModelStatus, ModelSuggestion, OcrLayer, Omission, OmitReason, Outcome, Passage, PromptReport,
    Quote, SearchedFolder, Segment, SkipKind, SkippedFile, StopReason, StoredMessage, Support,
    WordBox,
};
use ts_rs::{Config, TS};

const HEADER: &str = "\
// Generated from the Rust types that cross the window's IPC (quire-engine and quire-app) by
// src-tauri/tests/types.rs; do not edit. After changing those types, run
// `QUIRE_UPDATE_TYPES=1 cargo test --release -p quire-app --test types`.
";

fn declaration<T: TS>(cfg: &Config) -> String {
    let docs = T::docs().unwrap_or_default();
    format!("{docs}export {}\n", T::decl(cfg))
}

fn generated() -> String {
    // JSON numbers: ids and counts stay far below 2^53.
    let cfg = Config::new().with_large_int("number");
    let declarations = [
        declaration::<ErrorKind>(&cfg),
        declaration::<AppError>(&cfg),
        declaration::<DocStatus>(&cfg),
        declaration::<FailureKind>(&cfg),
        declaration::<Document>(&cfg),
        declaration::<AddStatus>(&cfg),
        declaration::<FileOutcome>(&cfg),
        declaration::<AddEvent>(&cfg),
        declaration::<JobEvent>(&cfg),
        declaration::<AddUpdate>(&cfg),
        declaration::<Passage>(&cfg),
        declaration::<WordBox>(&cfg),
        declaration::<OcrLayer>(&cfg),
        declaration::<Citation>(&cfg),
        declaration::<Quote>(&cfg),
        declaration::<Segment>(&cfg),
        declaration::<StopReason>(&cfg),
        declaration::<PromptReport>(&cfg),
        declaration::<GenerationStats>(&cfg),
        declaration::<Outcome>(&cfg),
        declaration::<Support>(&cfg),
        declaration::<AnswerSentence>(&cfg),
        declaration::<OmitReason>(&cfg),
        declaration::<Omission>(&cfg),
        declaration::<Coverage>(&cfg),
        declaration::<Answer>(&cfg),
        declaration::<AskEvent>(&cfg),
        declaration::<Conversation>(&cfg),
        declaration::<Role>(&cfg),
        declaration::<Checked>(&cfg),
        declaration::<StoredMessage>(&cfg),
        declaration::<ModelStatus>(&cfg),
        declaration::<DocumentCounts>(&cfg),
        declaration::<LibraryStatus>(&cfg),
        declaration::<ModelSuggestion>(&cfg),
        declaration::<DeviceChoice>(&cfg),
        declaration::<EncoderPrecision>(&cfg),
        declaration::<ModelSource>(&cfg),
        declaration::<ModelKind>(&cfg),
        declaration::<FoundModel>(&cfg),
        declaration::<SkipKind>(&cfg),
        declaration::<SkippedFile>(&cfg),
        declaration::<SearchedFolder>(&cfg),
        declaration::<Discovery>(&cfg),
        declaration::<TeamLibrary>(&cfg),
        declaration::<AppSettings>(&cfg),
        declaration::<OcrLanguages>(&cfg),
        declaration::<CancelTarget>(&cfg),
    ];
    format!("{HEADER}\n{}", declarations.join("\n"))
}

#[test]
fn ui_types_are_generated_from_the_rust_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/types.ts");
    let expected = generated();
    if std::env::var_os("QUIRE_UPDATE_TYPES").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == expected,
        "{} is stale: run `QUIRE_UPDATE_TYPES=1 cargo test --release -p quire-app --test types`",
        path.display()
    );
}
