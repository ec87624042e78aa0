//! `quire ask` and `quire chat`: stream an answer to the terminal, then its sources and quotes.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use quire_engine::{
    Answer, AskEvent, AskOptions, Citation, Conversation, Engine, Flow, Outcome, Quote, Support,
};

use crate::print_json;
use crate::show::pages;

/// Set by Ctrl-C while an answer is being written: stops that answer only.
static CANCEL: AtomicBool = AtomicBool::new(false);
/// Whether an answer is being written (Ctrl-C then cancels it instead of quitting).
static ANSWERING: AtomicBool = AtomicBool::new(false);
/// Whether we are in `quire chat` (Ctrl-C at the prompt does not quit either).
static CHATTING: AtomicBool = AtomicBool::new(false);

fn install_ctrl_c() {
    let _ = ctrlc::set_handler(|| {
        if ANSWERING.load(Ordering::SeqCst) {
            CANCEL.store(true, Ordering::SeqCst);
        } else if CHATTING.load(Ordering::SeqCst) {
            eprint!("\n(Ctrl-D or /quit leaves the chat)\n> ");
        } else {
            std::process::exit(130);
        }
    });
}

/// The extractive answer, printed as soon as it is known.
fn print_quotes(quotes: &[Quote], citations: &[Citation]) {
    if quotes.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "From your documents:").ok();
    for q in quotes {
        let title = citations
            .iter()
            .find(|c| c.n == q.n)
            .map_or("", |c| c.passage.title.as_str());
        writeln!(
            out,
            "  \u{201c}{}\u{201d}\n      [{}] {}, p. {}",
            q.text, q.n, title, q.page
        )
        .ok();
    }
    writeln!(out).ok();
    out.flush().ok();
}

/// The answer as checked: each sentence with the sources that support it, or marked when none
/// does; then what the outcome means.
fn print_checked(answer: &Answer, colour: bool) {
    let mut out = std::io::stdout().lock();
    let (dim, plain) = if colour {
        ("\x1b[2;33m", "\x1b[0m")
    } else {
        ("", "")
    };
    match answer.outcome {
        Outcome::NotCovered => {
            writeln!(out, "{}", answer.text).ok();
            return;
        }
        Outcome::FromDocuments if answer.model.is_empty() => return,
        Outcome::FromDocuments => {
            writeln!(
                out,
                "Nothing the model wrote is supported by your documents, so the answer is what \
                 they say (above). The model wrote:"
            )
            .ok();
        }
        Outcome::Verified => {}
    }
    let mut line = String::new();
    if answer.outcome == Outcome::FromDocuments {
        line.push_str(dim);
    }
    for s in &answer.sentences {
        let text = s.text.trim_start_matches('\n');
        if s.text.starts_with('\n') && !line.is_empty() {
            writeln!(out, "{line}").ok();
            line.clear();
        } else if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(text);
        match s.support {
            Support::Supported => {
                let numbers: Vec<String> = s.sources.iter().map(|n| n.to_string()).collect();
                line.push_str(&format!(" [{}]", numbers.join(", ")));
            }
            Support::Unsupported => {
                let unknown = if s.unknown.is_empty() {
                    String::new()
                } else {
                    format!("; no source has {}", s.unknown.join(", "))
                };
                line.push_str(&format!(
                    " {dim}(not confirmed by your documents{unknown}){plain}"
                ));
            }
            Support::NoClaim => {}
        }
    }
    if !line.is_empty() {
        writeln!(out, "{line}{plain}").ok();
    }
    if !answer.omitted.is_empty() {
        writeln!(
            out,
            "{dim}({} piece(s) of the model's output left out: repeated, copied from the prompt, \
             invented list items or fragments){plain}",
            answer.omitted.len()
        )
        .ok();
    }
    out.flush().ok();
}

/// The sources after an answer: `*` marks those a sentence cites.
fn print_sources(answer: &Answer) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "\nSources:").ok();
    for c in &answer.citations {
        let mark = if c.cited { "*" } else { " " };
        let p = &c.passage;
        let how = if c.attributed {
            "  (matched by Quire)"
        } else {
            ""
        };
        writeln!(
            out,
            "{mark}[{}] {}, {}  {}{how}",
            c.n,
            p.title,
            pages(p.page_start, p.page_end),
            p.path
        )
        .ok();
    }
    out.flush().ok();
}

fn print_stats(answer: &Answer) {
    let s = &answer.stats;
    let focus = match answer.prompt.passage_tokens {
        0 => String::new(),
        n => format!(" (focused to ~{n} tokens each)"),
    };
    if answer.model.is_empty() {
        eprintln!(
            "(conversation {} · no answer model asked)",
            answer
                .conversation_id
                .map_or("-".to_string(), |c| c.to_string())
        );
        return;
    }
    let mut line = format!(
        "conversation {} · {} of {} sources{focus} · {} prompt tokens · first token after {:.2} s · {} tokens at {:.1}/s",
        answer.conversation_id.map_or("-".to_string(), |c| c.to_string()),
        answer.prompt.sources_given,
        answer.prompt.sources_found,
        s.prompt_tokens,
        s.time_to_first_token.as_secs_f64(),
        s.generated_tokens,
        s.tokens_per_second,
    );
    match s.stop {
        quire_engine::StopReason::Cancelled => line.push_str(" · stopped"),
        quire_engine::StopReason::MaxTokens => line.push_str(" · token limit reached"),
        _ => {}
    }
    eprintln!("({line})");
}

/// Where answers come from: this computer's library, or a team library's server.
pub trait Answerer {
    /// Answers `question`, telling `on_event` each event as it comes; `None` when the answer
    /// was stopped before it was finished (and so is not known here).
    fn answer(
        &self,
        question: &str,
        options: &AskOptions,
        on_event: &mut dyn FnMut(&AskEvent) -> Flow,
    ) -> anyhow::Result<Option<Answer>>;
}

impl Answerer for Engine {
    fn answer(
        &self,
        question: &str,
        options: &AskOptions,
        on_event: &mut dyn FnMut(&AskEvent) -> Flow,
    ) -> anyhow::Result<Option<Answer>> {
        Ok(Some(self.ask(question, options, on_event)?))
    }
}

/// Asks one question. Unless `json`: the extractive answer first, then the model's draft as it
/// is written (on a terminal), then the checked answer and its sources.
/// `None` when it was stopped before the answer was known (from a server).
fn ask_once(
    engine: &dyn Answerer,
    question: &str,
    options: &AskOptions,
    json: bool,
    show_prompt: bool,
) -> anyhow::Result<Option<Answer>> {
    CANCEL.store(false, Ordering::SeqCst);
    ANSWERING.store(true, Ordering::SeqCst);
    let terminal = std::io::stdout().is_terminal();
    let mut stdout = std::io::stdout();
    let mut sources: Vec<Citation> = Vec::new();
    let mut drafting = false;
    let result = engine.answer(question, options, &mut |event| {
        if !json {
            let piece = match event {
                AskEvent::Sources(given) => {
                    sources = given.clone();
                    String::new()
                }
                AskEvent::Quotes(quotes) => {
                    print_quotes(quotes, &sources);
                    String::new()
                }
                AskEvent::Text(text) if terminal => text.clone(),
                AskEvent::Cite(cited) if terminal => {
                    let numbers: Vec<String> = cited.iter().map(|n| n.to_string()).collect();
                    format!("[{}]", numbers.join(", "))
                }
                _ => String::new(),
            };
            if !piece.is_empty() && !drafting {
                drafting = true;
                let _ = write!(stdout, "\x1b[2mModel's draft (being checked): ");
            }
            let _ = stdout.write_all(piece.as_bytes());
            let _ = stdout.flush();
        }
        if CANCEL.load(Ordering::SeqCst) {
            Flow::Stop
        } else {
            Flow::Continue
        }
    });
    ANSWERING.store(false, Ordering::SeqCst);
    if drafting {
        let _ = write!(stdout, "\x1b[0m\n\n");
    }
    let Some(answer) = result? else {
        eprintln!("(stopped)");
        return Ok(None);
    };
    if show_prompt {
        eprintln!(
            "--- prompt ({} tokens) ---\n{}\n--- end of prompt ---",
            answer.prompt.tokens, answer.prompt.text
        );
    }
    if json {
        print_json(&answer)?;
    } else {
        print_checked(&answer, terminal);
        print_sources(&answer);
        print_stats(&answer);
    }
    Ok(Some(answer))
}

pub fn ask(
    engine: &dyn Answerer,
    question: &str,
    options: &AskOptions,
    json: bool,
    show_prompt: bool,
) -> anyhow::Result<ExitCode> {
    install_ctrl_c();
    let answer = ask_once(engine, question, options, json, show_prompt)?;
    // Stopped with Ctrl-C: what was written is shown (and saved), and the exit status says it
    // was interrupted, as a shell expects (128 + SIGINT).
    Ok(
        if answer.is_none_or(|a| a.stats.stop == quire_engine::StopReason::Cancelled) {
            ExitCode::from(130)
        } else {
            ExitCode::SUCCESS
        },
    )
}

pub fn chat(
    engine: &dyn Answerer,
    options: &AskOptions,
    show_prompt: bool,
) -> anyhow::Result<ExitCode> {
    install_ctrl_c();
    CHATTING.store(true, Ordering::SeqCst);
    let mut options = options.clone();
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        eprintln!(
            "Ask about your documents. Ctrl-C stops an answer; /new starts a new conversation; \
             /quit or Ctrl-D leaves."
        );
    }
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            eprint!("> ");
        }
        let Some(line) = lines.next() else {
            break;
        };
        let line = line?;
        let question = line.trim();
        match question {
            "" => continue,
            "/quit" | "/exit" => break,
            "/new" => {
                options.conversation = None;
                eprintln!("(new conversation)");
                continue;
            }
            _ => {}
        }
        match ask_once(engine, question, &options, false, show_prompt) {
            Ok(None) => {}
            Ok(Some(answer)) => {
                if options.save {
                    options.conversation = answer.conversation_id;
                }
            }
            Err(e) => eprintln!("quire: {e:#}"),
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

pub fn conversations(engine: &Engine, json: bool) -> anyhow::Result<ExitCode> {
    print_conversations(&engine.conversations()?, json)
}

/// Conversations as text, one line each, or as JSON.
pub fn print_conversations(list: &[Conversation], json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_json(&list)?;
    } else if list.is_empty() {
        println!("No conversations yet: ask something with `quire ask QUESTION`.");
    } else {
        for c in list {
            println!(
                "{:>5}  {}  {} messages  {}",
                c.id, c.updated_at, c.messages, c.title
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One citation to check: does `passage` support `sentence`, an answer to `question`?
#[derive(serde::Deserialize)]
struct CitationToCheck {
    #[serde(default)]
    question: String,
    sentence: String,
    passage: String,
}

/// `quire check-citations`: one verdict per JSON line on stdin; exit status 1 when any citation
/// is not supported.
pub fn check_citations(engine: &Engine, json: bool) -> anyhow::Result<ExitCode> {
    let mut all = true;
    for (i, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let c: CitationToCheck = serde_json::from_str(&line)
            .map_err(|e| anyhow::anyhow!("line {}: not a citation to check: {e}", i + 1))?;
        let (check, supported) = engine.support_check(&c.question, &c.sentence, &c.passage)?;
        all &= supported;
        if json {
            let verdict = serde_json::json!({
                "line": i + 1,
                "supported": supported,
                "word_share": check.word_share,
                "meaning": check.meaning,
                "names_found": check.keys_found,
                "contradicts": check.contradicts,
            });
            println!("{verdict}");
        } else {
            let verdict = if supported {
                "supported"
            } else {
                "NOT supported"
            };
            println!("{}: {verdict}: {}", i + 1, c.sentence);
        }
    }
    Ok(if all {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
