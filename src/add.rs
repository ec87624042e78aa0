//! `quire add`: progress bars on a terminal, one line per file, a summary.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use quire_engine::{AddEvent, AddOptions, AddReport, AddStatus, Engine, FileOutcome};

/// Progress bars for `add` on a terminal: files overall, pages read, and the vectors of every
/// passage waiting for them.
struct Bars {
    files: ProgressBar,
    pages: ProgressBar,
    chunks: ProgressBar,
    /// The file the pages bar follows: two files are read at once, and the bar stays with one
    /// until it is stored.
    reading: Mutex<Reading>,
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
        chunks.set_style(style("vectors [{bar:29}] {pos}/{len} {per_sec} {wide_msg}"));
        files.enable_steady_tick(Duration::from_millis(250));
        Bars {
            files,
            pages,
            chunks,
            reading: Mutex::new(Reading::default()),
        }
    }

    fn show(&self, event: &AddEvent) {
        match event {
            AddEvent::Planned { files, .. } => self.files.set_length(*files as u64),
            AddEvent::Reading {
                path,
                pages_done,
                pages_total,
                ocr_page,
                ocr_pages,
            } => {
                let mut reading = self.reading.lock().unwrap_or_else(|p| p.into_inner());
                match reading.follow(path) {
                    Follow::Other => return,
                    Follow::New => {
                        self.pages.reset();
                        self.pages.set_message(short_name(path));
                    }
                    Follow::Same => {}
                }
                if *ocr_pages > 0 {
                    self.pages.set_message(format!(
                        "{}: OCR page {ocr_page} of {ocr_pages}",
                        short_name(path)
                    ));
                }
                self.pages.set_length(*pages_total as u64);
                self.pages.set_position(*pages_done as u64);
            }
            AddEvent::Embedding { .. } => {}
            AddEvent::Vectors {
                chunks_done,
                chunks_total,
                seconds_left,
            } => {
                self.chunks.set_length(*chunks_total as u64);
                self.chunks.set_position(*chunks_done as u64);
                if let Some(left) = seconds_left {
                    self.chunks
                        .set_message(format!("by meaning in {}", duration(*left)));
                }
            }
            AddEvent::Searchable { .. } => self.files.finish(),
            AddEvent::Finished(outcome) => {
                self.reading
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .stored(&outcome.path);
                self.files.inc(1)
            }
            AddEvent::Done { .. } => {
                self.files.finish_and_clear();
                self.pages.finish_and_clear();
                self.chunks.finish_and_clear();
            }
        }
    }
}

/// Which file's pages the bar shows while readers work on several at once.
#[derive(Default)]
struct Reading {
    shown: Option<PathBuf>,
}

/// What a reading event means for the pages bar.
#[derive(Debug, PartialEq)]
enum Follow {
    /// The file shown: update the bar.
    Same,
    /// A file to show from now on: start the bar afresh.
    New,
    /// Another reader's file: leave the bar alone.
    Other,
}

impl Reading {
    fn follow(&mut self, path: &Path) -> Follow {
        match &self.shown {
            Some(shown) if shown == path => Follow::Same,
            Some(_) => Follow::Other,
            None => {
                self.shown = Some(path.to_path_buf());
                Follow::New
            }
        }
    }

    /// A file was stored: once it is the one shown, the bar takes the next file read.
    fn stored(&mut self, path: &Path) {
        if self.shown.as_deref() == Some(path) {
            self.shown = None;
        }
    }
}

/// "40 s", "12 min", "1 h 5 min".
fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s.div_ceil(60)),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

fn short_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The line printed for a finished file (none for an unchanged file under progress bars).
pub fn outcome_line(outcome: &FileOutcome, json: bool, bars: bool) -> Option<String> {
    if json {
        return serde_json::to_string(outcome).ok();
    }
    match outcome.status {
        AddStatus::Failed => Some(format!(
            "failed     {}: {}",
            outcome.path.display(),
            outcome.error.as_deref().unwrap_or("unknown error")
        )),
        AddStatus::Unchanged if bars => None,
        status => Some(format!(
            "{:<10} {} ({} pages, {} chunks){}",
            status.as_str(),
            outcome.path.display(),
            outcome.pages,
            outcome.chunks,
            outcome
                .warning
                .as_ref()
                .map(|w| format!("\n           but: {w}"))
                .unwrap_or_default()
        )),
    }
}

pub fn add(
    engine: &Engine,
    paths: &[PathBuf],
    options: &AddOptions,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let bars = (!json && std::io::stderr().is_terminal()).then(Bars::new);
    let stdout = Mutex::new(std::io::stdout());
    let progress = |event: &AddEvent| {
        if let Some(b) = &bars {
            b.show(event);
        }
        if let AddEvent::Finished(outcome) = event {
            if let Some(line) = outcome_line(outcome, json, bars.is_some()) {
                let mut out = stdout.lock().unwrap_or_else(|p| p.into_inner());
                match &bars {
                    Some(b) => b.files.suspend(|| writeln!(out, "{line}")),
                    None => writeln!(out, "{line}"),
                }
                .ok();
            }
        }
        if let AddEvent::Searchable {
            documents,
            chunks_waiting,
            seconds,
        } = event
        {
            if !json && *documents > 0 && *chunks_waiting > 0 {
                let line = format!(
                    "{documents} document(s) searchable by words after {seconds:.1} s; \
                     making vectors for {chunks_waiting} passages so that they are found by \
                     meaning too"
                );
                match &bars {
                    Some(b) => b.files.suspend(|| eprintln!("{line}")),
                    None => eprintln!("{line}"),
                }
            }
        }
        true
    };
    let report = engine.add(paths, options, &progress)?;
    if !json {
        std::io::stdout().flush()?;
        summary(&report);
    }
    Ok(if report.failed() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn summary(report: &AddReport) {
    let count = |s: AddStatus| report.files.iter().filter(|f| f.status == s).count();
    if report.reindexed > 0 {
        eprintln!(
            "{} document(s) indexed again for the new embedding model, from their stored text",
            report.reindexed
        );
    }
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
    if report.chunks > 0 || report.chunks_embedded > 0 {
        eprintln!(
            "time: searchable by words after {:.1} s; reading PDFs {:.1} s (alongside the rest), chunking {:.1} s, embedding {:.1} s ({} chunks, {:.1} chunks/s on {}), storing {:.1} s, vector index {:.1} s",
            report.searchable_after,
            t.extract,
            t.chunk,
            t.embed,
            report.chunks_embedded,
            report.chunks_embedded as f64 / t.embed.max(1e-9),
            report.embedding_device,
            t.store,
            t.index
        );
    }
    if report.chunks_waiting > 0 {
        eprintln!(
            "{} passages still wait for vectors (found by their words until then); the next \
             `quire add` goes on with them",
            report.chunks_waiting
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_bar_stays_with_one_file_while_two_are_read() {
        let mut reading = Reading::default();
        let (a, b) = (Path::new("/docs/a.pdf"), Path::new("/docs/b.pdf"));
        assert_eq!(reading.follow(a), Follow::New);
        assert_eq!(reading.follow(b), Follow::Other);
        assert_eq!(reading.follow(a), Follow::Same);
        // Another file stored changes nothing; once a.pdf is stored, b.pdf takes the bar.
        reading.stored(b);
        assert_eq!(reading.follow(b), Follow::Other);
        reading.stored(a);
        assert_eq!(reading.follow(b), Follow::New);
        assert_eq!(reading.follow(b), Follow::Same);
    }
}
