//! `quire serve`: the team library over HTTP. One PostgreSQL database holds the library (the
//! engine's tables) and the server's own (`serve_*`: users, collections, uploads, the
//! ingestion queue), so any number of server processes can share it. The engine knows nothing
//! of HTTP or users; this module keeps who may see what.
//!
//! - [`db`]: the server's tables and every query on them.
//! - [`jobs`]: the ingestion worker, a thread in each server.
//! - [`api`]: the HTTP JSON API, described in `openapi.json`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use quire_engine::storage::{Backend, Postgres};
use quire_engine::{Engine, LibraryOptions};
use tokio_rustls::rustls::ServerConfig;

mod api;
mod db;
mod jobs;

use db::Db;

/// Where the server listens unless told: this machine only.
const DEFAULT_LISTEN: &str = "127.0.0.1:8484";

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServeArgs {
    /// The PostgreSQL database of the team library (postgresql://USER@HOST:PORT/DB)
    #[arg(long, env = "QUIRE_POSTGRES", global = true, value_name = "URL")]
    postgres: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8484, this machine only]; another machine's
    /// users need an address of this machine's network (use TLS then)
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// TLS certificate chain (PEM); with --tls-key the server speaks HTTPS
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM)
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Largest PDF accepted, in megabytes
    #[arg(long, default_value_t = 200, value_name = "MB")]
    max_upload_mb: u64,
    /// Seconds without a heartbeat after which another server takes over an upload (for tests)
    #[arg(long, default_value_t = 30, hide = true)]
    stale_secs: u64,
    #[command(subcommand)]
    admin: Option<Admin>,
}

#[derive(Subcommand)]
enum Admin {
    /// The people who may use the server
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Collections of documents, and who may use them
    Collection {
        #[command(subcommand)]
        command: CollectionCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; prints their token, once (only its digest is kept)
    Add { name: String },
    /// List the users and their collections
    List,
}

#[derive(Subcommand)]
enum CollectionCommand {
    /// Add a collection
    Add { name: String },
    /// Let a user see and add to a collection
    Grant { collection: String, user: String },
}

/// Runs the server, or one of its admin commands. `options` are the CLI's library options
/// (models, device); the library itself is the database.
pub fn run(args: &ServeArgs, mut options: LibraryOptions) -> anyhow::Result<ExitCode> {
    let Some(url) = args.postgres.clone() else {
        bail!("name the team library's database with --postgres URL (or QUIRE_POSTGRES)");
    };
    if let Some(admin) = &args.admin {
        return run_admin(admin, &url);
    }
    if args.max_upload_mb == 0 {
        bail!("--max-upload-mb must be at least 1");
    }
    let listen = match args.listen {
        Some(addr) => addr,
        None => DEFAULT_LISTEN.parse().expect("a valid address"),
    };
    if !listen.ip().is_loopback() && args.tls_cert.is_none() {
        eprintln!(
            "quire serve: warning: listening on {listen} without TLS: tokens and documents \
             cross the network readable by anyone on the way; use --tls-cert and --tls-key"
        );
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls_config(cert, key)?),
        _ => None,
    };
    options.backend = Backend::Postgres(url.clone());
    let engine =
        Arc::new(Engine::open(options).with_context(|| {
            format!("cannot open the library in {}", db::without_password(&url))
        })?);
    let db = Arc::new(Db::open(&url)?);
    let wake = Arc::new(jobs::Wake::default());
    let worker = jobs::Worker {
        engine: engine.clone(),
        db: db.clone(),
        wake: wake.clone(),
        server: server_name()?,
        stale_secs: args.stale_secs,
    };
    std::thread::Builder::new()
        .name("ingest".into())
        .spawn(move || worker.run())?;
    let app = Arc::new(api::App {
        engine,
        db,
        wake,
        max_upload: args.max_upload_mb << 20,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(api::router(app), listen, tls))?;
    Ok(ExitCode::SUCCESS)
}

fn run_admin(admin: &Admin, url: &str) -> anyhow::Result<ExitCode> {
    // The library's tables first: the server's point at them.
    Postgres::open(url)
        .with_context(|| format!("cannot open the library in {}", db::without_password(url)))?;
    let db = Db::open(url)?;
    match admin {
        Admin::User {
            command: UserCommand::Add { name },
        } => {
            let token = db.add_user(name)?;
            eprintln!("quire serve: user {name:?} added; their token (shown only now):");
            println!("{token}");
        }
        Admin::User {
            command: UserCommand::List,
        } => {
            for (name, created, collections) in db.users()? {
                println!("{name}\t{created}\t{}", collections.join(","));
            }
        }
        Admin::Collection {
            command: CollectionCommand::Add { name },
        } => {
            db.add_collection(name)?;
            eprintln!("quire serve: collection {name:?} added");
        }
        Admin::Collection {
            command: CollectionCommand::Grant { collection, user },
        } => {
            db.grant(collection, user)?;
            eprintln!("quire serve: {user:?} may now use {collection:?}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// This process's name in the job queue: host, process id and a random part (a restarted
/// process with the same id is another claimer).
fn server_name() -> anyhow::Result<String> {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no random bytes: {e}"))?;
    Ok(format!(
        "{host}:{}:{}",
        std::process::id(),
        hex::encode(random)
    ))
}

fn tls_config(cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<Arc<ServerConfig>> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("cannot read the certificates in {}: {e}", cert.display()))?;
    if certs.is_empty() {
        bail!("there is no certificate in {}", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("cannot read the private key in {}: {e}", key.display()))?;
    let config = ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .context("the certificate and key do not make a TLS configuration")?;
    Ok(Arc::new(config))
}

/// Serves until interrupted (Ctrl-C or SIGTERM). Prints one line on stdout once listening:
/// `quire serve: listening on http(s)://ADDR` (the port chosen when it was 0).
async fn serve(
    router: axum::Router,
    listen: SocketAddr,
    tls: Option<Arc<ServerConfig>>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("quire serve: listening on {scheme}://{bound}");
    use std::io::Write;
    std::io::stdout().flush()?;
    match tls {
        None => axum::serve(listener, router)
            .with_graceful_shutdown(stopped())
            .await
            .context("the server stopped")?,
        Some(config) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            let stop = stopped();
            tokio::pin!(stop);
            loop {
                let (socket, _) = tokio::select! {
                    accepted = listener.accept() => accepted?,
                    _ = &mut stop => break,
                };
                let (acceptor, router) = (acceptor.clone(), router.clone());
                tokio::spawn(async move {
                    // A client that fails the handshake is its own problem.
                    let Ok(stream) = acceptor.accept(socket).await else {
                        return;
                    };
                    let service = hyper_util::service::TowerToHyperService::new(router);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stopped() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return interrupt.await.unwrap_or(()),
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
