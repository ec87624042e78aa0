//! The library commands against a team library (`--server URL --token TOKEN`): the same
//! commands, printed the same way, as for this computer's library, through `quire-client`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use quire_client::{AskRequest, Client, JobStatus, Options};
use quire_engine::{
    AddStatus, Answer, AskEvent, AskOptions, DocStatus, DocumentCounts, FileOutcome, Flow,
    Passages, SearchMode,
};

use crate::ask::{self, Answerer};
use crate::{add, print_json, show, AnswerArgs, Cli, Command};

/// A usage error (exit status 2), in one sentence.
fn usage(message: impl Into<String>) -> anyhow::Error {
    quire_engine::Error::Usage(message.into()).into()
}

/// A client error for the command line: a refused token says what to check; a request the
/// server calls bad is a usage error.
fn explain(e: quire_client::Error) -> anyhow::Error {
    match e {
        quire_client::Error::Unauthorized(_) => anyhow::anyhow!(
            "{e}; check --token, --token-file or QUIRE_TOKEN (the server's administrator makes \
             tokens with `quire serve user add NAME`)"
        ),
        quire_client::Error::Insecure { .. } => anyhow::anyhow!(
            "{e}; a server with a certificate of its own needs it trusted: --ca-cert PEM"
        ),
        quire_client::Error::Usage(m) => usage(m),
        quire_client::Error::Server { status: 400, .. } => usage(e.to_string()),
        e => e.into(),
    }
}

/// Runs `cli`'s command against the team library at `server`.
pub fn run(cli: &Cli, server: &str) -> anyhow::Result<ExitCode> {
    check(&cli.command)?;
    let client = Client::new(
        server,
        &token(cli)?,
        &Options {
            ca_cert: cli.ca_cert.clone(),
            ..Options::default()
        },
    )
    .map_err(explain)?;
    let remote = Remote(&client);
    match &cli.command {
        Command::Add {
            paths, collection, ..
        } => {
            let collection = collection.as_deref().expect("checked");
            add_files(&client, paths, collection, cli.json)
        }
        Command::Search { query, k, .. } => {
            show::print_hits(&client.search(query, *k).map_err(explain)?, cli.json)
        }
        Command::Ask { question, answer } => {
            ask::ask(&remote, question, &ask_options(answer), cli.json, false)
        }
        Command::Chat { answer } => ask::chat(&remote, &ask_options(answer), false),
        Command::Conversations => {
            ask::print_conversations(&client.conversations().map_err(explain)?, cli.json)
        }
        Command::List => list(&client, cli.json),
        Command::Remove { documents } => remove(&client, documents),
        Command::Status => status(&client, cli.json),
        Command::CheckCitations | Command::Models { .. } | Command::Serve(_) => {
            unreachable!("refused by check")
        }
    }
}

/// Refuses, before anything is sent, what a team library cannot do.
fn check(command: &Command) -> anyhow::Result<()> {
    let not_remote = |option: &str| {
        usage(format!(
            "{option} is not available with --server: the team library's server chooses it"
        ))
    };
    match command {
        Command::Models { .. } => Err(usage(
            "`quire models` lists the answer models on this computer; a team library answers \
             with its server's (leave out --server, or unset QUIRE_SERVER)",
        )),
        Command::Serve(_) => Err(usage(
            "`quire serve` runs a team library's server; it does not use one (leave out \
             --server, or unset QUIRE_SERVER)",
        )),
        Command::CheckCitations => Err(usage(
            "`quire check-citations` checks with this computer's models; it is not available \
             with --server",
        )),
        Command::Add {
            paths,
            chunk_tokens,
            collection,
            ..
        } => {
            if collection.is_none() {
                return Err(usage(
                    "with --server, name the collection to add to with --collection NAME (one \
                     you are a member of)",
                ));
            }
            if paths.is_empty() {
                return Err(usage(
                    "name the PDFs (or folders of PDFs) to add to the team library",
                ));
            }
            if *chunk_tokens != 256 {
                return Err(not_remote("--chunk-tokens"));
            }
            Ok(())
        }
        Command::Search { docs, mode, .. } => {
            if !docs.is_empty() {
                return Err(usage(
                    "--doc is not available with --server: a team library searches all the \
                     documents of your collections",
                ));
            }
            if *mode != SearchMode::Hybrid {
                return Err(not_remote("--mode"));
            }
            Ok(())
        }
        Command::Ask { answer, .. } | Command::Chat { answer } => {
            let options: [(bool, &str); 9] = [
                (!answer.docs.is_empty(), "--doc"),
                (answer.no_save, "--no-save"),
                (answer.max_tokens != 256, "--max-tokens"),
                (answer.temperature != 0.2, "--temperature"),
                (answer.seed != 42, "--seed"),
                (answer.context.is_some(), "--context"),
                (answer.threads.is_some(), "--threads"),
                (answer.passages != Passages::Auto, "--passages"),
                (answer.show_prompt, "--show-prompt"),
            ];
            match options.iter().find(|(given, _)| *given) {
                Some((_, "--doc")) => Err(usage(
                    "--doc is not available with --server: a team library answers from all the \
                     documents of your collections",
                )),
                Some((_, "--no-save")) => Err(usage(
                    "--no-save is not available with --server: a team library keeps each \
                     question and answer in a conversation of yours",
                )),
                Some((_, option)) => Err(not_remote(option)),
                None => Ok(()),
            }
        }
        Command::Conversations | Command::List | Command::Remove { .. } | Command::Status => Ok(()),
    }
}

/// The token: from --token-file, else --token or QUIRE_TOKEN.
fn token(cli: &Cli) -> anyhow::Result<String> {
    if let Some(file) = &cli.token_file {
        let token = std::fs::read_to_string(file)
            .map_err(|e| usage(format!("cannot read the token in {}: {e}", file.display())))?;
        if token.trim().is_empty() {
            return Err(usage(format!("{} holds no token", file.display())));
        }
        return Ok(token.trim().to_string());
    }
    match &cli.token {
        Some(token) if !token.trim().is_empty() => Ok(token.trim().to_string()),
        _ => Err(usage(
            "with --server, give your token with --token TOKEN, --token-file FILE or QUIRE_TOKEN \
             (the server's administrator makes it with `quire serve user add NAME`)",
        )),
    }
}

fn ask_options(answer: &AnswerArgs) -> AskOptions {
    AskOptions {
        k: answer.k,
        conversation: answer.conversation,
        generate: !answer.extract_only,
        ..AskOptions::default()
    }
}

/// Answers from the team library's server.
struct Remote<'a>(&'a Client);

impl Answerer for Remote<'_> {
    fn answer(
        &self,
        question: &str,
        options: &AskOptions,
        on_event: &mut dyn FnMut(&AskEvent) -> Flow,
    ) -> anyhow::Result<Option<Answer>> {
        let request = AskRequest {
            k: options.k,
            conversation: options.conversation,
            generate: options.generate,
        };
        match self.0.ask(question, &request, on_event) {
            Ok(answer) => Ok(Some(answer)),
            Err(quire_client::Error::Stopped) => Ok(None),
            Err(e) => Err(explain(e)),
        }
    }
}

fn failed(path: &Path, error: String) -> FileOutcome {
    FileOutcome {
        path: path.to_path_buf(),
        status: AddStatus::Failed,
        document_id: None,
        pages: 0,
        chunks: 0,
        error: Some(error),
        error_kind: None,
        warning: None,
    }
}

/// `add` to a collection: uploads every PDF (the servers read them while the rest are sent),
/// then follows each one's job, printing a line per file as it finishes, as `add` does.
fn add_files(
    client: &Client,
    paths: &[PathBuf],
    collection: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut sent = Vec::new();
    for (path, found) in quire_client::pdfs_to_upload(paths) {
        let job = match found {
            Ok(()) => match client.upload(collection, &path) {
                Ok(job) => Ok(job),
                // No use trying the others: every upload would fail the same way.
                Err(
                    e @ (quire_client::Error::Unreachable { .. }
                    | quire_client::Error::Insecure { .. }
                    | quire_client::Error::Unauthorized(_)
                    | quire_client::Error::Server { status: 404, .. }),
                ) => return Err(explain(e)),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e),
        };
        sent.push((path, job));
    }
    if sent.is_empty() {
        return Err(usage("there are no PDFs in the folders named"));
    }
    let mut outcomes = Vec::new();
    for (path, job) in sent {
        let outcome = match job {
            Err(e) => failed(&path, e),
            Ok(id) => {
                let job = client
                    .wait_job(id, Duration::from_millis(300))
                    .map_err(explain)?;
                match (job.status, job.outcome, job.document_id) {
                    (JobStatus::Done, Some(status), Some(id)) if status != AddStatus::Failed => {
                        let doc = client
                            .documents()
                            .map_err(explain)?
                            .into_iter()
                            .find(|d| d.document.id == id);
                        FileOutcome {
                            path: path.clone(),
                            status,
                            document_id: Some(id),
                            pages: doc.as_ref().map_or(0, |d| d.document.pages),
                            chunks: doc.as_ref().map_or(0, |d| d.document.chunks),
                            error: None,
                            error_kind: None,
                            warning: None,
                        }
                    }
                    _ => {
                        let mut outcome = failed(
                            &path,
                            job.error
                                .unwrap_or_else(|| "the server could not add it".into()),
                        );
                        outcome.document_id = job.document_id;
                        outcome
                    }
                }
            }
        };
        if let Some(line) = add::outcome_line(&outcome, json, false) {
            println!("{line}");
            let _ = std::io::stdout().flush();
        }
        outcomes.push(outcome);
    }
    let count = |s: AddStatus| outcomes.iter().filter(|o| o.status == s).count();
    if !json {
        eprintln!(
            "{} added, {} replaced, {} unchanged, {} failed: {} pages, {} chunks in {:.1} s, \
             into {collection} at {}",
            count(AddStatus::Added),
            count(AddStatus::Replaced),
            count(AddStatus::Unchanged),
            count(AddStatus::Failed),
            outcomes.iter().map(|o| o.pages as u64).sum::<u64>(),
            outcomes.iter().map(|o| o.chunks).sum::<u64>(),
            started.elapsed().as_secs_f64(),
            client.url()
        );
    }
    Ok(if count(AddStatus::Failed) > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `list`: the documents of the user's collections (with `--json`, each with its collection).
fn list(client: &Client, json: bool) -> anyhow::Result<ExitCode> {
    let docs = client.documents().map_err(explain)?;
    if json {
        print_json(&docs)?;
        return Ok(ExitCode::SUCCESS);
    }
    if docs.is_empty() {
        println!(
            "There are no documents in your collections. Add PDFs with `quire add --collection \
             NAME FILE.pdf` (with --server)."
        );
    }
    let docs: Vec<_> = docs.into_iter().map(|d| d.document).collect();
    show::print_documents(&docs);
    Ok(ExitCode::SUCCESS)
}

/// `remove`: by id, path (`COLLECTION/NAME`), or a file name only one document has.
fn remove(client: &Client, wanted: &[String]) -> anyhow::Result<ExitCode> {
    let docs = client.documents().map_err(explain)?;
    let mut failed = false;
    for w in wanted {
        let by_id = w.parse::<i64>().ok();
        let mut found: Vec<_> = docs
            .iter()
            .filter(|d| Some(d.document.id) == by_id || d.document.path == *w)
            .collect();
        if found.is_empty() {
            found = docs
                .iter()
                .filter(|d| d.document.path.rsplit('/').next() == Some(w.as_str()))
                .collect();
        }
        match found.as_slice() {
            [doc] => {
                client.remove(doc.document.id).map_err(explain)?;
                println!("removed {} ({})", doc.document.id, doc.document.path);
            }
            [] => {
                eprintln!("quire: no document {w:?} in your collections");
                failed = true;
            }
            several => {
                let paths: Vec<&str> = several.iter().map(|d| d.document.path.as_str()).collect();
                eprintln!(
                    "quire: {w:?} names {} documents ({}); name one by its id or path",
                    several.len(),
                    paths.join(", ")
                );
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// `status`: the server, and the user's documents and conversations there. The models, the
/// device and the consistency check are the server's, not shown here.
fn status(client: &Client, json: bool) -> anyhow::Result<ExitCode> {
    let docs = client.documents().map_err(explain)?;
    let conversations = client.conversations().map_err(explain)?.len();
    let mut counts = DocumentCounts::default();
    for d in &docs {
        match d.document.status {
            DocStatus::Ready => counts.ready += 1,
            DocStatus::Indexing => counts.indexing += 1,
            DocStatus::Failed => counts.failed += 1,
            DocStatus::Interrupted => counts.interrupted += 1,
        }
        if d.document.status == DocStatus::Ready && !d.document.embedded {
            counts.waiting_for_vectors += 1;
        }
    }
    let chunks: u64 = docs.iter().map(|d| d.document.chunks).sum();
    let mut collections: Vec<&str> = docs.iter().map(|d| d.collection.as_str()).collect();
    collections.sort();
    collections.dedup();
    if json {
        print_json(&serde_json::json!({
            "server": client.url(),
            "documents": counts,
            "chunks": chunks,
            "collections": collections,
            "conversations": conversations,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("server           {} (a team library)", client.url());
    let listed: Vec<String> = [
        (counts.failed, "failed"),
        (counts.indexing, "indexing"),
        (counts.interrupted, "interrupted"),
        (counts.ready, "ready"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    let listed = if listed.is_empty() {
        "none".to_string()
    } else {
        listed.join(", ")
    };
    println!("documents        {listed} (in your collections)");
    if counts.waiting_for_vectors > 0 {
        println!(
            "                 {} of them searchable by words only so far: the server is making \
             their vectors",
            counts.waiting_for_vectors
        );
    }
    if !collections.is_empty() {
        println!("collections      {}", collections.join(", "));
    }
    println!("chunks           {chunks}");
    println!("conversations    {conversations}");
    println!("not shown        the models, device and consistency check: they are the server's");
    Ok(ExitCode::SUCCESS)
}
