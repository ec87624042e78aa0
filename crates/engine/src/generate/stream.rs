//! Generated token bytes on their way to the caller: whole characters only, stop sequences
//! found even when split over tokens, and the text before them handed on as it comes.

use std::time::{Duration, Instant};

use super::{Flow, StopReason};

/// Turns token bytes into text without ever splitting a character: bytes of an unfinished
/// UTF-8 sequence wait for the next token; invalid bytes become U+FFFD.
#[derive(Debug, Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.push_str(std::str::from_utf8(&self.pending[..valid]).expect("valid"));
                    match e.error_len() {
                        // Incomplete sequence at the end: keep it for the next token.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        Some(bad) => {
                            out.push('\u{FFFD}');
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    /// Whatever is left at the end (an unfinished character becomes U+FFFD).
    pub fn finish(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}

/// Holds back text that might be the start of a stop sequence, and finds the sequences even
/// when they arrive split over several pieces.
#[derive(Debug)]
pub struct StopScanner {
    stops: Vec<String>,
    held: String,
}

impl StopScanner {
    pub fn new(stops: Vec<String>) -> StopScanner {
        StopScanner {
            stops: stops.into_iter().filter(|s| !s.is_empty()).collect(),
            held: String::new(),
        }
    }

    /// Text that is safe to show, and whether a stop sequence was found (the text before it is
    /// returned; the sequence itself and anything after it are dropped).
    pub fn push(&mut self, piece: &str) -> (String, bool) {
        self.held.push_str(piece);
        let first_stop = self
            .stops
            .iter()
            .filter_map(|s| self.held.find(s.as_str()))
            .min();
        if let Some(at) = first_stop {
            let out = self.held[..at].to_string();
            self.held.clear();
            return (out, true);
        }
        // Keep the longest tail that could still grow into a stop sequence.
        let mut keep = 0;
        for stop in &self.stops {
            for (i, _) in stop.char_indices().skip(1) {
                if self.held.ends_with(&stop[..i]) {
                    keep = keep.max(i);
                }
            }
        }
        let cut = self.held.len() - keep;
        let out = self.held[..cut].to_string();
        self.held.drain(..cut);
        (out, false)
    }

    /// Text held back when generation ends.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

/// Token bytes on their way to the caller's callback: whole characters only, text that may
/// start a stop sequence held back, and the time of the first text noted.
pub(super) struct TextSink<'a> {
    utf8: Utf8Stream,
    scanner: StopScanner,
    on_text: &'a mut dyn FnMut(&str) -> Flow,
    started: Instant,
    first_text: Option<Duration>,
}

impl<'a> TextSink<'a> {
    pub fn new(
        stops: &[String],
        started: Instant,
        on_text: &'a mut dyn FnMut(&str) -> Flow,
    ) -> TextSink<'a> {
        TextSink {
            utf8: Utf8Stream::default(),
            scanner: StopScanner::new(stops.to_vec()),
            on_text,
            started,
            first_text: None,
        }
    }

    /// Hands on the text that one token's `bytes` complete (an empty piece when they complete
    /// none, so that the callback can stop generation at any token); `Some` when generation
    /// stops here.
    pub fn push(&mut self, bytes: &[u8]) -> Option<StopReason> {
        let text = self.utf8.push(bytes);
        let (shown, stopped) = self.scanner.push(&text);
        if self.emit(&shown) == Flow::Stop {
            return Some(StopReason::Cancelled);
        }
        stopped.then_some(StopReason::StopSequence)
    }

    /// Hands on the text held back, unless generation ended at the caller's wish or at a stop
    /// sequence.
    pub fn finish(&mut self, stop: StopReason) {
        if matches!(stop, StopReason::Cancelled | StopReason::StopSequence) {
            return;
        }
        let rest = self.utf8.finish();
        let (mut shown, _) = self.scanner.push(&rest);
        shown.push_str(&self.scanner.finish());
        if !shown.is_empty() {
            self.emit(&shown);
        }
    }

    /// When the first text was handed on, counted from `started`.
    pub fn first_text(&self) -> Option<Duration> {
        self.first_text
    }

    fn emit(&mut self, text: &str) -> Flow {
        if self.first_text.is_none() && !text.is_empty() {
            self.first_text = Some(self.started.elapsed());
        }
        (self.on_text)(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_stream_never_splits_a_character() {
        let text = "答案在第三页。";
        let bytes = text.as_bytes();
        let mut stream = Utf8Stream::default();
        let mut out = String::new();
        for b in bytes {
            let piece = stream.push(std::slice::from_ref(b));
            assert!(std::str::from_utf8(piece.as_bytes()).is_ok());
            out.push_str(&piece);
        }
        out.push_str(&stream.finish());
        assert_eq!(out, text);
        let mut stream = Utf8Stream::default();
        assert_eq!(stream.push(&[b'a', 0xFF, b'b']), "a\u{FFFD}b");
        assert_eq!(stream.push(&[0xE7, 0xAD]), "");
        assert_eq!(stream.finish(), "\u{FFFD}");
    }

    #[test]
    fn stop_scanner_finds_split_sequences_and_holds_prefixes() {
        let mut s = StopScanner::new(vec!["<end_of_turn>".into(), "\nQuestion:".into()]);
        assert_eq!(s.push("The answer"), ("The answer".to_string(), false));
        assert_eq!(s.push(" is 4.<end_"), (" is 4.".to_string(), false));
        assert_eq!(s.push("of_turn> more"), (String::new(), true));
        let mut s = StopScanner::new(vec!["\nQuestion:".into()]);
        assert_eq!(s.push("a\nQue"), ("a".to_string(), false));
        assert_eq!(s.push("ue"), ("\nQueue".to_string(), false));
        assert_eq!(s.push("<"), ("<".to_string(), false));
        assert_eq!(s.finish(), "");
    }

    #[test]
    fn text_sink_holds_stop_prefixes_and_flushes_the_rest_at_the_end() {
        let mut pieces = Vec::new();
        let mut on_text = |t: &str| {
            pieces.push(t.to_string());
            Flow::Continue
        };
        let stops = ["<end>".to_string()];
        let mut sink = TextSink::new(&stops, Instant::now(), &mut on_text);
        assert_eq!(sink.push("答".as_bytes()), None);
        assert_eq!(sink.push(&"案".as_bytes()[..1]), None);
        assert_eq!(sink.push(&"案".as_bytes()[1..]), None);
        assert_eq!(sink.push(b" <e"), None);
        assert!(sink.first_text().is_some());
        sink.finish(StopReason::MaxTokens);
        assert_eq!(pieces, ["答", "", "案", " ", "<e"]);
        let mut stop_at = |_: &str| Flow::Stop;
        let mut sink = TextSink::new(&stops, Instant::now(), &mut stop_at);
        assert_eq!(sink.push(b"x"), Some(StopReason::Cancelled));
        let mut go_on = |_: &str| Flow::Continue;
        let mut sink = TextSink::new(&stops, Instant::now(), &mut go_on);
        assert_eq!(sink.push(b"a<end>b"), Some(StopReason::StopSequence));
    }
}
