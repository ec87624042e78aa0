//! Answers with the real default models: the gemma-3-270m GGUF through llama.cpp and
//! all-MiniLM-L6-v2, over a real PDF from Debian's texlive-latex-base-doc.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use quire_engine::answer::{fit_prompt, Source, NOT_FOUND_NOTE};
use quire_engine::generate::{
    Fallback, GeneratorOptions, GeneratorThread, Message, PromptFormat, Role,
};
use quire_engine::{
    AddOptions, AskEvent, AskOptions, Engine, Flow, Isolation, LibraryOptions, OmitReason, Outcome,
    Passage, Passages, Sampling, SearchOptions, StopReason, StoredChunk, Support,
};

fn models_dir() -> PathBuf {
    let dir = std::env::var_os("QUIRE_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(quire_engine::default_models_dir);
    assert!(
        dir.join(quire_engine::DEFAULT_ANSWER_MODEL).is_file(),
        "the answer model is missing in {}: run `python3 models/fetch.py`",
        dir.display()
    );
    dir
}

/// One generator for the whole test binary (the model loads once, like in the app).
fn generator() -> &'static GeneratorThread {
    static GENERATOR: OnceLock<GeneratorThread> = OnceLock::new();
    GENERATOR.get_or_init(|| {
        let mut options =
            GeneratorOptions::new(models_dir().join(quire_engine::DEFAULT_ANSWER_MODEL));
        options.context_tokens = Some(4096);
        GeneratorThread::start(options).expect("the default answer model loads")
    })
}

fn clsguide() -> PathBuf {
    let path = Path::new("/usr/share/doc/texlive-doc/latex/base/clsguide.pdf");
    assert!(
        path.is_file(),
        "{} is missing: apt-get install texlive-latex-base-doc",
        path.display()
    );
    path.to_path_buf()
}

/// A library holding clsguide.pdf, built once and shared by the tests (an engine serves
/// several threads at once).
fn library() -> &'static Engine {
    static LIBRARY: OnceLock<(tempfile::TempDir, Engine)> = OnceLock::new();
    &LIBRARY
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let mut options = LibraryOptions::new(dir.path().join("library"), models_dir());
            options.extractor = quire_engine::Extractor::new(Isolation::Thread);
            options.device = quire_engine::DeviceChoice::Cpu;
            let engine = Engine::open(options).unwrap();
            let report = engine
                .add(
                    &[clsguide()],
                    &AddOptions::default(),
                    &|_: &quire_engine::AddEvent| true,
                )
                .unwrap();
            assert_eq!(report.failed(), 0);
            (dir, engine)
        })
        .1
}

fn chunk(id: i64, page: u32, text: &str) -> Source {
    Source {
        n: id as usize,
        by_words_only: false,
        chunk: StoredChunk {
            id,
            document_id: 1,
            passage: Passage {
                title: "A long manual".into(),
                path: "/manual.pdf".into(),
                page_start: page,
                page_end: page,
                char_start: 0,
                char_end: text.chars().count(),
                text: text.into(),
                ocr_confidence: None,
            },
        },
        similarity: Some(0.5),
    }
}

#[test]
fn the_default_model_gets_the_gemma_turn_format() {
    let g = generator();
    let info = g.info();
    // This GGUF carries no chat template: Quire renders Gemma's format itself.
    assert!(
        info.architecture.starts_with("gemma"),
        "{}",
        info.architecture
    );
    assert!(matches!(
        info.format,
        PromptFormat::Fallback(Fallback::Gemma)
    ));
    let (prompt, tokens, marker_tokens) = g
        .run(|g| {
            let prompt = g
                .render(&[
                    Message::new(Role::System, "Answer from the sources."),
                    Message::new(
                        Role::User,
                        "Sources:\n\n[1] Guide, page 2:\nText.\n\nQuestion: Why?",
                    ),
                ])
                .unwrap();
            let tokens = g.prompt_length(&prompt);
            (prompt, tokens, g.count_tokens("<start_of_turn>"))
        })
        .unwrap();
    assert_eq!(
        prompt,
        "<start_of_turn>user\nAnswer from the sources.\n\nSources:\n\n[1] Guide, page 2:\nText.\n\n\
         Question: Why?<end_of_turn>\n<start_of_turn>model\n"
    );
    // The turn markers are the model's special tokens, not text it would have to read.
    assert_eq!(marker_tokens, 1);
    assert!(tokens < prompt.len() / 2);
}

#[test]
fn the_budget_holds_with_many_long_sources_and_a_long_history() {
    let g = generator();
    let paragraph = "The document class defines the layout of chapters, sections and the \
                     table of contents, and every package may change it again. "
        .repeat(12);
    let sources: Vec<Source> = (1..=12).map(|n| chunk(n, n as u32, &paragraph)).collect();
    let history: Vec<Message> = (0..16)
        .map(|i| {
            let role = if i % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            Message::new(role, format!("Turn {i}: {}", paragraph))
        })
        .collect();
    let question = format!(
        "How do I change the layout? {}",
        "Please explain in detail. ".repeat(30)
    );
    for context in [4096usize, 1024, 512] {
        let (sources, history, question) = (sources.clone(), history.clone(), question.clone());
        let answer_tokens = 400.min(context / 2);
        let limit = context - answer_tokens;
        let (fitted, measured) = g
            .run(move |g| {
                let measure = |m: &[Message]| g.prompt_length(&g.render(m).expect("renders"));
                let fitted =
                    fit_prompt(&question, &history, &sources, true, limit, &measure).expect("fits");
                let measured = measure(&fitted.messages);
                (fitted, measured)
            })
            .unwrap();
        assert_eq!(fitted.tokens, measured);
        assert!(
            measured + answer_tokens <= context,
            "{measured} prompt tokens + {answer_tokens} for the answer > {context}"
        );
        assert!(fitted.sources >= 1, "at least the best source stays");
        if context == 4096 {
            assert!(fitted.sources >= 5, "a large window keeps many sources");
            assert!(fitted.sources < 12 || fitted.history < 16);
        }
    }
}

#[test]
fn a_chinese_answer_streams_as_valid_utf8_and_cancel_stops_at_once() {
    let g = generator();
    let (pieces, stats) = g
        .run(|g| {
            let prompt = g
                .render(&[Message::new(Role::User, "请用中文写一段关于秋天的短文。")])
                .unwrap();
            let mut pieces: Vec<String> = Vec::new();
            let sampling = Sampling {
                max_tokens: 60,
                ..Sampling::default()
            };
            let stats = g
                .generate(&prompt, &sampling, &[], &mut |piece| {
                    if !piece.is_empty() {
                        pieces.push(piece.to_string());
                    }
                    Flow::Continue
                })
                .unwrap();
            (pieces, stats)
        })
        .unwrap();
    let text: String = pieces.concat();
    eprintln!("Chinese answer ({} tokens): {text}", stats.generated_tokens);
    assert!(pieces.len() > 3, "streamed in pieces: {pieces:?}");
    assert!(!text.contains('\u{FFFD}'), "no broken characters: {text}");
    assert!(
        text.chars()
            .filter(|c| quire_engine::text::is_cjk(*c))
            .count()
            >= 5,
        "{text}"
    );

    let (after_stop, stats) = g
        .run(|g| {
            let prompt = g
                .render(&[Message::new(
                    Role::User,
                    "Write a long story about a lighthouse.",
                )])
                .unwrap();
            let mut pieces = 0;
            let mut after_stop = 0;
            let sampling = Sampling {
                max_tokens: 300,
                ..Sampling::default()
            };
            let stats = g
                .generate(&prompt, &sampling, &[], &mut |piece| {
                    if pieces >= 5 {
                        after_stop += 1;
                        return Flow::Stop;
                    }
                    if !piece.is_empty() {
                        pieces += 1;
                    }
                    Flow::Continue
                })
                .unwrap();
            (after_stop, stats)
        })
        .unwrap();
    assert_eq!(stats.stop, StopReason::Cancelled);
    assert_eq!(after_stop, 1, "no token is generated after the stop");
    assert!(stats.generated_tokens < 20, "{}", stats.generated_tokens);
}

#[test]
fn the_same_seed_gives_the_same_answer() {
    let g = generator();
    let run = |seed: u32| {
        g.run(move |g| {
            let prompt = g
                .render(&[Message::new(Role::User, "Describe a harbour at dawn.")])
                .unwrap();
            let sampling = Sampling {
                temperature: 1.0,
                seed,
                max_tokens: 24,
                ..Sampling::default()
            };
            let mut text = String::new();
            g.generate(&prompt, &sampling, &[], &mut |piece| {
                text.push_str(piece);
                Flow::Continue
            })
            .unwrap();
            text
        })
        .unwrap()
    };
    let first = run(7);
    assert_eq!(first, run(7));
    assert!(!first.is_empty());
}

#[test]
fn an_answer_cites_the_right_pages_and_follow_ups_use_the_conversation() {
    let library = library();
    let options = AskOptions {
        sampling: Sampling {
            max_tokens: 120,
            ..Sampling::default()
        },
        ..AskOptions::default()
    };
    let mut texts = 0;
    let mut sources_seen = 0;
    let mut quotes_before_text = None;
    let question = "How should a class file declare its options?";
    let answer = library
        .ask(question, &options, &mut |event| {
            match event {
                AskEvent::Sources(s) => sources_seen = s.len(),
                AskEvent::Quotes(q) => quotes_before_text = Some(texts == 0 && !q.is_empty()),
                AskEvent::Text(_) | AskEvent::Cite(_) => texts += 1,
                AskEvent::Done(_) => {}
            }
            Flow::Continue
        })
        .unwrap();
    eprintln!("answer: {}\nquotes: {:?}", answer.text, answer.quotes);
    assert_eq!(sources_seen, 5);
    assert_eq!(
        quotes_before_text,
        Some(true),
        "the extractive answer comes before the model writes"
    );
    assert!(texts > 1, "the answer streamed in pieces");
    assert!(answer.prompt.relevant && answer.coverage.covered);
    assert_eq!(answer.citations.len(), answer.prompt.sources_found);
    // Every source maps back to its chunk: same pages and text as the library holds.
    let hits = library
        .search(&answer.query, &SearchOptions::default())
        .unwrap();
    for (c, hit) in answer.citations.iter().zip(&hits) {
        assert_eq!(c.chunk_id, Some(hit.chunk.id));
        let (c, h) = (&c.passage, &hit.chunk.passage);
        assert_eq!((c.page_start, c.page_end), (h.page_start, h.page_end));
        assert_eq!(c.text, h.text);
        assert!(c.title.contains("LaTeX") || !c.title.is_empty());
    }
    let cited: Vec<usize> = answer
        .citations
        .iter()
        .filter(|c| c.cited)
        .map(|c| c.n)
        .collect();
    assert_eq!(
        cited,
        {
            let mut n = quire_engine::markers::cited_numbers(&answer.text, answer.citations.len());
            n.sort();
            n
        },
        "cited flags follow the [n] markers"
    );
    // Quotes come from the given sources and are located exactly in their pages.
    assert!(!answer.quotes.is_empty() && answer.quotes.len() <= 3);
    for q in &answer.quotes {
        let c = &answer.citations[q.n - 1].passage;
        assert!((c.page_start..=c.page_end).contains(&q.page));
        assert!(c.text.contains(q.text.split_whitespace().next().unwrap()));
    }
    // The exchange is stored; a follow-up is retrieved with the previous question.
    let conversation = answer.conversation_id.expect("saved");
    let follow_up = AskOptions {
        conversation: Some(conversation),
        ..options.clone()
    };
    let second = library
        .ask("And what about its commands?", &follow_up, &mut |_| {
            Flow::Continue
        })
        .unwrap();
    assert_eq!(second.conversation_id, Some(conversation));
    assert!(second.query.starts_with(question), "{}", second.query);
    assert_eq!(second.prompt.history_messages, 2);
    assert!(second
        .prompt
        .text
        .contains(&answer.text[..answer.text.len().min(20)]));
    let stored = library.conversation_messages(conversation).unwrap();
    assert_eq!(stored.len(), 4);
    assert_eq!(stored[1].content, answer.text);
    assert_eq!(stored[1].citations, answer.citations);
    assert_eq!(stored[1].segments, answer.segments);
}

#[test]
fn a_question_the_library_does_not_cover_is_answered_without_the_model() {
    let library = library();
    let options = AskOptions {
        save: false,
        sampling: Sampling {
            max_tokens: 80,
            ..Sampling::default()
        },
        ..AskOptions::default()
    };
    let ask = |question: &str, options: &AskOptions| {
        library
            .ask(question, options, &mut |_| Flow::Continue)
            .unwrap()
    };
    let answer = ask("How long should sourdough bread dough rise?", &options);
    eprintln!("off-topic answer: {} {:?}", answer.text, answer.coverage);
    assert_eq!(answer.outcome, Outcome::NotCovered);
    assert!(!answer.coverage.covered && !answer.prompt.relevant);
    assert!(answer
        .text
        .starts_with("Your documents do not seem to cover this"));
    assert!(answer.model.is_empty() && answer.prompt.text.is_empty());
    assert_eq!(answer.stats.generated_tokens, 0);
    assert_eq!(answer.stats.stop, StopReason::NotAsked);
    assert!(answer.quotes.is_empty() && answer.sentences.is_empty());
    assert!(answer.citations.iter().all(|c| !c.cited));
    assert_eq!(answer.conversation_id, None);
    let chinese = ask("酸面包面团应该发酵多久？", &options);
    assert_eq!(chinese.outcome, Outcome::NotCovered);
    assert_eq!(chinese.text, "您的文档中没有找到回答这个问题的内容。");

    // A version the documents never name: LaTeX is in them, "LaTeX 4.2" is not (clsguide has
    // "LaTeX 2.09"), so the statement names it, and no model is asked.
    let quick = AskOptions {
        generate: false,
        ..options.clone()
    };
    let version = ask(
        "How do I update a document written for LaTeX 4.2 to the current release?",
        &quick,
    );
    assert_eq!(version.outcome, Outcome::NotCovered);
    assert_eq!(
        version.coverage.unknown_terms,
        vec!["LaTeX 4.2".to_string()]
    );
    assert!(version.text.ends_with("They never mention “LaTeX 4.2”."));
    let known = ask(
        "How do I update a document written for LaTeX 2.09 to the current release?",
        &quick,
    );
    assert!(
        known.coverage.unknown_terms.is_empty(),
        "{:?}",
        known.coverage
    );

    // A question that asks only for a figure, about the topic of passages that state none:
    // clsguide says how a class is loaded, never how long it takes.
    let figure = ask("How long does LaTeX take to load a class file?", &quick);
    assert_eq!(figure.outcome, Outcome::NotCovered, "{:?}", figure.coverage);
    assert!(figure.coverage.missing_figure && figure.coverage.unknown_terms.is_empty());
    assert!(figure
        .text
        .ends_with("The passages found on the topic give no figure for it."));
    // Passages that state figures ("10pt") leave such a question to the rest of the check.
    let sized = ask(
        "How large is the default font size of the article class?",
        &quick,
    );
    assert!(!sized.coverage.missing_figure, "{:?}", sized.coverage);

    let on_topic = ask("What does \\ProvidesClass do?", &options);
    assert!(on_topic.prompt.relevant);
    assert!(!on_topic.prompt.text.contains(NOT_FOUND_NOTE));
    assert!(on_topic.stats.time_to_first_token < Duration::from_secs(60));
}

/// The demo question, as the default model answers it: whatever it writes, nothing degenerate
/// reaches the answer. gemma-3-270m tends to write a long invented list ("[1] 'class-name'
/// (option name) … [20] 'email'"), repeat lines and echo the prompt's labels; every chip left
/// must be supported by its passage (by the rule `Engine::supports` applies), and when no
/// sentence is, the extractive answer is the answer.
#[test]
fn the_default_model_s_degenerate_output_never_reaches_the_answer() {
    let library = library();
    let options = AskOptions {
        save: false,
        ..AskOptions::default()
    };
    let question = "How do I pass options I don't know about on to the base class?";
    let answer = library
        .ask(question, &options, &mut |_| Flow::Continue)
        .unwrap();
    eprintln!(
        "raw: {}\nchecked ({:?}): {}\nomitted: {:?}",
        answer.raw, answer.outcome, answer.text, answer.omitted
    );
    assert!(!answer.quotes.is_empty(), "the extractive answer is there");
    // Echoed prompt labels and dangling markers are gone.
    for label in ["Answer:", "Question:", "Sources:"] {
        assert!(!answer.text.contains(label), "{label} in {}", answer.text);
    }
    assert_eq!(
        quire_engine::markers::without_dangling_marker(&answer.text),
        answer.text,
        "the answer ends inside a marker"
    );
    // No sentence twice.
    let mut seen = Vec::new();
    for s in &answer.sentences {
        let key: String = s.text.to_lowercase().split_whitespace().collect();
        assert!(!seen.contains(&key), "repeated: {}", s.text);
        seen.push(key);
    }
    // Every chip is supported by its passage; unsupported sentences carry none.
    for s in &answer.sentences {
        if s.support != Support::Supported {
            assert!(s.sources.is_empty(), "{s:?}");
        }
        for &n in &s.sources {
            let passage = &answer.citations[n - 1].passage.text;
            assert!(
                library.supports(question, &s.text, passage).unwrap(),
                "chip [{n}] on {:?}",
                s.text
            );
        }
    }
    // An invented list is cut: at most two unsupported list items survive.
    let list_items = answer
        .sentences
        .iter()
        .filter(|s| s.text.trim_start().starts_with('[') && s.support != Support::Supported)
        .count();
    assert!(list_items <= 2, "{}", answer.text);
    if answer.outcome != Outcome::Verified {
        assert!(answer
            .sentences
            .iter()
            .all(|s| s.support != Support::Supported));
    }
    // What this model produces here is recorded; when it invents a list, it is left out.
    if answer.raw.matches("\n[").count() >= 3 {
        assert!(answer
            .omitted
            .iter()
            .any(|o| o.reason == OmitReason::InventedListItem || o.reason == OmitReason::Repeated));
    }
}

/// Focused passages: the prompt holds each source cut to its budget around the question's words
/// (shorter than with whole passages), the answer still cites the same sources, and `Auto`
/// either keeps whole passages or focuses them to at least the floor.
#[test]
fn focused_passages_shorten_the_prompt_around_the_question() {
    let library = library();
    let question = "What does \\ProvidesPackage declare?";
    let ask = |library: &Engine, passages: Passages| {
        let options = AskOptions {
            save: false,
            passages,
            sampling: Sampling {
                max_tokens: 16,
                ..Sampling::default()
            },
            ..AskOptions::default()
        };
        library
            .ask(question, &options, &mut |_| Flow::Continue)
            .unwrap()
    };
    let whole = ask(library, Passages::Whole);
    let focused = ask(library, Passages::Tokens(48));
    assert_eq!(whole.prompt.passage_tokens, 0);
    assert_eq!(focused.prompt.passage_tokens, 48);
    assert!(
        focused.prompt.tokens * 2 < whole.prompt.tokens,
        "focused {} vs whole {} prompt tokens",
        focused.prompt.tokens,
        whole.prompt.tokens
    );
    assert!(focused.prompt.text.contains(" …") || focused.prompt.text.contains("… "));
    assert!(focused.prompt.text.contains("\\ProvidesPackage"));
    // Same sources, in the same order, whatever their length in the prompt.
    let pages = |a: &quire_engine::Answer| -> Vec<(String, u32)> {
        a.citations
            .iter()
            .map(|c| (c.passage.path.clone(), c.passage.page_start))
            .collect()
    };
    assert_eq!(pages(&whole), pages(&focused));
    let auto = ask(library, Passages::Auto);
    let floor = quire_engine::answer::MIN_PASSAGE_TOKENS;
    assert!(
        auto.prompt.passage_tokens == 0 || auto.prompt.passage_tokens >= floor,
        "auto chose {} tokens per passage",
        auto.prompt.passage_tokens
    );
    eprintln!(
        "prompt tokens: whole {}, 48 per passage {}, auto ({} per passage) {}",
        whole.prompt.tokens, focused.prompt.tokens, auto.prompt.passage_tokens, auto.prompt.tokens
    );
}

/// An instruction-tuned model with its own chat template (SmolLM2-135M-Instruct, ChatML in the
/// GGUF) answers through the same pipeline: its template renders the prompt, and its answer is
/// checked like any other (every chip supported by its passage).
#[test]
fn an_instruct_model_with_its_own_template_is_checked_the_same_way() {
    let models = models_dir();
    let smol = models.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        smol.is_file(),
        "{} is missing: run `python3 models/fetch.py`",
        smol.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut options = LibraryOptions::new(dir.path().join("library"), &models);
    options.extractor = quire_engine::Extractor::new(Isolation::Thread);
    options.device = quire_engine::DeviceChoice::Cpu;
    options.answer_model = Some(smol);
    options.context_tokens = Some(4096);
    let engine = Engine::open(options).unwrap();
    engine
        .add(
            &[clsguide()],
            &AddOptions::default(),
            &|_: &quire_engine::AddEvent| true,
        )
        .unwrap();
    let ask = AskOptions {
        save: false,
        ..AskOptions::default()
    };
    let question = "What does \\ProvidesClass do?";
    let answer = engine.ask(question, &ask, &mut |_| Flow::Continue).unwrap();
    eprintln!(
        "SmolLM2 ({:?}): {}\nraw: {}",
        answer.outcome, answer.text, answer.raw
    );
    assert!(answer.model.contains("SmolLM2") || answer.model.to_lowercase().contains("smol"));
    assert!(
        answer.prompt.text.contains("<|im_start|>assistant"),
        "the GGUF's ChatML template renders the prompt"
    );
    assert!(answer.coverage.covered);
    assert!(!answer.raw.is_empty() && !answer.quotes.is_empty());
    for s in &answer.sentences {
        for &n in &s.sources {
            let passage = &answer.citations[n - 1].passage.text;
            assert!(engine.supports(question, &s.text, passage).unwrap());
        }
    }
}
