//! `quire`: the command-line face of Quire's engine. Argument parsing, progress bars and
//! output formats only; everything else lives in `quire-engine`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use quire_engine::{
    AddEvent, AddStatus, AskOptions, DeviceChoice, Library, LibraryOptions, Passages, Sampling,
    SearchMode,
};

mod ask;
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "quire",
    version,
    about = "Ask questions about your PDFs, fully offline"
)]
struct Cli {
    /// Library folder [default: the OS data folder]
    #[arg(long, global = true, env = "QUIRE_LIBRARY", value_name = "DIR")]
    library: Option<PathBuf>,
    /// Models folder [default: the OS data folder]
    #[arg(long, global = true, env = "QUIRE_MODELS", value_name = "DIR")]
    models: Option<PathBuf>,
    /// Compute device for embeddings
    #[arg(long, global = true, default_value = "auto", value_parser = ["auto", "cpu", "cuda", "metal"])]
    device: String,
    /// A BERT-family model folder to embed with, instead of the default
    #[arg(long, global = true, value_name = "DIR")]
    embedding_model: Option<PathBuf>,
    /// A GGUF model file to answer with, instead of the default
    #[arg(long, global = true, value_name = "FILE")]
    answer_model: Option<PathBuf>,
    /// Machine-readable output
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Add PDFs or folders of PDFs (recursively) to the library
    Add {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Target chunk length in tokens
        #[arg(long, default_value_t = 256)]
        chunk_tokens: usize,
        /// Seconds between saves of the vector index (for tests)
        #[arg(long, default_value_t = 15, hide = true)]
        checkpoint_secs: u64,
    },
    /// Find the passages that answer a question
    Search {
        query: String,
        /// Number of passages
        #[arg(short, default_value_t = 5)]
        k: usize,
        /// Only search these documents (id or path; repeatable)
        #[arg(long = "doc", value_name = "ID")]
        docs: Vec<String>,
        /// Retrieval method
        #[arg(long, default_value = "hybrid", value_parser = ["hybrid", "dense", "keyword"])]
        mode: String,
    },
    /// Answer a question from the library with the local model, citing its sources
    Ask {
        question: String,
        #[command(flatten)]
        answer: AnswerArgs,
    },
    /// Ask questions interactively, as one conversation
    Chat {
        #[command(flatten)]
        answer: AnswerArgs,
    },
    /// List the saved conversations
    Conversations,
    /// List the documents in the library
    List,
    /// Remove documents (by id or path) with everything indexed for them
    Remove {
        #[arg(required = true, value_name = "ID|PATH")]
        documents: Vec<String>,
    },
    /// Models, device, counts and a consistency check
    Status,
}

/// How `ask` and `chat` answer.
#[derive(clap::Args, Clone)]
struct AnswerArgs {
    /// Number of passages given to the model
    #[arg(short, default_value_t = 5)]
    k: usize,
    /// Only use these documents (id or path; repeatable)
    #[arg(long = "doc", value_name = "ID")]
    docs: Vec<String>,
    /// Continue this conversation
    #[arg(long, value_name = "ID")]
    conversation: Option<i64>,
    /// Do not save the question and answer
    #[arg(long)]
    no_save: bool,
    /// Longest answer, in tokens
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// Sampling temperature (0: always the most likely token)
    #[arg(long, default_value_t = 0.2)]
    temperature: f32,
    /// Random seed (same seed, same answer)
    #[arg(long, default_value_t = 42)]
    seed: u32,
    /// The answer model's context window in tokens [default: the model's, at most 8192]
    #[arg(long, value_name = "TOKENS")]
    context: Option<u32>,
    /// CPU threads for the answer model [default: one per physical core]
    #[arg(long)]
    threads: Option<usize>,
    /// How much of each passage the model reads: whole, a number of tokens around what the
    /// question asks, or auto (whole when this machine reads them within about a second, else
    /// focused; longer passages make the answer start later)
    #[arg(long, value_name = "auto|whole|TOKENS", default_value = "auto", value_parser = parse_passages)]
    passages: Passages,
    /// Print the prompt the model was given to stderr
    #[arg(long)]
    show_prompt: bool,
}

fn parse_passages(value: &str) -> Result<Passages, String> {
    match value {
        "auto" => Ok(Passages::Auto),
        "whole" | "0" => Ok(Passages::Whole),
        n => match n.parse::<usize>() {
            Ok(n) if n >= 16 => Ok(Passages::Tokens(n)),
            _ => Err("expected auto, whole or a number of tokens (at least 16)".into()),
        },
    }
}

impl AnswerArgs {
    fn options(&self, library: &Library) -> anyhow::Result<AskOptions> {
        Ok(AskOptions {
            k: self.k,
            docs: resolve_docs(library, &self.docs)?,
            conversation: self.conversation,
            save: !self.no_save,
            passages: self.passages,
            sampling: Sampling {
                temperature: self.temperature,
                seed: self.seed,
                max_tokens: self.max_tokens,
                ..Sampling::default()
            },
            ..AskOptions::default()
        })
    }
}

fn main() -> ExitCode {
    quire_engine::extract::run_worker_if_requested();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            match err.downcast_ref::<quire_engine::Error>() {
                Some(quire_engine::Error::EmptyLibrary) => eprintln!(
                    "quire: the library is empty; add PDFs first with `quire add FILE.pdf`"
                ),
                _ => eprintln!("quire: {err:#}"),
            }
            let usage = matches!(
                err.downcast_ref::<quire_engine::Error>(),
                Some(quire_engine::Error::Usage(_))
            );
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let dir = cli
        .library
        .clone()
        .unwrap_or_else(quire_engine::default_library_dir);
    let models = cli
        .models
        .clone()
        .unwrap_or_else(quire_engine::default_models_dir);
    let mut options = LibraryOptions::new(dir, models);
    options.device = cli.device.parse::<DeviceChoice>()?;
    options.embedding_model = cli.embedding_model.clone();
    options.answer_model = cli.answer_model.clone();
    if let Command::Add {
        chunk_tokens,
        checkpoint_secs,
        ..
    } = &cli.command
    {
        options.chunk_tokens = *chunk_tokens;
        options.checkpoint_every = Duration::from_secs(*checkpoint_secs);
    }
    if let Command::Ask { answer, .. } | Command::Chat { answer } = &cli.command {
        options.context_tokens = answer.context;
        options.generation_threads = answer.threads;
    }
    let mut library = Library::open(options).with_context(|| {
        format!(
            "cannot open the library in {}",
            cli.library
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| quire_engine::default_library_dir().display().to_string())
        )
    })?;
    let code = match &cli.command {
        Command::Add { paths, .. } => add(&mut library, paths, cli.json),
        Command::Search {
            query,
            k,
            docs,
            mode,
        } => {
            let mode = match mode.as_str() {
                "dense" => SearchMode::Dense,
                "keyword" => SearchMode::Keyword,
                _ => SearchMode::Hybrid,
            };
            search(&mut library, query, *k, docs, mode, cli.json)
        }
        Command::Ask { question, answer } => {
            let options = answer.options(&library)?;
            ask::ask(
                &mut library,
                question,
                &options,
                cli.json,
                answer.show_prompt,
            )
        }
        Command::Chat { answer } => {
            let options = answer.options(&library)?;
            ask::chat(&mut library, &options, answer.show_prompt)
        }
        Command::Conversations => ask::conversations(&library, cli.json),
        Command::List => list(&library, cli.json),
        Command::Remove { documents } => remove(&mut library, documents),
        Command::Status => status(&mut library, cli.json),
    };
    if let Some(warning) = library.take_device_warning() {
        eprintln!("quire: warning: {warning}");
    }
    code
}

/// Progress bars for `add` on a terminal: files overall, pages read, chunks embedded.
struct Bars {
    files: ProgressBar,
    pages: ProgressBar,
    chunks: ProgressBar,
}

impl Bars {
    fn new() -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8));
        let style = |template: &str| {
            ProgressStyle::with_template(template)
                .expect("valid template")
                .progress_chars("=> ")
        };
        let files = multi.add(ProgressBar::new(0));
        files.set_style(style(
            "files  [{bar:30}] {pos}/{len} {elapsed_precise} left {eta} {msg}",
        ));
        let pages = multi.add(ProgressBar::new(0));
        pages.set_style(style("pages  [{bar:30}] {pos}/{len} {per_sec} {wide_msg}"));
        let chunks = multi.add(ProgressBar::new(0));
        chunks.set_style(style("chunks [{bar:30}] {pos}/{len} {per_sec} {wide_msg}"));
        files.enable_steady_tick(Duration::from_millis(250));
        Bars {
            files,
            pages,
            chunks,
        }
    }
}

fn short_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn add(library: &mut Library, paths: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    let bars = (!json && std::io::stderr().is_terminal()).then(Bars::new);
    let stdout = Mutex::new(std::io::stdout());
    let print = |line: String| {
        let mut out = stdout.lock().expect("stdout lock");
        match &bars {
            Some(b) => b.files.suspend(|| writeln!(out, "{line}")),
            None => writeln!(out, "{line}"),
        }
        .ok();
    };
    let progress = |event: AddEvent<'_>| {
        match event {
            AddEvent::Planned { files, .. } => {
                if let Some(b) = &bars {
                    b.files.set_length(files as u64);
                }
            }
            AddEvent::Reading {
                path,
                pages_done,
                pages_total,
            } => {
                if let Some(b) = &bars {
                    if pages_done == 0 {
                        b.pages.reset();
                        b.pages.set_message(short_name(path));
                    }
                    b.pages.set_length(pages_total as u64);
                    b.pages.set_position(pages_done as u64);
                }
            }
            AddEvent::Embedding {
                path,
                chunks_done,
                chunks_total,
            } => {
                if let Some(b) = &bars {
                    if b.chunks.message() != short_name(path) {
                        b.chunks.reset();
                        b.chunks.set_message(short_name(path));
                    }
                    b.chunks.set_length(chunks_total as u64);
                    b.chunks.set_position(chunks_done as u64);
                }
            }
            AddEvent::Finished(outcome) => {
                if let Some(b) = &bars {
                    b.files.inc(1);
                }
                if json {
                    print(
                        json!({
                            "path": outcome.path,
                            "status": outcome.status.as_str(),
                            "document_id": outcome.document_id,
                            "pages": outcome.pages,
                            "chunks": outcome.chunks,
                            "error": outcome.error,
                            "error_kind": outcome.error_kind.map(|k| k.as_str()),
                        })
                        .to_string(),
                    );
                } else if outcome.status == AddStatus::Failed {
                    print(format!(
                        "failed     {}: {}",
                        outcome.path.display(),
                        outcome.error.as_deref().unwrap_or("unknown error")
                    ));
                } else if bars.is_none() || outcome.status != AddStatus::Unchanged {
                    print(format!(
                        "{:<10} {} ({} pages, {} chunks)",
                        outcome.status.as_str(),
                        outcome.path.display(),
                        outcome.pages,
                        outcome.chunks
                    ));
                }
            }
        }
        true
    };
    let report = library.add(paths, &progress)?;
    if let Some(b) = &bars {
        b.files.finish_and_clear();
        b.pages.finish_and_clear();
        b.chunks.finish_and_clear();
    }
    if !json {
        std::io::stdout().flush()?;
        let count = |s: AddStatus| report.files.iter().filter(|f| f.status == s).count();
        eprintln!(
            "{} added, {} replaced, {} unchanged, {} failed: {} pages, {} chunks in {:.1} s",
            count(AddStatus::Added),
            count(AddStatus::Replaced),
            count(AddStatus::Unchanged),
            count(AddStatus::Failed),
            report.pages,
            report.chunks,
            report.elapsed
        );
        let t = &report.stages;
        if report.chunks > 0 {
            eprintln!(
                "time: reading PDFs {:.1} s (alongside the rest), chunking {:.1} s, embedding {:.1} s ({:.1} chunks/s on {}), storing {:.1} s, vector index {:.1} s",
                t.extract,
                t.chunk,
                t.embed,
                report.chunks as f64 / t.embed.max(1e-9),
                library.embedding_device().unwrap_or("?"),
                t.store,
                t.index
            );
        }
    }
    Ok(if report.failed() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn resolve_docs(library: &Library, docs: &[String]) -> anyhow::Result<Vec<i64>> {
    docs.iter()
        .map(|d| {
            library.find_document(d)?.map(|doc| doc.id).ok_or_else(|| {
                quire_engine::Error::Usage(format!("no document {d:?} in the library")).into()
            })
        })
        .collect()
}

fn search(
    library: &mut Library,
    query: &str,
    k: usize,
    docs: &[String],
    mode: SearchMode,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let docs = resolve_docs(library, docs)?;
    if library
        .documents()?
        .iter()
        .all(|d| d.status != quire_engine::DocStatus::Ready)
    {
        anyhow::bail!("the library is empty; add PDFs first with `quire add FILE.pdf`");
    }
    let hits = library.search_with(query, k, &docs, mode)?;
    if json {
        let rows: Vec<_> = hits
            .iter()
            .map(|h| {
                json!({
                    "document_id": h.chunk.document_id,
                    "chunk_id": h.chunk.id,
                    "title": h.chunk.title,
                    "path": h.chunk.path,
                    "page_start": h.chunk.page_start,
                    "page_end": h.chunk.page_end,
                    "char_start": h.chunk.char_start,
                    "char_end": h.chunk.char_end,
                    "score": h.score,
                    "similarity": h.similarity,
                    "text": h.chunk.text,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if hits.is_empty() {
        println!("No passages found.");
    }
    for (i, h) in hits.iter().enumerate() {
        let pages = if h.chunk.page_start == h.chunk.page_end {
            format!("p. {}", h.chunk.page_start)
        } else {
            format!("pp. {}-{}", h.chunk.page_start, h.chunk.page_end)
        };
        println!(
            "[{}] {} ({pages}) #{}  {}",
            i + 1,
            h.chunk.title,
            h.chunk.document_id,
            h.chunk.path
        );
        let text: String = h.chunk.text.replace('\n', " ");
        let excerpt: String = text.chars().take(400).collect();
        let ellipsis = if text.chars().count() > 400 {
            "…"
        } else {
            ""
        };
        println!("    {excerpt}{ellipsis}\n");
    }
    Ok(ExitCode::SUCCESS)
}

fn list(library: &Library, json: bool) -> anyhow::Result<ExitCode> {
    let docs = library.documents()?;
    if json {
        let rows: Vec<_> = docs
            .iter()
            .map(|d| {
                json!({
                    "id": d.id, "path": d.path, "title": d.title, "pages": d.pages,
                    "chunks": d.chunks, "status": d.status.as_str(), "size": d.size,
                    "sha256": d.sha256, "added_at": d.added_at,
                    "error_kind": d.error_kind.map(|k| k.as_str()), "error": d.error,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if docs.is_empty() {
        println!("The library is empty. Add PDFs with `quire add FILE.pdf` or `quire add FOLDER`.");
    }
    for d in &docs {
        println!(
            "{:>5}  {:<11} {:>5} pages {:>6} chunks  {}",
            d.id,
            d.status.as_str(),
            d.pages,
            d.chunks,
            d.title
        );
        println!("       {}", d.path);
        if let Some(error) = &d.error {
            println!("       {error}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn remove(library: &mut Library, documents: &[String]) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for d in documents {
        match library.find_document(d)? {
            Some(doc) => {
                library.remove(doc.id)?;
                println!("removed {} ({})", doc.id, doc.path);
            }
            None => {
                eprintln!("quire: no document {d:?} in the library");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn status(library: &mut Library, json: bool) -> anyhow::Result<ExitCode> {
    let s = library.status()?;
    let consistent = s.problems.is_empty();
    if json {
        let v = json!({
            "library": s.library_dir,
            "models": s.models_dir,
            "embedding_model": {"path": s.embedding_model.path, "present": s.embedding_model.present, "problem": s.embedding_model.problem},
            "indexed_with": s.indexed_with,
            "answer_model": {"path": s.answer_model.path, "present": s.answer_model.present, "problem": s.answer_model.problem},
            "device": s.device,
            "device_warning": s.device_warning,
            "documents": s.documents,
            "chunks": s.chunks,
            "vectors": s.vectors,
            "keyword_rows": s.keyword_rows,
            "consistent": consistent,
            "problems": s.problems,
            "writable": s.writable,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let model = |m: &quire_engine::ModelStatus| match &m.problem {
            None => format!("{} (present)", m.path.display()),
            Some(p) => format!("MISSING: {p}"),
        };
        println!("library          {}", s.library_dir.display());
        println!("embedding model  {}", model(&s.embedding_model));
        println!("answer model     {}", model(&s.answer_model));
        println!(
            "device           {}{}",
            s.device,
            s.device_warning
                .map(|w| format!(" ({w})"))
                .unwrap_or_default()
        );
        let mut counts: Vec<_> = s
            .documents
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        counts.sort();
        println!(
            "documents        {}",
            if counts.is_empty() {
                "none".into()
            } else {
                counts.join(", ")
            }
        );
        println!(
            "chunks           {} ({} vectors, {} keyword rows)",
            s.chunks, s.vectors, s.keyword_rows
        );
        if consistent {
            println!("consistency      ok");
        } else {
            for p in &s.problems {
                println!("consistency      PROBLEM: {p}");
            }
        }
        if !s.writable {
            println!("note             another Quire process is changing this library");
        }
    }
    let _ = std::io::stdout().flush();
    Ok(if consistent {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
