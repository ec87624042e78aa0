//! One storage test suite, run against both back ends: the embedded library (SQLite + usearch
//! in a folder) and PostgreSQL with pgvector (a real server on loopback, started per test).
//! Each case runs on both and, where it reads results back, checks that both give the same.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::postgres::TestPostgres;
use quire_engine::answer::{Citation, Quote};
use quire_engine::chunk::Chunk;
use quire_engine::conversation::{Checked, Exchange};
use quire_engine::embed::{ModelCard, ModelInfo};
use quire_engine::extract::Page;
use quire_engine::index::Precision;
use quire_engine::storage::{Embedded, Postgres, Storage};
use quire_engine::store::{FileStamp, Pages};
use quire_engine::{DocStatus, FailureKind, OcrLayer, Outcome, Passage, WordBox};

/// Both back ends, fresh and empty: (name, storage). The guards keep them alive.
struct Backends {
    _dir: tempfile::TempDir,
    _pg: TestPostgres,
    list: Vec<(&'static str, Arc<dyn Storage>)>,
}

fn backends() -> Backends {
    let dir = tempfile::tempdir().unwrap();
    let pg = TestPostgres::start();
    let embedded = Embedded::open(&dir.path().join("library"), Precision::F32).unwrap();
    let postgres = Postgres::open(&pg.database("suite")).unwrap();
    Backends {
        _dir: dir,
        _pg: pg,
        list: vec![
            ("embedded", Arc::new(embedded)),
            ("postgres", Arc::new(postgres)),
        ],
    }
}

/// Runs `case` on each back end and returns what each gave, checking that they agree.
fn on_both<T: PartialEq + std::fmt::Debug>(case: impl Fn(&dyn Storage) -> T) -> T {
    let b = backends();
    let results: Vec<(&str, T)> = b.list.iter().map(|(n, s)| (*n, case(&**s))).collect();
    let (first, rest) = results.split_first().unwrap();
    for (name, result) in rest {
        assert_eq!(&first.1, result, "{} and {name} disagree", first.0);
    }
    results.into_iter().next().unwrap().1
}

fn model(dims: usize, name: &str) -> ModelInfo {
    ModelInfo {
        name: name.into(),
        fingerprint: format!("{name:0<16}"),
        dimensions: dims,
        max_tokens: 256,
        card: ModelCard::default(),
    }
}

fn chunk(text: &str, page: u32) -> Chunk {
    Chunk {
        text: text.into(),
        page_start: page,
        page_end: page,
        char_start: 0,
        char_end: text.chars().count(),
        tokens: text.split_whitespace().count(),
    }
}

fn stamp(sha: &str) -> FileStamp {
    FileStamp {
        sha256: sha.into(),
        size: 100,
        mtime_ns: 7,
    }
}

fn pages(texts: &[&str]) -> Vec<Page> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| Page {
            number: i as u32 + 1,
            text: t.to_string(),
        })
        .collect()
}

/// Stores a document whose chunks are `texts`, one per page.
fn put(s: &dyn Storage, path: &str, texts: &[&str], queued: i64) -> i64 {
    let pages = pages(texts);
    let chunks: Vec<Chunk> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| chunk(t, i as u32 + 1))
        .collect();
    s.put_document(
        path,
        path,
        &stamp(path),
        Pages::text(&pages),
        &chunks,
        queued,
    )
    .unwrap()
}

/// A unit vector along axis `i` of `dims`, tilted a little towards axis `j`.
fn axis(dims: usize, i: usize, j: usize, tilt: f32) -> Vec<f32> {
    let mut v = vec![0.0; dims];
    v[i] = 1.0;
    v[j] += tilt;
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / norm).collect()
}

fn chunk_ids(s: &dyn Storage, doc: i64) -> Vec<i64> {
    s.embedding_queue()
        .unwrap()
        .into_iter()
        .find(|(d, _)| *d == doc)
        .map(|(_, c)| c)
        .unwrap_or_default()
}

#[test]
fn documents_are_stored_whole_replaced_in_place_and_chunk_ids_never_come_back() {
    let seen = on_both(|s| {
        let a = put(s, "/docs/a.pdf", &["alpha page one", "alpha page two"], 1);
        let b = put(s, "/docs/b.pdf", &["beta only page"], 1);
        assert_ne!(a, b);
        let first = chunk_ids(s, a);
        assert_eq!(first.len(), 2);
        // The same path again: same document id, new chunks with new ids.
        let again = put(s, "/docs/a.pdf", &["alpha rewritten"], 2);
        assert_eq!(again, a);
        let second = chunk_ids(s, a);
        assert_eq!(second.len(), 1);
        assert!(second.iter().all(|c| !first.contains(c)), "ids reused");
        assert!(second[0] > *first.iter().max().unwrap());
        let docs = s.documents().unwrap();
        assert_eq!(docs.len(), 2, "a path is stored once");
        let doc = s.document(a).unwrap().unwrap();
        assert_eq!(
            (doc.pages, doc.chunks, doc.status, doc.embedded),
            (1, 1, DocStatus::Ready, false)
        );
        assert_eq!(s.document_by_path("/docs/b.pdf").unwrap().unwrap().id, b);
        assert_eq!(s.find_document(&b.to_string()).unwrap().unwrap().id, b);
        assert!(s.document_by_path("/docs/none.pdf").unwrap().is_none());
        let texts: Vec<String> = s.pages(a).unwrap().into_iter().map(|p| p.text).collect();
        let read = s.chunks(&second).unwrap();
        assert_eq!(read[0].passage.text, "alpha rewritten");
        assert_eq!(read[0].passage.path, "/docs/a.pdf");
        // Missing ids are skipped; order is the order asked.
        let both: Vec<i64> = [chunk_ids(s, b), vec![first[0]], second.clone()].concat();
        let order: Vec<i64> = s.chunks(&both).unwrap().iter().map(|c| c.id).collect();
        assert_eq!(order, vec![both[0], second[0]]);
        // A file that cannot be read replaces what was stored for its path.
        let failed = s
            .put_failure(
                "/docs/b.pdf",
                "b",
                &stamp("x"),
                FailureKind::Encrypted,
                "locked",
            )
            .unwrap();
        assert_eq!(failed, b);
        let doc = s.document(b).unwrap().unwrap();
        assert_eq!(
            (doc.status, doc.error_kind, doc.chunks),
            (DocStatus::Failed, Some(FailureKind::Encrypted), 0)
        );
        s.remove_document(a).unwrap();
        assert!(s.document(a).unwrap().is_none());
        assert_eq!(s.chunk_count().unwrap(), 0);
        assert_eq!(s.keyword_rows().unwrap(), 0);
        assert!(s.consistency_problems().unwrap().is_empty());
        (
            texts,
            s.ready_documents().unwrap(),
            s.document_counts().unwrap(),
        )
    });
    assert_eq!(seen.0, vec!["alpha rewritten"]);
}

#[test]
fn the_same_path_stored_at_once_from_many_threads_is_one_document() {
    let b = backends();
    for (name, s) in &b.list {
        s.adopt_model(&model(4, "m")).unwrap();
        std::thread::scope(|scope| {
            for i in 0..6 {
                let s = s.clone();
                scope.spawn(move || {
                    let text = format!("version {i} of the shared file");
                    put(&*s, "/shared.pdf", &[text.as_str(), "second page"], 1);
                });
            }
        });
        let docs = s.documents().unwrap();
        assert_eq!(docs.len(), 1, "{name}: duplicates");
        assert_eq!(
            docs[0].chunks, 2,
            "{name}: chunks of several versions mixed"
        );
        assert_eq!(s.chunk_count().unwrap(), 2, "{name}");
        assert_eq!(s.keyword_rows().unwrap(), 2, "{name}");
        assert!(s.consistency_problems().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn keyword_search_stems_ranks_filters_and_matches_chinese() {
    let found = on_both(|s| {
        let a = put(
            s,
            "/a.pdf",
            &[
                "Running the compiler produces documents quickly",
                "Margins and page layout are set by the geometry package",
            ],
            1,
        );
        let b = put(
            s,
            "/b.pdf",
            &[
                "中文文档的排版需要字体",
                "The geometry package sets margins",
            ],
            1,
        );
        s.put_failure("/c.pdf", "c", &stamp("c"), FailureKind::NoText, "no text")
            .unwrap();
        let search = |q: &str, docs: &[i64]| {
            s.keyword_search(&quire_engine::text::query_terms(q), 10, docs)
                .unwrap()
        };
        let ids_a = chunk_ids(s, a);
        let ids_b = chunk_ids(s, b);
        // Stemming: "runs" finds "Running", "document" finds "documents".
        assert_eq!(search("runs document", &[]), vec![ids_a[0]]);
        // Chinese by bigrams.
        assert_eq!(search("文档排版", &[]), vec![ids_b[0]]);
        // Limited to documents.
        assert_eq!(search("geometry margins", &[b]), vec![ids_b[1]]);
        let both = search("geometry margins", &[]);
        assert_eq!(
            both.iter().copied().collect::<HashSet<_>>(),
            [ids_a[1], ids_b[1]].into_iter().collect()
        );
        // A rare word counts more than a common one.
        let rare = search("compiler geometry", &[]);
        assert_eq!(rare[0], ids_a[0], "the rarer term should rank first");
        assert!(s.has_term("margin", &[]).unwrap());
        assert!(!s.has_term("margin", &[a + b + 100]).unwrap());
        assert!(!s.has_term("zebra", &[]).unwrap());
        // Several words: next to each other, in order.
        assert!(s.has_term("geometry package", &[]).unwrap());
        assert!(!s.has_term("package geometry", &[]).unwrap());
        assert!(!s.has_term("geometry margins", &[]).unwrap());
        assert!(!s.has_term("geometry package", &[a + b + 100]).unwrap());
        // As written, case aside: no stemming, and LIKE's wildcards taken literally.
        assert!(s.has_text("Geometry PACKAGE sets", &[]).unwrap());
        assert!(s.has_term("set margins", &[]).unwrap());
        assert!(!s.has_text("set margins", &[]).unwrap());
        assert!(!s.has_text("geometry%package", &[]).unwrap());
        assert!(!s.has_text("geometry_package", &[]).unwrap());
        assert!(!s.has_text("sets margins", &[a]).unwrap());
        assert!(s.has_text("sets margins", &[b]).unwrap());
        assert!(search("the of and", &[]).is_empty());
        (search("geometry", &[a]).len(), rare.len())
    });
    assert_eq!(found, (1, 3));
}

#[test]
fn vectors_are_found_nearest_first_only_for_ready_documents_and_queued_newest_first() {
    const DIMS: usize = 8;
    let result = on_both(|s| {
        s.adopt_model(&model(DIMS, "test-model")).unwrap();
        let old = put(s, "/old.pdf", &["one", "two", "three"], 1);
        let new = put(s, "/new.pdf", &["four"], 2);
        // Newest add first.
        let queue = s.embedding_queue().unwrap();
        assert_eq!(
            queue.iter().map(|q| q.0).collect::<Vec<_>>(),
            vec![new, old]
        );
        assert_eq!(s.chunks_waiting().unwrap(), 4);
        let old_ids = chunk_ids(s, old);
        let new_ids = chunk_ids(s, new);
        let items: Vec<(i64, Vec<f32>)> = old_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, axis(DIMS, i, 7, 0.1)))
            .collect();
        s.add_vectors(&items).unwrap();
        assert_eq!(
            s.missing_vectors(&[old_ids[0], new_ids[0]]).unwrap(),
            vec![new_ids[0]]
        );
        s.checkpoint(&[old]).unwrap();
        assert!(s.document(old).unwrap().unwrap().embedded);
        assert_eq!(s.chunks_waiting().unwrap(), 1);
        assert_eq!(s.documents_waiting().unwrap(), 1);
        s.add_vectors(&[(new_ids[0], axis(DIMS, 1, 2, 0.5))])
            .unwrap();
        s.checkpoint(&[new]).unwrap();
        assert_eq!(s.vector_count().unwrap(), 4);
        let near = s.nearest(&axis(DIMS, 1, 2, 0.3), 3, &[]).unwrap();
        let ids: Vec<i64> = near.iter().map(|n| n.0).collect();
        assert_eq!(ids, vec![new_ids[0], old_ids[1], old_ids[2]]);
        assert!(near[0].1 > 0.98 && near[0].1 <= 1.0001, "{near:?}");
        assert!(near.windows(2).all(|w| w[0].1 >= w[1].1));
        // Limited to a document.
        let only_new = s.nearest(&axis(DIMS, 0, 7, 0.0), 3, &[new]).unwrap();
        assert_eq!(only_new.iter().map(|n| n.0).collect::<Vec<_>>(), new_ids);
        // A failed replacement takes the document's vectors out of the search.
        s.put_failure("/new.pdf", "new", &stamp("n"), FailureKind::Damaged, "cut")
            .unwrap();
        let after: Vec<i64> = s
            .nearest(&axis(DIMS, 1, 7, 0.0), 5, &[])
            .unwrap()
            .iter()
            .map(|n| n.0)
            .collect();
        assert!(!after.contains(&new_ids[0]));
        assert!(s.consistency_problems().unwrap().is_empty());
        let rounded: Vec<(usize, i32)> = near
            .iter()
            .map(|(id, sim)| {
                let rank = old_ids
                    .iter()
                    .chain(&new_ids)
                    .position(|c| c == id)
                    .unwrap();
                (rank, (sim * 1000.0).round() as i32)
            })
            .collect();
        (rounded, after.len())
    });
    assert_eq!(result.1, 3);
}

#[test]
fn a_new_embedding_model_drops_the_vectors_and_asks_for_chunking_again() {
    on_both(|s| {
        s.adopt_model(&model(4, "first")).unwrap();
        let doc = put(s, "/a.pdf", &["some text"], 1);
        let ids = chunk_ids(s, doc);
        s.add_vectors(&[(ids[0], vec![1.0, 0.0, 0.0, 0.0])])
            .unwrap();
        s.checkpoint(&[doc]).unwrap();
        assert!(!s.rechunk_pending().unwrap());
        s.check_model(&model(4, "first")).unwrap();
        assert!(s.check_model(&model(6, "second")).is_err());
        s.adopt_model(&model(6, "second")).unwrap();
        assert!(s.rechunk_pending().unwrap());
        assert_eq!(s.vector_count().unwrap(), 0);
        s.replace_chunks(doc, &[chunk("some text again", 1)], 5)
            .unwrap();
        s.rechunk_done().unwrap();
        let new = chunk_ids(s, doc);
        assert_eq!(new.len(), 1);
        assert_ne!(new, ids);
        s.add_vectors(&[(new[0], vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0])])
            .unwrap();
        assert_eq!(s.vector_count().unwrap(), 1);
        (s.rechunk_pending().unwrap(), s.meta("dimensions").unwrap())
    });
}

#[test]
fn ocr_pages_keep_their_confidence_and_word_boxes() {
    on_both(|s| {
        let texts = pages(&["scanned words here", "a text page"]);
        let ocr = [OcrLayer {
            page: 1,
            confidence: 62.5,
            words: vec![WordBox {
                start: 0,
                end: 7,
                x: 0.1,
                y: 0.2,
                w: 0.3,
                h: 0.04,
            }],
        }];
        let chunks = [chunk("scanned words here", 1), chunk("a text page", 2)];
        let doc = s
            .put_document(
                "/scan.pdf",
                "scan",
                &stamp("s"),
                Pages {
                    text: &texts,
                    ocr: &ocr,
                },
                &chunks,
                1,
            )
            .unwrap();
        let layer = s.page_ocr(doc, 1).unwrap().unwrap();
        assert_eq!(layer.confidence, 62.5);
        assert_eq!(layer.words.len(), 1);
        assert!(s.page_ocr(doc, 2).unwrap().is_none());
        let d = s.document(doc).unwrap().unwrap();
        let hits = s.chunks(&chunk_ids(s, doc)).unwrap();
        (
            d.ocr_pages,
            d.uncertain_pages,
            hits[0].passage.ocr_confidence,
            hits[1].passage.ocr_confidence,
            s.page_text(doc, 2).unwrap(),
            layer.words[0].x,
        )
    });
}

#[test]
fn conversations_keep_their_answers_sources_and_order() {
    on_both(|s| {
        let doc = put(s, "/a.pdf", &["the answer is here"], 1);
        let chunk_id = chunk_ids(s, doc)[0];
        let c = s.create_conversation("Margins").unwrap();
        let passage = Passage {
            title: "a".into(),
            path: "/a.pdf".into(),
            page_start: 1,
            page_end: 1,
            char_start: 0,
            char_end: 18,
            text: "the answer is here".into(),
            ocr_confidence: None,
        };
        let citations = [
            Citation {
                n: 1,
                cited: true,
                attributed: false,
                chunk_id: Some(chunk_id),
                document_id: Some(doc),
                by_words_only: true,
                passage: passage.clone(),
            },
            Citation {
                n: 2,
                cited: false,
                attributed: false,
                chunk_id: Some(chunk_id + 1000),
                document_id: Some(doc + 1000),
                by_words_only: false,
                passage,
            },
        ];
        let quotes = [Quote {
            n: 1,
            document_id: Some(doc),
            page: 1,
            char_start: 0,
            char_end: 10,
            text: "the answer".into(),
        }];
        let checked = Checked {
            outcome: Outcome::Verified,
            sentences: Vec::new(),
            omitted: Vec::new(),
        };
        let m = s
            .put_exchange(
                c,
                &Exchange {
                    question: "Where is it?",
                    answer: "It is here [1].",
                    stop: "end_of_text",
                    citations: &citations,
                    quotes: &quotes,
                    checked: &checked,
                },
            )
            .unwrap();
        s.put_exchange(
            c,
            &Exchange {
                question: "And then?",
                answer: "",
                stop: "cancelled",
                citations: &[],
                quotes: &[],
                checked: &checked,
            },
        )
        .unwrap();
        let messages = s.messages(c).unwrap();
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[1].id, m);
        let answer = &messages[1];
        // Unknown chunk and document ids are stored as gone.
        assert_eq!(answer.citations[1].chunk_id, None);
        assert_eq!(answer.citations[1].document_id, None);
        // The empty answer is left out of the history, with its question.
        let turns = s.recent_turns(c, 10).unwrap();
        assert_eq!(turns.len(), 2);
        assert!(s.rename_conversation(c, "Page margins").unwrap());
        let listed = s.conversations().unwrap();
        assert_eq!(
            (listed[0].title.as_str(), listed[0].messages),
            ("Page margins", 4)
        );
        // Removing the document leaves the citation, without its ids.
        s.remove_document(doc).unwrap();
        let kept = s.messages(c).unwrap()[1].citations[0].clone();
        assert_eq!((kept.chunk_id, kept.document_id), (None, None));
        assert!(s.delete_conversation(c).unwrap());
        assert!(!s.delete_conversation(c).unwrap());
        assert!(s.conversation(c).unwrap().is_none());
        (
            answer.content.clone(),
            answer.stop.clone(),
            answer.citations.len(),
            answer.citations[0].by_words_only,
            answer.quotes.clone(),
            answer.checked.clone(),
            turns.iter().map(|t| t.content.clone()).collect::<Vec<_>>(),
            kept.passage,
        )
    });
}

#[test]
fn chinese_documents_are_told_apart_and_samples_spread_over_the_library() {
    on_both(|s| {
        let zh = put(
            s,
            "/zh.pdf",
            &["中文的段落", "更多中文", "\\begin{document}"],
            1,
        );
        let en = put(s, "/en.pdf", &["plain English text", "more of it"], 1);
        let ids: Vec<i64> = [chunk_ids(s, zh), chunk_ids(s, en)].concat();
        let cjk = s.cjk_chunks(&ids).unwrap();
        assert_eq!(cjk, chunk_ids(s, zh).into_iter().collect::<HashSet<_>>());
        let sample = s.sample_texts(3).unwrap();
        assert_eq!(sample.len(), 3);
        (sample, s.sample_texts(100).unwrap().len())
    });
}

#[test]
fn a_library_reopened_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let pg = TestPostgres::start();
    let url = pg.database("reopen");
    let library = dir.path().join("library");
    let open = |which: usize| -> Box<dyn Storage> {
        match which {
            0 => Box::new(Embedded::open(&library, Precision::F32).unwrap()),
            _ => Box::new(Postgres::open(&url).unwrap()),
        }
    };
    for which in 0..2 {
        {
            let s = open(which);
            s.adopt_model(&model(4, "m")).unwrap();
            let doc = put(&*s, "/a.pdf", &["kept text"], 1);
            let ids = chunk_ids(&*s, doc);
            s.add_vectors(&[(ids[0], vec![0.0, 0.0, 1.0, 0.0])])
                .unwrap();
            s.checkpoint(&[doc]).unwrap();
        }
        let s = open(which);
        let doc = s.documents().unwrap()[0].clone();
        assert!(doc.embedded, "{which}");
        assert_eq!(s.vector_count().unwrap(), 1);
        assert_eq!(s.nearest(&[0.0, 0.0, 1.0, 0.0], 1, &[]).unwrap().len(), 1);
        assert!(s.consistency_problems().unwrap().is_empty());
    }
}

#[test]
fn a_restarted_database_fails_clearly_then_works_again() {
    let pg = TestPostgres::start();
    let s = Postgres::open(&pg.database("restart")).unwrap();
    put(&s, "/a.pdf", &["before the restart"], 1);
    // Several connections in the pool, as under load.
    let fill = |s: &Postgres| {
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| s.documents().unwrap());
            }
        })
    };
    fill(&s);
    pg.stop();
    let e = s.documents().unwrap_err().to_string();
    assert!(e.starts_with("library database:"), "{e}");
    pg.restart();
    assert_eq!(s.documents().unwrap().len(), 1);
    put(&s, "/b.pdf", &["after the restart"], 1);
    assert_eq!(s.documents().unwrap().len(), 2);
    // A restart while nobody asks: the pooled connections are stale, and the first calls after
    // it still succeed.
    fill(&s);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    pg.stop();
    pg.restart();
    for _ in 0..6 {
        assert_eq!(s.documents().unwrap().len(), 2);
    }
}

#[test]
fn a_database_that_cannot_be_reached_is_named_without_its_password() {
    let e = Postgres::open("postgresql://quire:secret@127.0.0.1:1/none")
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("cannot reach postgresql://quire:***@127.0.0.1:1/none"),
        "{e}"
    );
    assert!(!e.contains("secret"));
    let e = Postgres::open("not a url").err().unwrap().to_string();
    assert!(e.contains("not a PostgreSQL URL"), "{e}");
}

/// The whole engine on both back ends, with the real embedding model and real PDFs: the same
/// documents give the same five passages in the same order, by meaning, by words (SQLite's
/// BM25 and the same BM25 computed in PostgreSQL) and both fused.
#[test]
fn the_same_pdfs_give_the_same_passages_on_both_back_ends() {
    use quire_engine::{
        AddOptions, AddStatus, DeviceChoice, Engine, Extractor, Isolation, LibraryOptions,
        SearchMode, SearchOptions,
    };
    let dir = tempfile::tempdir().unwrap();
    let pg = TestPostgres::start();
    let models = common::embedding_model_dir()
        .parent()
        .unwrap()
        .to_path_buf();
    let open = |backend| {
        let mut options = LibraryOptions::new(dir.path().join("library"), models.clone());
        options.backend = backend;
        options.extractor = Extractor::new(Isolation::Thread);
        options.device = DeviceChoice::Cpu;
        Engine::open(options).unwrap()
    };
    let engines = [
        open(quire_engine::storage::Backend::Embedded),
        open(quire_engine::storage::Backend::Postgres(
            pg.database("engine"),
        )),
    ];
    let pdfs = [
        common::texlive("lppl.pdf"),
        common::texlive("clsguide.pdf"),
        common::texlive("cfgguide.pdf"),
    ];
    for engine in &engines {
        let report = engine
            .add(&pdfs, &AddOptions::default(), &|_: &_| true)
            .unwrap();
        assert!(report.files.iter().all(|f| f.status == AddStatus::Added));
        assert_eq!(report.chunks_waiting, 0);
        let status = engine.status(true).unwrap();
        assert_eq!(status.consistent, Some(true), "{:?}", status.problems);
        // Adding again changes nothing.
        let again = engine
            .add(&pdfs, &AddOptions::default(), &|_: &_| true)
            .unwrap();
        assert!(again.files.iter().all(|f| f.status == AddStatus::Unchanged));
    }
    let [embedded, postgres] = &engines;
    assert_eq!(
        embedded.status(false).unwrap().chunks,
        postgres.status(false).unwrap().chunks
    );
    let questions = [
        "May I distribute a modified version of the work?",
        "How do I declare an option for my class?",
        "Which file configures hyphenation patterns?",
        "What does the LPPL say about the maintainer?",
        "How can a package load another package?",
        "Where do I put local configuration files?",
    ];
    let place = |hits: Vec<quire_engine::SearchHit>| -> Vec<(String, u32, usize)> {
        hits.into_iter()
            .map(|h| {
                (
                    h.chunk.passage.path,
                    h.chunk.passage.page_start,
                    h.chunk.passage.char_start,
                )
            })
            .collect()
    };
    for q in questions {
        for mode in [SearchMode::Dense, SearchMode::Keyword, SearchMode::Hybrid] {
            let search = |engine: &Engine| {
                let options = SearchOptions {
                    k: 5,
                    docs: Vec::new(),
                    mode,
                };
                place(engine.search(q, &options).unwrap())
            };
            assert_eq!(search(embedded), search(postgres), "{mode:?}: {q}");
        }
    }
}

/// Two processes on one PostgreSQL library share the embedding: each takes the documents no
/// live other holds; one that dies (stops renewing its claim) is taken over after the lease;
/// a document replaced while another embeds it is not marked embedded with chunks missing.
#[test]
fn processes_on_one_database_share_the_embedding_and_take_over_a_dead_ones_work() {
    use std::time::Duration;
    let pg = TestPostgres::start();
    let url = pg.database("shared");
    let lease = Duration::from_millis(800);
    let a = Postgres::open(&url).unwrap().with_claim_lease(lease);
    let b = Postgres::open(&url).unwrap().with_claim_lease(lease);
    a.adopt_model(&model(4, "m")).unwrap();
    b.adopt_model(&model(4, "m")).unwrap();
    let one = put(&a, "/one.pdf", &["first document"], 1);
    let two = put(&a, "/two.pdf", &["second document"], 2);
    // A takes both; B finds nothing to do while A is alive.
    let queue_a = a.embedding_queue().unwrap();
    assert_eq!(queue_a.len(), 2);
    assert!(b.embedding_queue().unwrap().is_empty());
    // A embeds one and dies before the other (its claim is never renewed again).
    let ids_two = &queue_a[0].1;
    assert_eq!(queue_a[0].0, two);
    a.add_vectors(&[(ids_two[0], vec![1.0, 0.0, 0.0, 0.0])])
        .unwrap();
    a.checkpoint(&[two]).unwrap();
    drop(a);
    assert!(
        b.embedding_queue().unwrap().is_empty(),
        "the lease still runs"
    );
    std::thread::sleep(lease + Duration::from_millis(400));
    let queue_b = b.embedding_queue().unwrap();
    assert_eq!(queue_b.iter().map(|q| q.0).collect::<Vec<_>>(), vec![one]);
    let missing = b.missing_vectors(&queue_b[0].1).unwrap();
    assert_eq!(missing, queue_b[0].1);
    b.add_vectors(&[(missing[0], vec![0.0, 1.0, 0.0, 0.0])])
        .unwrap();
    b.checkpoint(&[one]).unwrap();
    assert_eq!(b.chunks_waiting().unwrap(), 0);
    assert_eq!(b.vector_count().unwrap(), 2);
    assert_eq!(b.chunk_count().unwrap(), 2, "no duplicates");
    // Replaced while another embeds it: not marked embedded, and free for anyone to take.
    let c = Postgres::open(&url).unwrap().with_claim_lease(lease);
    let three = put(&b, "/three.pdf", &["third"], 3);
    assert_eq!(b.embedding_queue().unwrap().len(), 1);
    put(&c, "/three.pdf", &["third, changed", "and longer"], 4);
    b.checkpoint(&[three]).unwrap();
    assert!(!b.document(three).unwrap().unwrap().embedded);
    let queue_c = c.embedding_queue().unwrap();
    assert_eq!(queue_c.len(), 1);
    assert_eq!(queue_c[0].1.len(), 2);
}

/// A database without pgvector, opened by a role that may not add it: the message says what is
/// missing and who can add it.
#[test]
fn a_database_without_pgvector_says_what_to_do() {
    let pg = TestPostgres::start();
    pg.psql("CREATE ROLE clerk LOGIN");
    let url = pg.database("plain").replacen("quire@", "clerk@", 1);
    let e = Postgres::open(&url).err().unwrap().to_string();
    assert!(e.contains("Quire needs the pgvector extension"), "{e}");
    assert!(e.contains("CREATE EXTENSION vector"), "{e}");
}
