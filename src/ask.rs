//! `quire ask` and `quire chat`: stream an answer to the terminal, then its sources and quotes.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use quire_engine::{Answer, AskEvent, AskOptions, Engine, Flow};

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

/// The sources and quotes after a streamed answer.
fn print_sources(answer: &Answer) {
    let mut out = std::io::stdout().lock();
    if answer.text.is_empty() {
        writeln!(
            out,
            "(The model gave no answer; the passages below are what it was given.)"
        )
        .ok();
    }
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
    if !answer.quotes.is_empty() {
        writeln!(out, "\nSupporting quotes:").ok();
        for q in &answer.quotes {
            let title = answer
                .citations
                .iter()
                .find(|c| c.n == q.n)
                .map(|c| c.passage.title.as_str())
                .unwrap_or("");
            writeln!(
                out,
                "  \u{201c}{}\u{201d}\n      [{}] {}, p. {}",
                q.text, q.n, title, q.page
            )
            .ok();
        }
    }
    out.flush().ok();
}

fn print_stats(answer: &Answer) {
    let s = &answer.stats;
    let focus = match answer.prompt.passage_tokens {
        0 => String::new(),
        n => format!(" (focused to ~{n} tokens each)"),
    };
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

/// Asks one question; streams the answer unless `json`.
fn ask_once(
    engine: &Engine,
    question: &str,
    options: &AskOptions,
    json: bool,
    show_prompt: bool,
) -> anyhow::Result<Answer> {
    CANCEL.store(false, Ordering::SeqCst);
    ANSWERING.store(true, Ordering::SeqCst);
    let mut stdout = std::io::stdout();
    let result = engine.ask(question, options, &mut |event| {
        if !json {
            let piece = match event {
                AskEvent::Text(text) => text.clone(),
                AskEvent::Cite(sources) => {
                    let numbers: Vec<String> = sources.iter().map(|n| n.to_string()).collect();
                    format!("[{}]", numbers.join(", "))
                }
                AskEvent::Sources(_) | AskEvent::Done(_) => String::new(),
            };
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
    let answer = result?;
    if show_prompt {
        eprintln!(
            "--- prompt ({} tokens) ---\n{}\n--- end of prompt ---",
            answer.prompt.tokens, answer.prompt.text
        );
    }
    if json {
        print_json(&answer)?;
    } else {
        println!();
        print_sources(&answer);
        print_stats(&answer);
    }
    Ok(answer)
}

pub fn ask(
    engine: &Engine,
    question: &str,
    options: &AskOptions,
    json: bool,
    show_prompt: bool,
) -> anyhow::Result<ExitCode> {
    install_ctrl_c();
    ask_once(engine, question, options, json, show_prompt)?;
    Ok(ExitCode::SUCCESS)
}

pub fn chat(engine: &Engine, options: &AskOptions, show_prompt: bool) -> anyhow::Result<ExitCode> {
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
            Ok(answer) => {
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
    let list = engine.conversations()?;
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
