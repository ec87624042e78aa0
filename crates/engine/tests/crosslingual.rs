//! Chinese questions over English documents, through the Chinese–English dictionary (CC-CEDICT,
//! fetched by models/fetch.py): real LaTeX manuals, a real library, the default models. Four
//! questions of bench/retrieval/zh_en.json whose manuals the test adds.

use std::path::{Path, PathBuf};

use quire_engine::{
    AddEvent, AddOptions, AskOptions, DeviceChoice, Engine, Isolation, LibraryOptions,
    SearchOptions,
};

mod common;

use common::texlive;

/// (question, manual, evidence page)
const QUESTIONS: &[(&str, &str, u32)] = &[
    (
        "在宏包里执行 \\ProcessOptions 时，什么算局部选项，什么算全局选项？",
        "clsguide.pdf",
        21,
    ),
    (
        "不写 expl3 代码，怎样在文档里直接算出一个浮点数结果，比如平方根？",
        "usrguide.pdf",
        18,
    ),
    (
        "在字体定义（.fd）文件里，哪个尺寸函数会让 LaTeX 改从另一个字体形状声明里加载字体？",
        "fntguide.pdf",
        21,
    ),
    (
        "LaTeX 唯一必须存在的 .cfg 配置文件是哪一个？",
        "cfgguide.pdf",
        2,
    ),
];

fn models_folder() -> PathBuf {
    common::embedding_model_dir()
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A models folder in `dir` with the models of `models` but not the dictionary: questions are
/// searched as asked.
fn without_dictionary(models: &Path, dir: &Path) -> PathBuf {
    let bare = dir.join("models");
    std::fs::create_dir(&bare).unwrap();
    for entry in std::fs::read_dir(models).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "cc-cedict" {
            std::os::unix::fs::symlink(entry.path(), bare.join(entry.file_name())).unwrap();
        }
    }
    bare
}

fn engine(library: &Path, models: &Path) -> Engine {
    let mut options = LibraryOptions::new(library, models);
    options.extractor = quire_engine::Extractor::new(Isolation::Thread);
    options.device = DeviceChoice::Cpu;
    Engine::open(options).unwrap()
}

/// How many of the questions find their page among the first five passages.
fn found(engine: &Engine) -> usize {
    QUESTIONS
        .iter()
        .filter(|(question, manual, page)| {
            let hits = engine.search(question, &SearchOptions::default()).unwrap();
            let at = hits.iter().position(|h| {
                let p = &h.chunk.passage;
                p.path.ends_with(manual) && (p.page_start..=p.page_end).contains(page)
            });
            eprintln!("{question}: {at:?}");
            at.is_some()
        })
        .count()
}

#[test]
fn chinese_questions_find_the_english_pages_that_answer_them() {
    let models = models_folder();
    assert!(
        models.join(quire_engine::glossary::GLOSSARY_FILE).is_file(),
        "the Chinese–English dictionary is missing: run python3 models/fetch.py"
    );
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("library");
    let manuals: Vec<PathBuf> = [
        "clsguide.pdf",
        "usrguide.pdf",
        "fntguide.pdf",
        "cfgguide.pdf",
    ]
    .iter()
    .map(|m| texlive(m))
    .collect();
    let with_dictionary = {
        let engine = engine(&library, &models);
        let report = engine
            .add(&manuals, &AddOptions::default(), &|_: &AddEvent| true)
            .unwrap();
        assert_eq!(report.failed(), 0);
        found(&engine)
    };
    // The same library, through a models folder without the dictionary: questions as asked.
    let bare = without_dictionary(&models, dir.path());
    let as_asked = found(&engine(&library, &bare));
    eprintln!("found: {with_dictionary} of 4 with the dictionary, {as_asked} as asked");
    assert_eq!(with_dictionary, 4);
    assert!(as_asked < with_dictionary);
}

/// The extractive answer to a Chinese question over an English manual: covered (not "not in
/// your documents"), with quotes from the page that answers it.
#[test]
fn a_chinese_question_gets_the_english_sentences_that_answer_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir.path().join("library"), &models_folder());
    engine
        .add(
            &[texlive("cfgguide.pdf"), texlive("clsguide.pdf")],
            &AddOptions::default(),
            &|_: &AddEvent| true,
        )
        .unwrap();
    let options = AskOptions {
        generate: false,
        save: false,
        ..AskOptions::default()
    };
    let (question, manual, page) = QUESTIONS[3];
    let answer = engine
        .ask(question, &options, &mut |_| quire_engine::Flow::Continue)
        .unwrap();
    eprintln!("{:#?}", answer.quotes);
    assert!(answer.coverage.covered, "{:?}", answer.coverage);
    let from_the_page = answer
        .quotes
        .iter()
        .filter(|q| q.page == page && answer.citations[q.n - 1].passage.path.ends_with(manual));
    assert!(
        from_the_page.count() > 0,
        "no quote from {manual} p. {page}"
    );
}

/// A library of Chinese documents is searched as before: the English terms rank only passages
/// of documents not in Chinese (the CTeX FAQ's code listings belong to a Chinese document).
#[test]
fn a_chinese_library_is_searched_as_the_question_was_asked() {
    let cache = std::env::var_os("QUIRE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/quire"));
    let faq = cache.join("zh-pdfs/ctex-faq.pdf");
    assert!(
        faq.is_file(),
        "{} is missing: run bash scripts/zh-manuals.sh",
        faq.display()
    );
    let models = models_folder();
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("library");
    let bare = without_dictionary(&models, dir.path());
    let questions = [
        "想让公式编号带上节号，变成 (1.1)、(2.1)，而且每节自动从 1 开始，怎么写？",
        "同一个脚注内容要在文中好几处引用，除了复制粘贴还有什么好办法？",
        "\\cite 多篇文献时出来是 [6,2,5,8,4,7]，怎么自动排序并压缩成 [2,4–8]？",
    ];
    let ranked = |engine: &Engine| -> Vec<Vec<i64>> {
        questions
            .iter()
            .map(|q| {
                let options = SearchOptions {
                    k: 10,
                    ..SearchOptions::default()
                };
                let hits = engine.search(q, &options).unwrap();
                hits.iter().map(|h| h.chunk.id).collect()
            })
            .collect()
    };
    let with_dictionary = {
        let engine = engine(&library, &models);
        let report = engine
            .add(&[faq], &AddOptions::default(), &|_: &AddEvent| true)
            .unwrap();
        assert_eq!(report.failed(), 0);
        ranked(&engine)
    };
    let as_asked = ranked(&engine(&library, &bare));
    assert_eq!(with_dictionary, as_asked);
}
