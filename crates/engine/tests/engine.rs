//! One `Engine` shared by threads, as the desktop app uses it: searching and reading the
//! library while another thread adds a document, with the real embedding model and real PDFs.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use quire_engine::{
    AddEvent, AddOptions, AskOptions, DocStatus, Engine, Error, Flow, Isolation, LibraryOptions,
    SearchOptions,
};

mod common;

use common::texlive;

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

fn engine_in(dir: &std::path::Path) -> Engine {
    let models = common::embedding_model_dir()
        .parent()
        .unwrap()
        .to_path_buf();
    let mut options = LibraryOptions::new(dir.join("library"), models);
    options.extractor = quire_engine::Extractor::new(Isolation::Thread);
    options.device = quire_engine::DeviceChoice::Cpu;
    Engine::open(options).unwrap()
}

/// Two-phase indexing: while another thread is still making the vectors of a document it has
/// stored, a question already gets passages from it, found by their words, and its sources say
/// so; once the vectors are made the same search finds them by meaning too.
#[test]
fn a_document_still_waiting_for_vectors_answers_by_its_words_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(dir.path());
    let none = &|_: &AddEvent| true;
    let guide = engine
        .add(&[texlive("clsguide.pdf")], &AddOptions::default(), none)
        .unwrap();
    assert_eq!(guide.failed(), 0);
    let question = "Which font encodings does LaTeX support, such as T1 and OT1?";
    let (embedding, paused) = std::sync::mpsc::channel::<()>();
    let (resume, resumed) = std::sync::mpsc::channel::<()>();
    let resumed = std::sync::Mutex::new(resumed);
    let embedding = std::sync::Mutex::new(embedding);
    let report = std::thread::scope(|scope| {
        let add = scope.spawn(|| {
            let first = AtomicBool::new(true);
            let pause = |event: &AddEvent| {
                if let AddEvent::Vectors { .. } = event {
                    if first.swap(false, Ordering::SeqCst) {
                        embedding.lock().unwrap().send(()).unwrap();
                        resumed.lock().unwrap().recv().unwrap();
                    }
                }
                true
            };
            engine.add(&[texlive("fntguide.pdf")], &AddOptions::default(), &pause)
        });
        // The font guide is stored and its first vectors are being made.
        paused.recv().unwrap();
        let font_guide = engine
            .documents()
            .unwrap()
            .into_iter()
            .find(|d| d.path.ends_with("fntguide.pdf"))
            .unwrap();
        assert_eq!(font_guide.status, DocStatus::Ready);
        assert!(!font_guide.embedded);
        assert!(engine.passages_without_vectors().unwrap() > 0);
        let hits = engine.search(question, &SearchOptions::default()).unwrap();
        let by_words: Vec<_> = hits
            .iter()
            .filter(|h| h.chunk.document_id == font_guide.id)
            .collect();
        assert!(!by_words.is_empty(), "{hits:?}");
        assert!(by_words.iter().any(|h| h.by_words_only));
        let options = AskOptions {
            generate: false,
            save: false,
            ..AskOptions::default()
        };
        let answer = engine
            .ask(question, &options, &mut |_| Flow::Continue)
            .unwrap();
        assert!(
            answer
                .citations
                .iter()
                .any(|c| c.document_id == Some(font_guide.id) && c.by_words_only),
            "{:?}",
            answer.citations
        );
        resume.send(()).unwrap();
        add.join().unwrap().unwrap()
    });
    assert_eq!(report.chunks_waiting, 0);
    assert!(report.chunks_embedded >= report.chunks);
    let font_guide = report.files[0].document_id.unwrap();
    assert!(engine.documents().unwrap().iter().all(|d| d.embedded));
    let hits = engine.search(question, &SearchOptions::default()).unwrap();
    assert!(hits.iter().any(|h| h.chunk.document_id == font_guide));
    assert!(hits.iter().all(|h| !h.by_words_only));
    let status = engine.status(true).unwrap();
    assert_eq!(status.consistent, Some(true), "{:?}", status.problems);
}

/// Stopped while making vectors, the documents stay searchable by words; an `add` of nothing
/// (what the window does on opening) makes the rest, without redoing the ones saved.
#[test]
fn an_add_of_nothing_finishes_the_vectors_a_stopped_run_left() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(dir.path());
    let stop_at_vectors = |event: &AddEvent| !matches!(event, AddEvent::Vectors { .. });
    let stopped = engine
        .add(
            &[texlive("lppl.pdf")],
            &AddOptions::default(),
            &stop_at_vectors,
        )
        .unwrap();
    assert!(stopped.cancelled);
    assert_eq!(stopped.files[0].status, quire_engine::AddStatus::Added);
    assert!(stopped.chunks_embedded > 0 && stopped.chunks_waiting > 0);
    let waiting = engine.status(false).unwrap().chunks_waiting;
    assert_eq!(waiting, stopped.chunks_waiting);
    let none = &|_: &AddEvent| true;
    let resumed = engine.add(&[], &AddOptions::default(), none).unwrap();
    assert!(resumed.files.is_empty());
    assert_eq!(
        resumed.chunks_embedded + stopped.chunks_embedded,
        stopped.chunks,
        "each passage embedded once"
    );
    let status = engine.status(true).unwrap();
    assert_eq!(status.chunks_waiting, 0);
    assert_eq!(status.vectors, status.chunks);
    assert_eq!(status.consistent, Some(true), "{:?}", status.problems);
}

/// Documents added while an earlier batch is still being embedded get their vectors first: the
/// embedding finishes the document it is on, then takes the new ones, then the rest.
#[test]
fn a_new_add_is_embedded_before_the_rest_of_an_earlier_batch() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(dir.path());
    let (embedding, paused) = std::sync::mpsc::channel::<()>();
    let (resume, resumed) = std::sync::mpsc::channel::<()>();
    let (embedding, resumed) = (
        std::sync::Mutex::new(embedding),
        std::sync::Mutex::new(resumed),
    );
    let order = std::sync::Mutex::new(Vec::<String>::new());
    let name = |path: &std::path::Path| path.file_name().unwrap().to_string_lossy().into_owned();
    let second = std::thread::scope(|scope| {
        let batch = scope.spawn(|| {
            let first = AtomicBool::new(true);
            let watch = |event: &AddEvent| {
                if let AddEvent::Embedding { path, .. } = event {
                    let mut order = order.lock().unwrap();
                    if order.last() != Some(&name(path)) {
                        order.push(name(path));
                    }
                }
                if let AddEvent::Vectors { .. } = event {
                    if first.swap(false, Ordering::SeqCst) {
                        embedding.lock().unwrap().send(()).unwrap();
                        resumed.lock().unwrap().recv().unwrap();
                    }
                }
                true
            };
            let batch = [texlive("lppl.pdf"), texlive("ltnews01.pdf")];
            engine.add(&batch, &AddOptions::default(), &watch)
        });
        // The batch is stored and embedding lppl.pdf: add another document meanwhile.
        paused.recv().unwrap();
        let none = &|_: &AddEvent| true;
        let later = engine
            .add(&[texlive("ltnews02.pdf")], &AddOptions::default(), none)
            .unwrap();
        // Stored and searchable; its vectors are left to the thread already embedding.
        assert_eq!(later.files[0].status, quire_engine::AddStatus::Added);
        assert_eq!(later.chunks_embedded, 0);
        resume.send(()).unwrap();
        batch.join().unwrap().unwrap()
    });
    assert_eq!(second.chunks_waiting, 0);
    assert_eq!(
        *order.lock().unwrap(),
        ["lppl.pdf", "ltnews02.pdf", "ltnews01.pdf"],
        "the new document's vectors come before the rest of the earlier batch"
    );
    let status = engine.status(true).unwrap();
    assert_eq!(status.vectors, status.chunks);
    assert_eq!(status.consistent, Some(true), "{:?}", status.problems);
}

/// The embedder always has the next batch in hand while the one before is stored. A document
/// removed while one of its batches is in flight loses those chunks: their vectors are not
/// stored (no vector of a passage that is gone), and the other document is embedded fully.
#[test]
fn a_document_removed_while_its_batch_is_in_flight_leaves_no_vectors_behind() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(dir.path());
    let removed = std::sync::Mutex::new(None::<String>);
    let report = {
        let watch = |event: &AddEvent| {
            // At the first stored batch, the document it belongs to goes; its next batch is
            // already with the embedder.
            if let AddEvent::Embedding { path, .. } = event {
                let mut removed = removed.lock().unwrap();
                if removed.is_none() {
                    let doc = engine
                        .find_document(&path.to_string_lossy())
                        .unwrap()
                        .expect("the document being embedded");
                    engine.remove(doc.id).unwrap();
                    *removed = Some(doc.path);
                }
            }
            true
        };
        // clsguide.pdf has several batches of chunks; lppl.pdf is the one kept.
        let batch = [texlive("clsguide.pdf"), texlive("lppl.pdf")];
        engine.add(&batch, &AddOptions::default(), &watch).unwrap()
    };
    assert_eq!(report.failed(), 0);
    let removed = removed
        .into_inner()
        .unwrap()
        .expect("a document was removed");
    let documents = engine.documents().unwrap();
    assert_eq!(documents.len(), 1, "{documents:?}");
    assert_ne!(documents[0].path, removed);
    assert_eq!(documents[0].status, DocStatus::Ready);
    let status = engine.status(true).unwrap();
    assert_eq!(status.chunks_waiting, 0);
    assert_eq!(
        status.vectors, status.chunks,
        "a vector for each passage kept"
    );
    assert_eq!(status.consistent, Some(true), "{:?}", status.problems);
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
