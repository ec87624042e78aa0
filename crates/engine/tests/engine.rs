//! One `Engine` shared by threads, as the desktop app uses it: searching and reading the
//! library while another thread adds a document, with the real embedding model and real PDFs.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use quire_engine::{
    AddEvent, AddOptions, DocStatus, Engine, Error, Isolation, LibraryOptions, SearchOptions,
};

mod common;

fn texlive(name: &str) -> PathBuf {
    let path = PathBuf::from("/usr/share/doc/texlive-doc/latex/base").join(name);
    assert!(
        path.is_file(),
        "{} is missing: apt-get install texlive-latex-base-doc",
        path.display()
    );
    path
}

#[test]
fn searching_while_another_thread_adds_sees_only_ready_documents() {
    let dir = tempfile::tempdir().unwrap();
    let models = common::embedding_model_dir()
        .parent()
        .unwrap()
        .to_path_buf();
    let mut options = LibraryOptions::new(dir.path().join("library"), models);
    options.extractor = quire_engine::Extractor::new(Isolation::Thread);
    options.device = quire_engine::DeviceChoice::Cpu;
    let engine = Engine::open(options).unwrap();
    let none = &|_: &AddEvent| true;
    let first = engine
        .add(&[texlive("clsguide.pdf")], &AddOptions::default(), none)
        .unwrap();
    assert_eq!(first.failed(), 0);
    let guide = first.files[0].document_id.unwrap();
    let device = engine.embedding_device().expect("the embedder is loaded");

    let adding = AtomicBool::new(true);
    let searches_during_add = AtomicUsize::new(0);
    let second = std::thread::scope(|scope| {
        let add = scope.spawn(|| {
            let report = engine.add(&[texlive("fntguide.pdf")], &AddOptions::default(), none);
            adding.store(false, Ordering::SeqCst);
            report
        });
        let query = "Which font encodings does LaTeX support?";
        while adding.load(Ordering::SeqCst) {
            let hits = engine.search(query, &SearchOptions::default()).unwrap();
            let ready: Vec<i64> = engine
                .documents()
                .unwrap()
                .iter()
                .filter(|d| d.status == DocStatus::Ready)
                .map(|d| d.id)
                .collect();
            assert!(!hits.is_empty());
            for hit in &hits {
                assert!(
                    hit.chunk.document_id == guide || ready.contains(&hit.chunk.document_id),
                    "a passage of a document still being added: {:?}",
                    hit.chunk.passage.path
                );
            }
            // Cheap status while the other thread writes.
            let status = engine.status(false).unwrap();
            assert!(status.documents.ready >= 1);
            searches_during_add.fetch_add(1, Ordering::SeqCst);
        }
        add.join().unwrap()
    });
    let second = second.unwrap();
    assert_eq!(second.failed(), 0);
    eprintln!(
        "{} searches ran while fntguide.pdf was added ({} chunks)",
        searches_during_add.load(Ordering::SeqCst),
        second.chunks
    );
    assert!(searches_during_add.load(Ordering::SeqCst) > 0);
    // The same embedder served both threads, and the new document is found now.
    assert_eq!(engine.embedding_device().as_deref(), Some(device.as_str()));
    let font_guide = second.files[0].document_id.unwrap();
    let options = SearchOptions {
        docs: vec![font_guide],
        ..SearchOptions::default()
    };
    let hits = engine.search("font encodings", &options).unwrap();
    assert!(hits.iter().all(|h| h.chunk.document_id == font_guide) && !hits.is_empty());
    let status = engine.status(true).unwrap();
    assert_eq!(status.consistent, Some(true), "{:?}", status.problems);
    assert_eq!(status.documents.ready, 2);
}

#[test]
fn options_out_of_range_are_refused_by_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let models = common::embedding_model_dir()
        .parent()
        .unwrap()
        .to_path_buf();
    let engine = Engine::open(LibraryOptions::new(dir.path().join("library"), models)).unwrap();
    let none = &|_: &AddEvent| true;
    let tiny = AddOptions {
        chunk_tokens: 8,
        ..AddOptions::default()
    };
    let err = engine.add(&[texlive("lppl.pdf")], &tiny, none).unwrap_err();
    assert!(
        matches!(err, Error::Usage(_)) && err.to_string().contains("chunk size"),
        "{err}"
    );
    let many = SearchOptions {
        k: 50,
        ..SearchOptions::default()
    };
    let err = engine.search("anything", &many).unwrap_err();
    assert!(
        matches!(err, Error::Usage(_)) && err.to_string().contains("between 1 and 20"),
        "{err}"
    );
    assert!("sideways".parse::<quire_engine::SearchMode>().is_err());
}
