//! `quire`: the command-line face of Quire's engine. Argument parsing, progress bars and
//! output formats only; everything else lives in `quire-engine`. `--json` prints the engine's
//! own result types, as the desktop app receives them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use quire_engine::{
    AddOptions, AskOptions, DeviceChoice, EncoderPrecision, Engine, ErrorKind, LibraryOptions,
    Passages, Sampling, SearchMode, SearchOptions,
};

mod add;
mod ask;
mod models;
mod remote;
mod serve;
mod show;

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
    /// Compute device for the models: auto, cpu, cuda or metal
    #[arg(long, global = true, default_value = "auto", value_parser = engine_value::<DeviceChoice>)]
    device: DeviceChoice,
    /// Number type of CPU embedding: f32, or int8 (about twice as fast on CPUs with AVX-512
    /// VNNI, vectors within cosine 0.99 of f32's)
    #[arg(long, global = true, default_value = "f32", env = "QUIRE_EMBEDDING_PRECISION",
          value_parser = engine_value::<EncoderPrecision>)]
    embedding_precision: EncoderPrecision,
    /// A BERT-family model folder to embed with, instead of the default (e.g. the models
    /// folder's multilingual-e5-small, for questions and documents in other languages)
    #[arg(long, global = true, value_name = "DIR", env = "QUIRE_EMBEDDING_MODEL")]
    embedding_model: Option<PathBuf>,
    /// A GGUF model file to answer with, instead of the default
    #[arg(long, global = true, value_name = "FILE")]
    answer_model: Option<PathBuf>,
    /// Machine-readable output
    #[arg(long, global = true)]
    json: bool,
    /// A team library (`quire serve`) to use instead of this computer's library: `add`, `list`,
    /// `search`, `ask`, `chat`, `conversations`, `remove` and `status` go to it (the library
    /// and model options do not apply then)
    #[arg(long, global = true, env = "QUIRE_SERVER", value_name = "URL")]
    server: Option<String>,
    /// Your token for the team library (from its administrator's `quire serve user add`)
    #[arg(
        long,
        global = true,
        env = "QUIRE_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    /// Read the token for the team library from this file
    #[arg(long, global = true, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Trust the certificates in this PEM file for the team library's TLS (a self-signed
    /// server's), instead of the public certificate authorities
    #[arg(long, global = true, env = "QUIRE_CA_CERT", value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Add PDFs or folders of PDFs (recursively) to the library; with none, finish what is
    /// pending: vectors a stopped run left, or indexing the library again (from its stored
    /// text) after a change of embedding model
    Add {
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Target chunk length in tokens (32 to 512)
        #[arg(long, default_value_t = 256)]
        chunk_tokens: usize,
        /// Seconds between saves of the vector index (for tests)
        #[arg(long, default_value_t = 15, hide = true)]
        checkpoint_secs: u64,
        /// Languages for reading pages without text (scans) by OCR, as Tesseract names them,
        /// joined by '+' (eng+chi_sim), or "off" [default: English, plus the system
        /// language's when its data is installed]
        #[arg(long, value_name = "LANGS", env = "QUIRE_OCR_LANG")]
        ocr_lang: Option<String>,
        /// The team library's collection to add to (with --server)
        #[arg(long, value_name = "NAME")]
        collection: Option<String>,
    },
    /// Find the passages that answer a question
    Search {
        query: String,
        /// Number of passages (1 to 20)
        #[arg(short, default_value_t = 5)]
        k: usize,
        /// Only search these documents (id or path; repeatable)
        #[arg(long = "doc", value_name = "ID")]
        docs: Vec<String>,
        /// Retrieval method: hybrid, dense or keyword
        #[arg(long, default_value = "hybrid", value_parser = engine_value::<SearchMode>)]
        mode: SearchMode,
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
    /// Check citations by Quire's rule: reads JSON lines {"question", "sentence", "passage"}
    /// on stdin, prints one line per input: supported or not
    CheckCitations,
    /// The GGUF models already on this computer (Quire's, Ollama's, LM Studio's, GPT4All's,
    /// Jan's); answer with one with --answer-model PATH
    Models {
        /// Also search this folder (recursively; repeatable)
        #[arg(long = "folder", value_name = "DIR")]
        folders: Vec<PathBuf>,
    },
    /// Serve a team library in PostgreSQL over HTTP (users, collections, uploads, search,
    /// answers); `quire serve user add NAME` and `collection add|grant` manage who sees what
    Serve(serve::ServeArgs),
}

/// How `ask` and `chat` answer.
#[derive(clap::Args, Clone)]
struct AnswerArgs {
    /// Number of passages given to the model (1 to 20)
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
    #[arg(long, value_name = "TOKENS",
          value_parser = clap::builder::RangedU64ValueParser::<u32>::new().range(512..=1_048_576))]
    context: Option<u32>,
    /// CPU threads for the answer model [default: one per physical core]
    #[arg(long)]
    threads: Option<usize>,
    /// How much of each passage the model reads: whole, a number of tokens around what the
    /// question asks, or auto (whole when this machine reads them within about a second, else
    /// focused; longer passages make the answer start later)
    #[arg(long, value_name = "auto|whole|TOKENS", default_value = "auto", value_parser = engine_value::<Passages>)]
    passages: Passages,
    /// Print the prompt the model was given to stderr
    #[arg(long)]
    show_prompt: bool,
    /// Answer with the documents' own sentences only; no answer model is loaded
    #[arg(long)]
    extract_only: bool,
}

/// Parses an argument with the engine's own parser (and its message for a bad value).
fn engine_value<T>(value: &str) -> Result<T, String>
where
    T: std::str::FromStr<Err = quire_engine::Error>,
{
    value
        .parse()
        .map_err(|e: quire_engine::Error| e.to_string())
}

impl AnswerArgs {
    fn options(&self, engine: &Engine) -> anyhow::Result<AskOptions> {
        Ok(AskOptions {
            k: self.k,
            docs: engine.resolve_documents(&self.docs)?,
            conversation: self.conversation,
            save: !self.no_save,
            passages: self.passages,
            sampling: Sampling {
                temperature: self.temperature,
                seed: self.seed,
                max_tokens: self.max_tokens,
                ..Sampling::default()
            },
            generate: !self.extract_only,
            ..AskOptions::default()
        })
    }
}

fn main() -> ExitCode {
    // A closed output (`quire list | head -2`) ends the command quietly, as it ends `grep`:
    // Rust ignores SIGPIPE, which would turn every later print into a panic.
    #[cfg(unix)]
    // SAFETY: restores a signal's default action before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    quire_engine::extract::run_worker_if_requested();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            let kind = err.downcast_ref::<quire_engine::Error>().map(|e| e.kind());
            eprintln!("quire: {}", explain(&err, kind));
            ExitCode::from(if kind == Some(ErrorKind::Usage) { 2 } else { 1 })
        }
    }
}

/// Says so (on stderr) when some passages can be found by their words only: their vectors
/// were lost with a deleted or damaged vector file and `quire add` has not rebuilt them yet.
fn warn_without_vectors(engine: &Engine) -> anyhow::Result<()> {
    let missing = engine.passages_without_vectors()?;
    if missing == 0 {
        return Ok(());
    }
    match engine.vectors_problem()? {
        Some(problem) => eprintln!(
            "quire: warning: {problem}, so {missing} passages are found by their words only; \
             `quire add` with any file rebuilds their vectors"
        ),
        None => eprintln!(
            "quire: note: {missing} passages still wait for their vectors, so they are found by \
             their words only for now; `quire add` (still running, or run again) makes them"
        ),
    }
    Ok(())
}

/// How to get the default models, for this installation: an installed Quire (a package put the
/// fetch step beside its `bin` folder) names the model pack and the installed script; a build
/// from source the source tree's.
pub(crate) fn models_hint() -> String {
    let installed = std::env::current_exe()
        .ok()
        .and_then(|exe| quire_engine::installed_fetch_script(&exe));
    let fetch = match installed {
        Some(script) => format!(
            "install the quire-models package (no internet needed), or fetch them once with \
             `python3 {} --defaults`",
            script.canonicalize().unwrap_or(script).display()
        ),
        None => "fetch the default models with `python3 models/fetch.py`".to_string(),
    };
    format!("{fetch}, or name the models to use with --models, --embedding-model or --answer-model")
}

/// The error in one line, with what to do about it on the command line.
fn explain(err: &anyhow::Error, kind: Option<ErrorKind>) -> String {
    let hint = match kind {
        Some(ErrorKind::EmptyLibrary) => {
            return "the library is empty; add PDFs first with `quire add FILE.pdf`".into()
        }
        Some(ErrorKind::ModelMissing) => return format!("{err:#}; {}", models_hint()),
        Some(ErrorKind::ModelMismatch) => {
            "; run `quire add` (without files) to index it again with the current model, from \
             its stored text"
        }
        Some(ErrorKind::Device) => "; use --device cpu",
        Some(ErrorKind::Busy) => "; try again when it has finished",
        _ => "",
    };
    format!("{err:#}{hint}")
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(server) = &cli.server {
        return remote::run(&cli, server);
    }
    if let Command::Add {
        collection: Some(_),
        ..
    } = &cli.command
    {
        return Err(quire_engine::Error::Usage(
            "--collection names a collection of a team library: use it with --server URL".into(),
        )
        .into());
    }
    let dir = cli
        .library
        .clone()
        .unwrap_or_else(quire_engine::default_library_dir);
    let models = cli
        .models
        .clone()
        .unwrap_or_else(quire_engine::default_models_dir);
    if let Command::Models { folders } = &cli.command {
        // Only looks at files: the library is not opened.
        let answer_model = cli
            .answer_model
            .clone()
            .unwrap_or_else(|| models.join(quire_engine::DEFAULT_ANSWER_MODEL));
        return models::list(&models, folders, &answer_model, cli.json);
    }
    let mut options = LibraryOptions::new(&dir, models);
    options.device = cli.device;
    options.embedding_precision = cli.embedding_precision;
    options.embedding_model = cli.embedding_model.clone();
    options.answer_model = cli.answer_model.clone();
    if let Command::Add {
        ocr_lang: Some(spec),
        ..
    } = &cli.command
    {
        let ocr = quire_engine::OcrOptions::parse(spec);
        ocr.check()
            .map_err(|e| quire_engine::Error::Usage(format!("--ocr-lang: {e}")))?;
        options.extractor.ocr = ocr;
    } else {
        let locale = std::env::var("LC_ALL")
            .or_else(|_| std::env::var("LANG"))
            .unwrap_or_default();
        options.extractor.ocr = quire_engine::OcrOptions::default_for(Some(&locale));
    }
    if let Command::Ask { answer, .. } | Command::Chat { answer } = &cli.command {
        options.context_tokens = answer.context;
        options.generation_threads = answer.threads;
    }
    if let Command::Serve(args) = &cli.command {
        return serve::run(args, options);
    }
    let engine = Engine::open(options)
        .with_context(|| format!("cannot open the library in {}", dir.display()))?;
    let code = match &cli.command {
        Command::Add {
            paths,
            chunk_tokens,
            checkpoint_secs,
            ..
        } => {
            let options = AddOptions {
                chunk_tokens: *chunk_tokens,
                checkpoint_every: Duration::from_secs(*checkpoint_secs),
            };
            add::add(&engine, paths, &options, cli.json)
        }
        Command::Search {
            query,
            k,
            docs,
            mode,
        } => {
            let options = SearchOptions {
                k: *k,
                docs: engine.resolve_documents(docs)?,
                mode: *mode,
            };
            warn_without_vectors(&engine)?;
            show::search(&engine, query, &options, cli.json)
        }
        Command::Ask { question, answer } => {
            let options = answer.options(&engine)?;
            warn_without_vectors(&engine)?;
            ask::ask(&engine, question, &options, cli.json, answer.show_prompt)
        }
        Command::Chat { answer } => {
            let options = answer.options(&engine)?;
            ask::chat(&engine, &options, answer.show_prompt)
        }
        Command::Conversations => ask::conversations(&engine, cli.json),
        Command::List => show::list(&engine, cli.json),
        Command::Remove { documents } => show::remove(&engine, documents),
        Command::Status => show::status(&engine, cli.json),
        Command::CheckCitations => ask::check_citations(&engine, cli.json),
        Command::Models { .. } | Command::Serve(_) => {
            unreachable!("answered before the library opens")
        }
    };
    if let Some(warning) = engine.take_device_warning() {
        eprintln!("quire: warning: {warning}");
    }
    code
}

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
