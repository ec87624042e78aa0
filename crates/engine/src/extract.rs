//! PDF → pages of clean text, isolated from the caller.
//!
//! `pdf-extract` panics on some malformed files and can loop forever on others, so by default the
//! work happens in a child process (the running executable, re-entered through
//! [`run_worker_if_requested`]) with a memory limit and a watchdog. The child streams one line of
//! JSON per page, so the caller sees progress and a hang is noticed within one page's time.
//!
//! (Over 500 lines on purpose: the parent's and the child's halves of that protocol, its limits
//! and the classification of failures only make sense together, and are tested together.)

use std::io::{BufRead, BufReader, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::text::clean_page;

pub mod ocr;
mod repair;
#[doc(hidden)]
pub mod scan;

pub use ocr::{OcrLayer, OcrOptions, WordBox};

/// One page of a PDF, numbered from 1, with cleaned text (possibly empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub number: u32,
    pub text: String,
}

/// What a successful extraction yields.
#[derive(Debug, Clone)]
pub struct ExtractedPdf {
    /// The title from the PDF's metadata, when it has a usable one.
    pub title: Option<String>,
    pub pages: Vec<Page>,
    /// Characters drawn with fonts that do not say which letters they are (no ToUnicode map,
    /// encoding or usable font program): left out of the pages' text.
    pub undecoded: u64,
    /// The pages read by OCR, with their words' boxes and confidence.
    pub ocr: Vec<OcrLayer>,
    /// Pages OCR could not read, each with why ("page 3: its image is …").
    pub ocr_failures: Vec<String>,
}

/// How far reading a file has got: pages read of its total, and of the pages without text,
/// how many OCR has started on (`ocr_page` of `ocr_pages`; both 0 when none need it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadProgress {
    pub pages_done: u32,
    pub pages_total: u32,
    pub ocr_page: u32,
    pub ocr_pages: u32,
}

impl ExtractedPdf {
    /// What the reader could not read of a document it otherwise read, in one sentence for
    /// people; `None` when nothing worth saying was lost (a few symbols of a formula fonts
    /// rarely map).
    pub fn loss(&self) -> Option<String> {
        let unread = self.font_loss();
        if self.ocr_failures.is_empty() {
            return unread;
        }
        let ocr = match self.ocr_failures.as_slice() {
            [one] => format!("OCR could not read {one}"),
            [first, rest @ ..] => format!(
                "OCR could not read {} pages ({first}; and {} more)",
                rest.len() + 1,
                rest.len()
            ),
            [] => unreachable!(),
        };
        Some(match unread {
            Some(u) => format!("{ocr}; {u}"),
            None => ocr,
        })
    }

    fn font_loss(&self) -> Option<String> {
        let read: u64 = self
            .pages
            .iter()
            .map(|p| p.text.chars().filter(|c| !c.is_whitespace()).count() as u64)
            .sum();
        let lost = self.undecoded;
        (lost >= MIN_REPORTED_LOSS && lost * 100 >= read).then(|| {
            format!(
                "{lost} of its characters could not be read (their fonts do not say which \
                 letters they show; for Chinese, Japanese or Korean text install poppler-data) \
                 and are not searchable; the other {read} were added"
            )
        })
    }
}

/// Fewer characters left out than this (and less than 1 % of the text) go unreported.
const MIN_REPORTED_LOSS: u64 = 50;

/// Why a file could not be read; each has one clear sentence for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The file does not start with a PDF header.
    NotPdf,
    /// The file needs a password.
    Encrypted,
    /// The structure is broken (truncated, corrupt) or the reader crashed on it.
    Damaged,
    /// The PDF has pages but no extractable text: scanned or image-only.
    NoText,
    /// Reading took longer than the time limit.
    TimedOut,
    /// The file is bigger than the size limit or needs more memory than allowed.
    TooLarge,
    /// The file could not be opened or read at all.
    Unreadable,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::NotPdf => "not_pdf",
            FailureKind::Encrypted => "encrypted",
            FailureKind::Damaged => "damaged",
            FailureKind::NoText => "no_text",
            FailureKind::TimedOut => "timed_out",
            FailureKind::TooLarge => "too_large",
            FailureKind::Unreadable => "unreadable",
        }
    }

    pub fn parse(s: &str) -> Option<FailureKind> {
        [
            FailureKind::NotPdf,
            FailureKind::Encrypted,
            FailureKind::Damaged,
            FailureKind::NoText,
            FailureKind::TimedOut,
            FailureKind::TooLarge,
            FailureKind::Unreadable,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A classified extraction failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ExtractError {
    pub kind: FailureKind,
    pub message: String,
}

impl ExtractError {
    fn new(kind: FailureKind, message: impl Into<String>) -> ExtractError {
        ExtractError {
            kind,
            message: message.into(),
        }
    }

    /// `reason` is a phrase for a person ("its cross-reference table is broken"), never a
    /// parser's or a panic's own text.
    fn damaged(reason: &str) -> ExtractError {
        ExtractError::new(
            FailureKind::Damaged,
            format!("the PDF's structure is damaged and could not be read ({reason})"),
        )
    }

    /// The PDF reader itself failed (a panic in the parser): the file is unusual or damaged in
    /// a way it cannot cope with. The panic's text is not for the user.
    fn reader_crashed() -> ExtractError {
        ExtractError::new(
            FailureKind::Damaged,
            "the PDF reader failed on this file; it is probably damaged or uses features \
             Quire cannot read",
        )
    }

    fn no_text(pages: usize, ocr: &OcrOptions) -> ExtractError {
        let why = if ocr.enabled() {
            String::new()
        } else if ocr::installed_languages().is_empty() {
            "; OCR is not installed (on Debian/Ubuntu: tesseract-ocr-eng)".to_string()
        } else {
            "; OCR is turned off (Settings, or quire add --ocr-lang)".to_string()
        };
        ExtractError::new(
            FailureKind::NoText,
            format!(
                "none of its {pages} page(s) has a text layer (a scanned or image-only PDF){why}"
            ),
        )
    }
}

/// Limits that keep one bad file from hurting the rest.
#[derive(Debug, Clone)]
pub struct ExtractLimits {
    /// Files larger than this are refused before they are read.
    pub max_file_bytes: u64,
    /// A page that takes longer than this stops the file (`TimedOut`).
    pub page_timeout: Duration,
    /// Address-space limit of the reader process (subprocess mode only).
    pub max_memory_bytes: u64,
}

impl Default for ExtractLimits {
    fn default() -> Self {
        ExtractLimits {
            max_file_bytes: 1 << 30,
            page_timeout: Duration::from_secs(60),
            max_memory_bytes: 3 << 30,
        }
    }
}

/// How extraction is isolated.
#[derive(Debug, Clone)]
pub enum Isolation {
    /// Re-run `program` (normally the current executable, which must call
    /// [`run_worker_if_requested`] first thing in `main`) as a child process per file.
    Process { program: PathBuf },
    /// A thread with a panic guard. A hang leaks the thread: for tests and embedders only.
    /// (OCR is slower here unless the process started with `OMP_THREAD_LIMIT=1`.)
    Thread,
}

impl Isolation {
    /// A child process of the running executable.
    pub fn current_exe() -> std::io::Result<Isolation> {
        // On Linux, /proc/self/exe runs this very binary even after an upgrade replaced the
        // file on disk (its path would then end in " (deleted)").
        let proc_exe = Path::new("/proc/self/exe");
        if cfg!(target_os = "linux") && proc_exe.exists() {
            return Ok(Isolation::Process {
                program: proc_exe.to_path_buf(),
            });
        }
        Ok(Isolation::Process {
            program: std::env::current_exe()?,
        })
    }
}

/// Reads PDFs under an [`Isolation`] and [`ExtractLimits`], reading pages without text by OCR
/// as [`OcrOptions`] say.
#[derive(Debug, Clone)]
pub struct Extractor {
    pub isolation: Isolation,
    pub limits: ExtractLimits,
    pub ocr: OcrOptions,
}

/// Environment variable that turns an executable into an extraction worker for one file.
pub const WORKER_ENV: &str = "QUIRE_EXTRACT_WORKER";

/// The OCR languages of a worker (`eng+chi_sim`; empty: no OCR).
const WORKER_OCR_ENV: &str = "QUIRE_EXTRACT_OCR";

/// Call first thing in `main` of every executable that uses [`Isolation::Process`]: when the
/// process was started as a worker it extracts the file, writes the result to stdout and exits.
pub fn run_worker_if_requested() {
    let Some(path) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    // The parent classifies panics from our exit status and stderr; the default hook's
    // backtrace hint is noise there.
    std::panic::set_hook(Box::new(|info| {
        let _ = writeln!(std::io::stderr(), "panic: {info}");
    }));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut emit = |msg: &WorkerMessage| {
        let line = serde_json::to_string(msg).expect("worker messages serialise");
        // A closed pipe means the parent gave up on us: nothing left to do.
        if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
            std::process::exit(0);
        }
    };
    let ocr = OcrOptions::parse(&std::env::var(WORKER_OCR_ENV).unwrap_or_default());
    match extract_streaming(Path::new(&path), &ocr, &mut |msg| emit(&msg)) {
        Ok(()) => emit(&WorkerMessage::Done),
        Err(e) => emit(&WorkerMessage::Error {
            kind: e.kind,
            message: e.message,
        }),
    }
    std::process::exit(0);
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum WorkerMessage {
    Start {
        pages: u32,
        title: Option<String>,
    },
    Page {
        number: u32,
        text: String,
        /// Why the page's text could not be read, when it could not.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// Characters drawn with a font that does not say which letters they are.
        #[serde(default)]
        undecoded: u64,
        /// The words' boxes, when the text was read by OCR.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ocr: Option<OcrLayer>,
        /// Why OCR could not read the page, for people.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ocr_error: Option<String>,
    },
    /// OCR starts on page `number`, the `index`th of `of` pages without text.
    Ocr {
        number: u32,
        index: u32,
        of: u32,
    },
    Error {
        kind: FailureKind,
        message: String,
    },
    Done,
}

impl Extractor {
    pub fn new(isolation: Isolation) -> Extractor {
        Extractor {
            isolation,
            limits: ExtractLimits::default(),
            ocr: OcrOptions::default_for(None),
        }
    }

    /// Extracts `path`, calling `on_page` as pages are read.
    pub fn extract(
        &self,
        path: &Path,
        on_page: &mut dyn FnMut(ReadProgress),
    ) -> Result<ExtractedPdf, ExtractError> {
        let meta = std::fs::metadata(path).map_err(|e| {
            ExtractError::new(
                FailureKind::Unreadable,
                format!("cannot read the file: {e}"),
            )
        })?;
        if meta.len() > self.limits.max_file_bytes {
            return Err(ExtractError::new(
                FailureKind::TooLarge,
                format!(
                    "the file is {} MiB, over the {} MiB limit",
                    meta.len() >> 20,
                    self.limits.max_file_bytes >> 20
                ),
            ));
        }
        check_header(path)?;
        let (tx, rx) = mpsc::channel::<WorkerMessage>();
        let finish = match &self.isolation {
            Isolation::Process { program } => self.spawn_worker(program, path, tx)?,
            Isolation::Thread => {
                let path = path.to_path_buf();
                let ocr = self.ocr.clone();
                std::thread::spawn(move || {
                    let tx2 = tx.clone();
                    let result = catch_unwind(AssertUnwindSafe(|| {
                        extract_streaming(&path, &ocr, &mut |m| {
                            let _ = tx2.send(m);
                        })
                    }));
                    let last = match result {
                        Ok(Ok(())) => WorkerMessage::Done,
                        Ok(Err(e)) => WorkerMessage::Error {
                            kind: e.kind,
                            message: e.message,
                        },
                        Err(_) => {
                            let e = ExtractError::reader_crashed();
                            WorkerMessage::Error {
                                kind: e.kind,
                                message: e.message,
                            }
                        }
                    };
                    let _ = tx.send(last);
                });
                Finish::Thread
            }
        };
        let result = self.collect(&rx, on_page);
        finish.end(result.is_ok())?;
        result
    }

    fn collect(
        &self,
        rx: &mpsc::Receiver<WorkerMessage>,
        on_page: &mut dyn FnMut(ReadProgress),
    ) -> Result<ExtractedPdf, ExtractError> {
        let timeout = self.limits.page_timeout;
        let timed_out = || {
            ExtractError::new(
                FailureKind::TimedOut,
                format!(
                    "reading a page took longer than {} s, so the file was skipped",
                    timeout.as_secs()
                ),
            )
        };
        let mut title = None;
        let mut pages = Vec::new();
        let mut page_errors: Vec<String> = Vec::new();
        let mut undecoded = 0;
        let mut ocr = Vec::new();
        let mut ocr_failures = Vec::new();
        let mut progress = ReadProgress::default();
        loop {
            match rx.recv_timeout(timeout) {
                Ok(WorkerMessage::Start { pages: n, title: t }) => {
                    title = t;
                    pages.reserve(n as usize);
                    progress.pages_total = n;
                    on_page(progress);
                }
                Ok(WorkerMessage::Page {
                    number,
                    text,
                    error,
                    undecoded: n,
                    ocr: layer,
                    ocr_error,
                }) => {
                    page_errors.extend(error);
                    undecoded += n;
                    pages.push(Page { number, text });
                    ocr.extend(layer);
                    ocr_failures.extend(ocr_error.map(|e| format!("page {number}: {e}")));
                    progress.pages_done = pages.len() as u32;
                    on_page(progress);
                }
                Ok(WorkerMessage::Ocr { index, of, .. }) => {
                    progress.ocr_page = index;
                    progress.ocr_pages = of;
                    on_page(progress);
                }
                Ok(WorkerMessage::Error { kind, message }) => {
                    return Err(ExtractError { kind, message })
                }
                Ok(WorkerMessage::Done) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => return Err(timed_out()),
                // The worker died without a last word: the caller turns its exit status into
                // an error.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(ExtractError::reader_crashed())
                }
            }
        }
        if pages.is_empty() {
            return Err(ExtractError::damaged("it has no pages"));
        }
        // Pages read by OCR come after the others.
        pages.sort_by_key(|p| p.number);
        if pages.iter().all(|p| p.text.trim().is_empty()) {
            if !ocr_failures.is_empty() {
                return Err(ExtractError::new(
                    FailureKind::NoText,
                    format!(
                        "none of its {} page(s) has a text layer, and OCR could not read {}",
                        pages.len(),
                        ocr_failures.join("; ")
                    ),
                ));
            }
            if progress.ocr_pages > 0 {
                return Err(ExtractError::new(
                    FailureKind::NoText,
                    format!(
                        "none of its {} page(s) has a text layer, and OCR ({}) found no text \
                         on them",
                        pages.len(),
                        self.ocr.spec()
                    ),
                ));
            }
            // Pages the reader failed on are not evidence of a scan. Their errors are the
            // reader's own words, not the user's: only their number is shown.
            if !page_errors.is_empty() {
                return Err(ExtractError::new(
                    FailureKind::Damaged,
                    format!(
                        "the text of {} of its {} pages could not be read; the file is probably \
                         damaged or uses fonts or encodings Quire cannot read",
                        page_errors.len(),
                        pages.len(),
                    ),
                ));
            }
            if undecoded > 0 {
                return Err(ExtractError::new(
                    FailureKind::NoText,
                    format!(
                        "its text ({undecoded} characters) is drawn with fonts that do not say \
                         which letters they show, so it cannot be read; run OCR on it first"
                    ),
                ));
            }
            return Err(ExtractError::no_text(pages.len(), &self.ocr));
        }
        Ok(ExtractedPdf {
            title,
            pages,
            undecoded,
            ocr,
            ocr_failures,
        })
    }

    fn spawn_worker(
        &self,
        program: &Path,
        path: &Path,
        tx: mpsc::Sender<WorkerMessage>,
    ) -> Result<Finish, ExtractError> {
        let mut command = Command::new(program);
        command
            .env(WORKER_ENV, path)
            .env(WORKER_OCR_ENV, self.ocr.spec())
            // Tesseract's OpenMP threads fight over few cores: a page took 14 s with them on
            // 2 cores, 1.4 s with one thread (bench/ocr.sh); pages are read alongside the
            // embedding of others instead. Only the environment at start-up sets this limit.
            .env(
                "OMP_THREAD_LIMIT",
                std::env::var("OMP_THREAD_LIMIT").unwrap_or_else(|_| "1".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            let limit = self.limits.max_memory_bytes;
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    let rl = libc::rlimit {
                        rlim_cur: limit as _,
                        rlim_max: limit as _,
                    };
                    if libc::setrlimit(libc::RLIMIT_AS, &rl) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = command.spawn().map_err(|e| {
            ExtractError::new(
                FailureKind::Unreadable,
                format!("cannot start the PDF reader {}: {e}", program.display()),
            )
        })?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<WorkerMessage>(&line) {
                    Ok(msg) => {
                        if tx.send(msg).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        let err_reader = std::thread::spawn(move || {
            let mut buf = String::new();
            let _ = stderr.read_to_string(&mut buf);
            buf
        });
        Ok(Finish::Process { child, err_reader })
    }
}

enum Finish {
    Thread,
    Process {
        child: std::process::Child,
        err_reader: std::thread::JoinHandle<String>,
    },
}

impl Finish {
    /// Reaps the worker. When extraction failed because the worker died, its exit status and
    /// last words replace the generic error.
    fn end(self, succeeded: bool) -> Result<(), ExtractError> {
        let Finish::Process {
            mut child,
            err_reader,
        } = self
        else {
            return Ok(());
        };
        if succeeded {
            let _ = child.wait();
            return Ok(());
        }
        // Either it reported an error and exits by itself, or it hangs: don't wait for it.
        let status = match child.try_wait() {
            Ok(Some(status)) => Some(status),
            _ => {
                std::thread::sleep(Duration::from_millis(50));
                match child.try_wait() {
                    Ok(Some(status)) => Some(status),
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        None
                    }
                }
            }
        };
        let Some(status) = status else { return Ok(()) };
        if status.success() {
            return Ok(());
        }
        let stderr = err_reader.join().unwrap_or_default();
        if stderr.contains("memory allocation") || stderr.contains("capacity overflow") {
            return Err(ExtractError::new(
                FailureKind::TooLarge,
                "reading it needs more memory than the reader is allowed",
            ));
        }
        // A panic's text (on stderr after "panic: ") or a signal is not for the user.
        Err(ExtractError::reader_crashed())
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "the reader crashed".to_string()
    }
}

/// Loads the document; when lopdf cannot read its cross-reference table or trailer, once more
/// with a table rebuilt by scanning the file for objects (see `repair`).
fn load_document(bytes: &[u8]) -> Result<lopdf::Document, ExtractError> {
    let first = match lopdf::Document::load_mem(bytes) {
        Ok(doc) => return Ok(doc),
        Err(lopdf::Error::Decryption(_)) | Err(lopdf::Error::InvalidPassword) => {
            return Err(encrypted())
        }
        Err(e) => e,
    };
    let repaired = catch_unwind(AssertUnwindSafe(|| {
        repair::rebuild_xref(bytes).and_then(|fixed| lopdf::Document::load_mem(&fixed).ok())
    }));
    match repaired {
        Ok(Some(doc)) if !doc.get_pages().is_empty() => Ok(doc),
        _ => Err(ExtractError::damaged(load_error_reason(&first))),
    }
}

/// What lopdf's load error means, in words for a person. (lopdf's `ParseError` and
/// `XrefError` are not exported, so their Debug names are matched.)
fn load_error_reason(e: &lopdf::Error) -> &'static str {
    let debug = format!("{e:?}");
    match e {
        lopdf::Error::Decompress(_) => "a compressed part of it cannot be unpacked",
        lopdf::Error::ObjectNotFound(_) | lopdf::Error::ReferenceCycle(_) => {
            "it refers to parts that are missing"
        }
        lopdf::Error::Xref(_) | lopdf::Error::MissingXrefEntry | lopdf::Error::InvalidOffset(_) => {
            "its cross-reference table is broken"
        }
        _ if debug.contains("Trailer") || debug.contains("Xref") => {
            "its cross-reference table is broken"
        }
        _ if debug.contains("FileHeader") => "its header is not valid",
        _ if debug.contains("EndOfInput") => "it is cut short",
        _ => "its objects cannot be read",
    }
}

/// PDF files start with "%PDF-" within their first KiB (some have junk before it).
fn check_header(path: &Path) -> Result<(), ExtractError> {
    let mut head = [0u8; 1024];
    let mut file = std::fs::File::open(path).map_err(|e| {
        ExtractError::new(
            FailureKind::Unreadable,
            format!("cannot open the file: {e}"),
        )
    })?;
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => {
                return Err(ExtractError::new(
                    FailureKind::Unreadable,
                    format!("cannot read the file: {e}"),
                ))
            }
        }
    }
    if n == 0 {
        return Err(ExtractError::new(FailureKind::NotPdf, "the file is empty"));
    }
    if !head[..n].windows(5).any(|w| w == b"%PDF-") {
        return Err(ExtractError::new(
            FailureKind::NotPdf,
            "not a PDF file (it has no %PDF header)",
        ));
    }
    Ok(())
}

/// The extraction itself, in whatever process or thread runs it. Pages that fail on their own
/// yield empty text rather than losing the whole document.
fn extract_streaming(
    path: &Path,
    ocr: &OcrOptions,
    emit: &mut dyn FnMut(WorkerMessage),
) -> Result<(), ExtractError> {
    let bytes = std::fs::read(path).map_err(|e| {
        ExtractError::new(
            FailureKind::Unreadable,
            format!("cannot read the file: {e}"),
        )
    })?;
    extract_from_bytes(bytes, ocr, emit)
}

/// [`extract_streaming`] on a file's bytes. A panic of the reader while it loads the document
/// (caught here) or reads a page (caught per page) is a failure described in words; nothing
/// escapes.
fn extract_from_bytes(
    bytes: Vec<u8>,
    ocr: &OcrOptions,
    emit: &mut dyn FnMut(WorkerMessage),
) -> Result<(), ExtractError> {
    let opened = catch_unwind(AssertUnwindSafe(|| {
        let mut doc = load_document(&bytes)?;
        if doc.is_encrypted() && doc.decrypt("").is_err() {
            return Err(encrypted());
        }
        let pages = doc.get_pages();
        let title = pdf_title(&doc);
        Ok((doc, pages, title))
    }));
    let (doc, pages, title) = opened.map_err(|_| ExtractError::reader_crashed())??;
    // The renderer for OCR opens the bytes again; without OCR they are not needed any more.
    let bytes = if ocr.enabled() { bytes } else { Vec::new() };
    emit(WorkerMessage::Start {
        pages: pages.len() as u32,
        title,
    });
    // One processor for the whole document: it keeps the fonts it has parsed (see
    // vendor/pdf-extract/QUIRE.md).
    let no_resources = lopdf::Dictionary::new();
    let mut processor = pdf_extract::Processor::new();
    let mut without_text = Vec::new();
    for &number in pages.keys() {
        let raw = catch_unwind(AssertUnwindSafe(|| {
            page_text(&doc, &pages, &mut processor, &no_resources, number)
        }));
        let (text, error, undecoded) = match raw {
            Ok(Ok((s, undecoded))) => (clean_page(&s), None, undecoded),
            Ok(Err(e)) => (String::new(), Some(e.to_string()), 0),
            Err(panic) => (String::new(), Some(panic_message(&panic)), 0),
        };
        let scan = || ocr::largest_image(&doc, pages[&number]);
        if ocr.enabled() && needs_ocr(&text, undecoded, scan) {
            without_text.push(Unread {
                number,
                text,
                error,
                undecoded,
            });
            continue;
        }
        emit(WorkerMessage::Page {
            number,
            text,
            error,
            undecoded,
            ocr: None,
            ocr_error: None,
        });
    }
    if !without_text.is_empty() {
        read_by_ocr(&bytes, &doc, &pages, without_text, ocr, emit);
    }
    Ok(())
}

/// A page left for OCR, with what the text layer gave (kept when OCR cannot read it either).
struct Unread {
    number: u32,
    text: String,
    error: Option<String>,
    undecoded: u64,
}

/// A page is read by OCR when it has no text; when most of its characters are drawn with fonts
/// that do not say which letters they are; or when it is a scan with a stamp: a few words of
/// text (a Bates number, a page number, a scanner's footer) over a page-sized image.
fn needs_ocr(text: &str, undecoded: u64, largest_image: impl FnOnce() -> (u64, u64)) -> bool {
    let read = text.chars().filter(|c| !c.is_whitespace()).count() as u64;
    if read == 0 || undecoded > read {
        return true;
    }
    if read >= STAMP_CHARS {
        return false;
    }
    let (w, h) = largest_image();
    w.saturating_mul(h) >= SCAN_PIXELS
}

/// Fewer characters than this over a scan-sized image are a stamp, not the page's text.
const STAMP_CHARS: u64 = 80;

/// An image this large (pixels) is a scanned page: a letter page at 150 dpi has 2.1 million.
const SCAN_PIXELS: u64 = 1_500_000;

/// Reads `numbers` (pages without text) by OCR and emits them, each with its words' boxes, or
/// empty with the reason OCR could not read it. One page's failure never stops the others.
fn read_by_ocr(
    bytes: &[u8],
    doc: &lopdf::Document,
    pages: &std::collections::BTreeMap<u32, lopdf::ObjectId>,
    unread: Vec<Unread>,
    options: &OcrOptions,
    emit: &mut dyn FnMut(WorkerMessage),
) {
    let mut started: Option<Result<(ocr::Renderer, ocr::Recognizer), String>> = None;
    let of = unread.len() as u32;
    for (i, page) in unread.into_iter().enumerate() {
        let number = page.number;
        emit(WorkerMessage::Ocr {
            number,
            index: i as u32 + 1,
            of,
        });
        let tools = started.get_or_insert_with(|| {
            Ok((ocr::Renderer::open(bytes)?, ocr::Recognizer::new(options)?))
        });
        let result = match tools {
            Err(e) => Err(e.clone()),
            Ok((renderer, recognizer)) => catch_unwind(AssertUnwindSafe(|| {
                ocr_page(doc, pages, renderer, recognizer, number)
            }))
            .unwrap_or_else(|_| Err("the OCR engine failed on it".to_string())),
        };
        let result = result.and_then(|read| {
            if read.confidence < ocr::UNREADABLE && !read.words.is_empty() {
                return Err(format!(
                    "its text could not be made out (confidence {:.0} % with the languages {}); \
                     it may be in a language whose OCR data is not chosen or installed",
                    read.confidence,
                    options.spec()
                ));
            }
            Ok(read)
        });
        emit(match result {
            // A blank page (or one of pictures only): nothing to keep, nothing uncertain.
            Ok(read) if read.words.is_empty() => WorkerMessage::Page {
                number,
                text: page.text,
                error: page.error,
                undecoded: page.undecoded,
                ocr: None,
                ocr_error: None,
            },
            Ok(read) => WorkerMessage::Page {
                number,
                text: read.text,
                error: None,
                undecoded: 0,
                ocr: Some(OcrLayer {
                    page: number,
                    confidence: read.confidence,
                    words: read.words,
                }),
                ocr_error: None,
            },
            // What the text layer had stays.
            Err(e) => WorkerMessage::Page {
                number,
                text: page.text,
                error: page.error,
                undecoded: page.undecoded,
                ocr: None,
                ocr_error: Some(e),
            },
        });
    }
}

fn ocr_page(
    doc: &lopdf::Document,
    pages: &std::collections::BTreeMap<u32, lopdf::ObjectId>,
    renderer: &ocr::Renderer,
    recognizer: &mut ocr::Recognizer,
    number: u32,
) -> Result<ocr::OcrText, String> {
    if let Some(&id) = pages.get(&number) {
        let (w, h) = ocr::largest_image(doc, id);
        if w.saturating_mul(h) > ocr::MAX_IMAGE_PIXELS {
            return Err(format!(
                "its image is {w} × {h} pixels, over the limit of {} million",
                ocr::MAX_IMAGE_PIXELS / 1_000_000
            ));
        }
    }
    let image = renderer.render(number, ocr::OCR_DPI)?;
    recognizer.read(&image)
}

/// One page as the extraction child reports it: its text, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageResult {
    pub page: Page,
    /// The reader's own error for this page (not for people: see [`Extractor::extract`]).
    pub error: Option<String>,
}

/// What the extraction child does with a file's bytes, in this thread and without its limits
/// on time and memory: the page count and each page's result. For fuzzing and tests; everyone
/// else uses [`Extractor`].
#[doc(hidden)]
pub fn extract_in_this_thread(bytes: Vec<u8>) -> Result<(u32, Vec<PageResult>), ExtractError> {
    let mut count = 0;
    let mut pages = Vec::new();
    extract_from_bytes(bytes, &OcrOptions::off(), &mut |message| match message {
        WorkerMessage::Start { pages, .. } => count = pages,
        WorkerMessage::Page {
            number,
            text,
            error,
            ..
        } => pages.push(PageResult {
            page: Page { number, text },
            error,
        }),
        WorkerMessage::Error { .. } | WorkerMessage::Done | WorkerMessage::Ocr { .. } => {}
    })?;
    Ok((count, pages))
}

/// One page's raw text through `processor`, which keeps the fonts it has parsed for the next
/// pages of the same document, and how many characters on it could not be decoded.
fn page_text<'a>(
    doc: &'a lopdf::Document,
    pages: &std::collections::BTreeMap<u32, lopdf::ObjectId>,
    processor: &mut pdf_extract::Processor<'a>,
    no_resources: &'a lopdf::Dictionary,
    number: u32,
) -> Result<(String, u64), pdf_extract::OutputError> {
    let mut s = String::new();
    let mut plain = pdf_extract::PlainTextOutput::new(&mut s);
    let mut output = Counting {
        inner: &mut plain,
        undecoded: 0,
    };
    pdf_extract::output_doc_page_with(doc, pages, processor, no_resources, &mut output, number)?;
    let undecoded = output.undecoded;
    Ok((s, undecoded))
}

/// Passes everything on, counting characters that a font could not decode (an empty string:
/// no ToUnicode map, encoding or font program says what they are).
struct Counting<'o> {
    inner: &'o mut dyn pdf_extract::OutputDev,
    undecoded: u64,
}

impl pdf_extract::OutputDev for Counting<'_> {
    fn begin_page(
        &mut self,
        page_num: u32,
        media_box: &pdf_extract::MediaBox,
        art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), pdf_extract::OutputError> {
        self.inner.begin_page(page_num, media_box, art_box)
    }
    fn end_page(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.inner.end_page()
    }
    fn output_character(
        &mut self,
        trm: &pdf_extract::Transform,
        width: f64,
        spacing: f64,
        font_size: f64,
        char: &str,
    ) -> Result<(), pdf_extract::OutputError> {
        if char.is_empty() {
            self.undecoded += 1;
        }
        self.inner
            .output_character(trm, width, spacing, font_size, char)
    }
    fn begin_word(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.inner.begin_word()
    }
    fn end_word(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.inner.end_word()
    }
    fn end_line(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.inner.end_line()
    }
}

fn encrypted() -> ExtractError {
    ExtractError::new(
        FailureKind::Encrypted,
        "the PDF is encrypted with a password; save an unprotected copy and add that",
    )
}

fn pdf_title(doc: &lopdf::Document) -> Option<String> {
    let info = doc.trailer.get(b"Info").ok()?;
    let info = match info {
        lopdf::Object::Reference(id) => doc.get_dictionary(*id).ok()?,
        lopdf::Object::Dictionary(d) => d,
        _ => return None,
    };
    let raw = info.get(b"Title").ok()?.as_str().ok()?;
    let title = decode_pdf_string(raw);
    let title = clean_page(&title).replace('\n', " ");
    let useful = title.chars().filter(|c| c.is_alphanumeric()).count() >= 3
        && !title.to_ascii_lowercase().starts_with("microsoft word")
        && !title.to_ascii_lowercase().ends_with(".dvi");
    useful.then_some(title)
}

/// PDF text strings are UTF-16BE with a BOM, or PDFDocEncoding (close enough to Latin-1 here).
fn decode_pdf_string(raw: &[u8]) -> String {
    if raw.len() >= 2 && raw[0] == 0xFE && raw[1] == 0xFF {
        let units: Vec<u16> = raw[2..]
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else if raw.starts_with(&[0xEF, 0xBB, 0xBF]) {
        String::from_utf8_lossy(&raw[3..]).into_owned()
    } else {
        raw.iter().map(|&b| b as char).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_read_only_in_part_says_how_much_was_lost() {
        let pdf = |text: &str, undecoded: u64| ExtractedPdf {
            title: None,
            pages: vec![Page {
                number: 1,
                text: text.to_string(),
            }],
            undecoded,
            ocr: vec![],
            ocr_failures: vec![],
        };
        let english = "word ".repeat(2000);
        // A few symbols of a formula: not worth a word.
        assert_eq!(pdf(&english, 12).loss(), None);
        // 60 characters of 8,000: under 1 %.
        assert_eq!(pdf(&english, 60).loss(), None);
        let loss = pdf("LaTeX TeX Live MiKTeX", 900).loss().unwrap();
        assert!(
            loss.starts_with("900 of its characters could not be read"),
            "{loss}"
        );
        assert!(loss.ends_with("the other 18 were added"), "{loss}");
    }

    /// The per-document font cache (vendor/pdf-extract/QUIRE.md) gives, page for page, the text
    /// that upstream's per-page extraction (fonts parsed afresh on every page) gives. Real
    /// PDFs with many fonts; `QUIRE_FONT_CACHE_PDFS` (one path per line) checks others.
    #[test]
    fn font_cache_keeps_every_page_text() {
        let paths: Vec<String> = match std::env::var("QUIRE_FONT_CACHE_PDFS") {
            Ok(list) => std::fs::read_to_string(list)
                .unwrap()
                .lines()
                .map(String::from)
                .collect(),
            Err(_) => [
                "base/clsguide.pdf",
                "base/fntguide.pdf",
                "base/ltnews30.pdf",
            ]
            .iter()
            .map(|p| format!("/usr/share/doc/texlive-doc/latex/{p}"))
            .collect(),
        };
        let mut pages_compared = 0;
        for path in &paths {
            let Ok(doc) = lopdf::Document::load(path) else {
                continue;
            };
            let pages = doc.get_pages();
            let empty = lopdf::Dictionary::new();
            let mut processor = pdf_extract::Processor::new();
            for &n in pages.keys() {
                let fresh = catch_unwind(AssertUnwindSafe(|| {
                    let mut s = String::new();
                    let mut out = pdf_extract::PlainTextOutput::new(&mut s);
                    pdf_extract::output_doc_page(&doc, &mut out, n)
                        .map(|_| s)
                        .ok()
                }));
                let cached = catch_unwind(AssertUnwindSafe(|| {
                    page_text(&doc, &pages, &mut processor, &empty, n)
                        .ok()
                        .map(|(s, _)| s)
                }));
                assert_eq!(fresh.ok(), cached.ok(), "{path} page {n}");
                pages_compared += 1;
            }
        }
        assert!(pages_compared >= 50, "only {pages_compared} pages compared");
    }

    #[test]
    fn pdf_strings_decode() {
        assert_eq!(decode_pdf_string(b"Plain"), "Plain");
        assert_eq!(
            decode_pdf_string(&[0xFE, 0xFF, 0x6C, 0x49, 0x00, 0x41]),
            "汉A"
        );
    }

    #[test]
    fn failure_kinds_round_trip() {
        for kind in [
            FailureKind::NotPdf,
            FailureKind::TimedOut,
            FailureKind::NoText,
        ] {
            assert_eq!(FailureKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn random_bytes_are_not_a_pdf() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.pdf");
        std::fs::write(&path, b"\x00\x01garbage that is not a pdf").unwrap();
        let err = Extractor::new(Isolation::Thread)
            .extract(&path, &mut |_| {})
            .unwrap_err();
        assert_eq!(err.kind, FailureKind::NotPdf);
        std::fs::write(&path, b"").unwrap();
        let err = Extractor::new(Isolation::Thread)
            .extract(&path, &mut |_| {})
            .unwrap_err();
        assert_eq!(err.kind, FailureKind::NotPdf);
    }

    #[test]
    fn truncated_pdf_is_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.pdf");
        std::fs::write(&path, b"%PDF-1.5\n1 0 obj << /Type /Catalog").unwrap();
        let err = Extractor::new(Isolation::Thread)
            .extract(&path, &mut |_| {})
            .unwrap_err();
        assert_eq!(err.kind, FailureKind::Damaged, "{err}");
    }

    /// The fuzz target's entry reads a file's bytes as the child reads the file.
    #[test]
    fn bytes_in_this_thread_read_as_the_child_reads_the_file() {
        let path = Path::new("/usr/share/doc/texlive-doc/latex/base/lppl.pdf");
        let from_file = Extractor::new(Isolation::Thread)
            .extract(path, &mut |_| {})
            .unwrap();
        let (count, pages) = extract_in_this_thread(std::fs::read(path).unwrap()).unwrap();
        assert_eq!(count as usize, from_file.pages.len());
        let texts: Vec<&Page> = pages.iter().map(|p| &p.page).collect();
        assert_eq!(texts, from_file.pages.iter().collect::<Vec<_>>());
        assert!(pages.iter().all(|p| p.error.is_none()));
        let broken = extract_in_this_thread(b"%PDF-1.5\n1 0 obj << /Type".to_vec()).unwrap_err();
        assert_eq!(broken.kind, FailureKind::Damaged);
    }

    #[test]
    fn files_over_the_size_limit_are_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.pdf");
        std::fs::write(&path, vec![b'%'; 4096]).unwrap();
        let mut extractor = Extractor::new(Isolation::Thread);
        extractor.limits.max_file_bytes = 1024;
        let err = extractor.extract(&path, &mut |_| {}).unwrap_err();
        assert_eq!(err.kind, FailureKind::TooLarge);
        assert!(err.message.contains("limit"), "{}", err.message);
    }

    #[test]
    fn a_missing_file_is_unreadable() {
        let err = Extractor::new(Isolation::Thread)
            .extract(Path::new("/no/such/file.pdf"), &mut |_| {})
            .unwrap_err();
        assert_eq!(err.kind, FailureKind::Unreadable);
    }

    /// A one-line PDF and a shell script run in place of the extraction worker, in `dir`.
    #[cfg(unix)]
    fn stand_in_worker(dir: &Path, script: &str) -> (PathBuf, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let pdf = dir.join("odd.pdf");
        std::fs::write(&pdf, b"%PDF-1.5\n").unwrap();
        let program = dir.join("worker.sh");
        std::fs::write(&program, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        (pdf, program)
    }

    /// A worker that panics (its payload on stderr, as `run_worker_if_requested` writes it)
    /// is reported with a sentence, not the payload.
    #[cfg(unix)]
    #[test]
    fn a_reader_panic_is_reported_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let (pdf, program) = stand_in_worker(
            dir.path(),
            "echo 'panic: called `Result::unwrap()` on an `Err` value: \
             ObjectType { expected: \"Name\" }' >&2\nexit 101",
        );
        let err = Extractor::new(Isolation::Process { program })
            .extract(&pdf, &mut |_| {})
            .unwrap_err();
        assert_eq!(err.kind, FailureKind::Damaged);
        for jargon in ["panic", "unwrap", "ObjectType", "{", "exit status"] {
            assert!(!err.message.contains(jargon), "{}", err.message);
        }
        assert!(err.message.contains("PDF reader failed"), "{}", err.message);
    }

    #[test]
    fn pages_without_text_scans_with_stamps_and_undecodable_fonts_are_read_by_ocr() {
        let page_scan = || (2480, 3508);
        let figure = || (600, 400);
        assert!(needs_ocr("", 0, figure));
        assert!(needs_ocr("  \n", 0, figure));
        assert!(
            needs_ocr("ab", 300, figure),
            "mostly glyphs without letters"
        );
        assert!(
            needs_ocr("ACME-000123", 0, page_scan),
            "a stamp over a scan"
        );
        assert!(
            !needs_ocr("Figure 3: a plot.", 0, figure),
            "a short caption"
        );
        assert!(
            !needs_ocr(&"word ".repeat(40), 0, page_scan),
            "text over an image"
        );
    }

    /// Pages the reader fails on are counted in the message, their errors are not quoted.
    #[test]
    fn failed_pages_are_counted_not_quoted() {
        let (tx, rx) = mpsc::channel();
        tx.send(WorkerMessage::Start {
            pages: 1,
            title: None,
        })
        .unwrap();
        tx.send(WorkerMessage::Page {
            number: 1,
            text: String::new(),
            error: Some("assertion `left == right` failed\n  left: 221".into()),
            undecoded: 0,
            ocr: None,
            ocr_error: None,
        })
        .unwrap();
        tx.send(WorkerMessage::Done).unwrap();
        let err = Extractor::new(Isolation::Thread)
            .collect(&rx, &mut |_| {})
            .unwrap_err();
        assert_eq!(err.kind, FailureKind::Damaged);
        assert!(!err.message.contains("assertion"), "{}", err.message);
        assert!(err.message.contains("1 of its 1 pages"), "{}", err.message);
    }

    #[test]
    fn load_errors_are_described_in_words() {
        let err = load_document(b"%PDF-1.4\ngarbage without objects").unwrap_err();
        assert_eq!(err.kind, FailureKind::Damaged);
        assert!(
            err.message.starts_with("the PDF's structure is damaged"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("parse"), "{}", err.message);
    }

    #[cfg(unix)]
    #[test]
    fn a_hanging_reader_times_out() {
        let dir = tempfile::tempdir().unwrap();
        // A stand-in worker that never answers, like pdf-extract stuck in a loop.
        let (pdf, program) = stand_in_worker(dir.path(), "exec sleep 30");
        let mut extractor = Extractor::new(Isolation::Process { program });
        extractor.limits.page_timeout = Duration::from_millis(300);
        let started = std::time::Instant::now();
        let err = extractor.extract(&pdf, &mut |_| {}).unwrap_err();
        assert_eq!(err.kind, FailureKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
