//! Checking a written answer against its sources, sentence by sentence. A citation is shown only
//! where its passage says what the sentence says; a citation the model put on the wrong source
//! moves to the one that supports the sentence, or goes. Sentences no passage supports are
//! marked, and the numbers, names and commands found in no passage are flagged.
//!
//! Plain data in, plain data out: [`crate::ask`] embeds the sentences and calls [`verify`].

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::markers::{segments, Segment};
use crate::text::{is_cjk, query_terms};

/// A sentence is supported by a passage that has all its numbers, names and commands, does not
/// say "not" where the sentence does not (or the other way round), holds at least this share of
/// its content words within one stretch of about [`WINDOW_WORDS`] words…
pub const WORDS: f32 = 0.6;
/// …and has a sentence this close to it in meaning (cosine, all-MiniLM-L6-v2): it says the same
/// thing, not just with the same words.
///
/// How these were chosen. On the answer benchmark's 780 labelled pairs (`answer_eval --pairs`:
/// each question's reference answer against its five passages, 223 holding every key fact, 557
/// none) the first rule — words over the whole passage ≥ 0.7, or ≥ 0.45 with meaning ≥ 0.75 —
/// had precision 0.966 and recall 0.39; but judged by hand on real answers only 9 of 12
/// (SmolLM2-135M) and then 12 of 19 (gemma-3-270m) of its chips were right: small models
/// rebuild the passage's words into other statements ("uses a maximum of 100,000 bytes" from
/// "100,000 bytes through 900,000 bytes (the default)"), say the opposite, or cite a passage
/// that shares the topic's words. Counting words within one stretch, checking "not", and
/// requiring closeness in meaning to one sentence keeps 10 of those 12 right chips and none of
/// the 7 wrong ones; on the pairs it has precision 1.0 (33 supported, none of the others) and
/// recall 0.15; on SmolLM2's answers, not looked at while choosing, 3 of its 4 chips are right
/// (docs/benchmarks.md, "Answers"). A chip is a promise, so precision wins over recall here; a
/// sentence that loses its chip is marked "not confirmed by your documents", never grounded.
pub const MEANING: f32 = 0.8;

/// A sentence whose every content word (at least [`ALL_WORDS_MIN`] of them), number, name and
/// command is found within one stretch of a passage needs less closeness in meaning: this much.
/// Such a sentence restates the passage ("the default LTchunksize is 200" of "\LTchunksize …
/// Default 200.", cosine 0.64); what the stricter rule
/// guards against is a sentence built from some of the passage's words that says something
/// else. Chosen on the answer benchmark's unconfirmed sentences (2026-12-04; each compared with
/// every sentence of its passages, short ones too): of gemma-3-270m's sentences holding all
/// their words, the true one scored 0.64, the wrong ones 0.16-0.54; of SmolLM2-135M's, one
/// wrong one (code the passage says "does not work", 0.79), which the "not" check now catches.
/// On the labelled pairs precision stays 1.0 and recall goes from 0.147 to 0.156.
pub const MEANING_ALL_WORDS: f32 = 0.6;

/// The fewest content words a sentence needs for [`MEANING_ALL_WORDS`]: one word found says
/// little ("the answer is no").
pub const ALL_WORDS_MIN: usize = 2;

/// Words that say where an answer comes from, not what it says: they never count as content.
const FRAMING: &[&str] = &[
    "according",
    "source",
    "sources",
    "document",
    "documents",
    "passage",
    "passages",
    "answer",
    "question",
    "mention",
    "mentions",
    "mentioned",
    "state",
    "states",
    "stated",
    "say",
    "says",
    "said",
    "also",
    "however",
    "therefore",
    "thus",
    "note",
    "here",
    "following",
    "given",
];

/// What an answer is, as the verifier and the coverage check decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The model's answer, checked: at least one of its sentences is supported by a source.
    Verified,
    /// The documents' own sentences (the extractive answer) are the answer: the model wrote
    /// nothing a source supports, declined, or was not asked.
    FromDocuments,
    /// No passage is about the question: the documents do not cover it (no model was asked).
    NotCovered,
}

/// How far a sentence of an answer is backed by the sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Support {
    /// At least one source says it; its citations are those sources.
    Supported,
    /// No source was found to say it: shown as "not confirmed by your documents".
    Unsupported,
    /// Too short to claim anything, or the model saying the documents do not answer.
    NoClaim,
}

/// A sentence (or list item) of an answer as checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct AnswerSentence {
    /// The sentence as written, without citation markers. Starts with a line break when the
    /// sentence starts a new line (list items, paragraphs).
    pub text: String,
    /// The sources whose passages support it: its citations.
    pub sources: Vec<usize>,
    pub support: Support,
    /// Sources the model cited for it that do not support it (not shown as citations).
    pub dropped: Vec<usize>,
    /// Sources among `sources` that Quire found, where the model cited none or the wrong one.
    pub added: Vec<usize>,
    /// Numbers, names and commands of the sentence that occur in no source.
    pub unknown: Vec<String>,
}

/// Why part of the model's output was left out of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum OmitReason {
    /// The model repeated a line or sentence it had already written.
    Repeated,
    /// The model went on to write the prompt's layout ("Answer:", "Question:", "Sources:"), or
    /// wrote a question (the user's, echoed, or one of its own).
    Scaffolding,
    /// An item of a list most of whose items no source supports (an invented enumeration).
    InventedListItem,
    /// "I don't know" next to sentences the sources do support.
    Hedge,
    /// No sentence: a marker or list label left alone ("[2]"), or a stray word that neither
    /// the question nor any source has ("mendatanguser").
    Fragment,
}

/// Model output left out of the answer, kept so that it can be shown on request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Omission {
    pub text: String,
    pub reason: OmitReason,
}

/// A sentence of the model's answer before checking: its text without markers, whether it
/// starts a line (and is a list item), and the sources the model cited for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub text: String,
    pub new_line: bool,
    pub list_item: bool,
    pub cited: Vec<usize>,
}

impl Claim {
    /// What the claim says: its text without a list label ("3.", "[11]").
    pub fn body(&self) -> &str {
        if self.list_item {
            without_label(&self.text)
        } else {
            &self.text
        }
    }
}

/// Labels the model writes when it copies the prompt's layout: what follows is not the answer.
const SCAFFOLDING: &[&str] = &["Answer:", "Question:", "Sources:", "Source:", "Context:"];

/// Splits the model's raw answer into claims (sentences and list items) and leaves out what must
/// never reach the user: echoed prompt labels and everything after them, and repeated lines or
/// sentences. `sources`: how many sources the model was given.
pub fn claims(answer: &str, sources: usize) -> (Vec<Claim>, Vec<Omission>) {
    let mut omitted = Vec::new();
    let answer = match scaffolding_at(answer) {
        Some(at) => {
            let rest = answer[at..].trim();
            if !rest.is_empty() {
                omitted.push(Omission {
                    text: rest.to_string(),
                    reason: OmitReason::Scaffolding,
                });
            }
            &answer[..at]
        }
        None => answer,
    };
    // The text without markers, and where each marker stood in it.
    let mut plain = String::new();
    let mut marks: Vec<(usize, Vec<usize>)> = Vec::new();
    for segment in segments(answer, sources) {
        match segment {
            Segment::Text { text } => plain.push_str(&text),
            Segment::Cite { sources } => {
                // "word [1]." reads "word." without its marker.
                plain.truncate(plain.trim_end_matches([' ', '\t']).len());
                marks.push((plain.len(), sources));
            }
        }
    }
    let spans = sentence_spans(&plain);
    let mut out: Vec<Claim> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (i, &(start, end)) in spans.iter().enumerate() {
        let next_start = spans.get(i + 1).map_or(usize::MAX, |s| s.0);
        let cited: Vec<usize> = marks
            .iter()
            .filter(|(at, _)| (i == 0 || *at > start) && *at < next_start)
            .flat_map(|(_, s)| s.iter().copied())
            .fold(Vec::new(), |mut acc, n| {
                if !acc.contains(&n) {
                    acc.push(n);
                }
                acc
            });
        let text = plain[start..end].trim().to_string();
        // "…", "...": nothing to show.
        if !text.chars().any(char::is_alphanumeric) {
            continue;
        }
        // A marker or label with nothing after it ("[2]", "3."): a fragment.
        if list_label(&text) && !without_label(&text).chars().any(char::is_alphanumeric) {
            omitted.push(Omission {
                text,
                reason: OmitReason::Fragment,
            });
            continue;
        }
        // The model copying Quire's instructions: they and what follows are not the answer.
        if echoes_instructions(&text) {
            omitted.push(Omission {
                text: plain[start..].trim().to_string(),
                reason: OmitReason::Scaffolding,
            });
            break;
        }
        // A question in an answer is the user's question echoed (or a new one), not an answer.
        if text.ends_with(['?', '？']) {
            omitted.push(Omission {
                text,
                reason: OmitReason::Scaffolding,
            });
            continue;
        }
        let key = comparable(&text);
        if !key.is_empty() && seen.contains(&key) {
            omitted.push(Omission {
                text,
                reason: OmitReason::Repeated,
            });
            continue;
        }
        seen.push(key);
        let new_line = i > 0 && plain[spans[i - 1].1..start].contains('\n');
        out.push(Claim {
            // "1. …; 2. …" written on one line is a list too.
            list_item: list_label(&text),
            text,
            new_line,
            cited,
        });
    }
    (out, omitted)
}

/// Whether `text` is one of the prompt's instructions, copied (in whole or nearly: four
/// content words or more, 80 % of them from one instruction sentence).
fn echoes_instructions(text: &str) -> bool {
    let words = content_words(text);
    if words.len() < 4 {
        return false;
    }
    instruction_words().iter().any(|theirs| {
        let shared = words.iter().filter(|w| theirs.contains(w)).count();
        shared * 5 >= words.len() * 4
    })
}

/// The content words of each sentence of the prompt's instructions (in every language Quire
/// asks in), worked out once.
fn instruction_words() -> &'static [Vec<String>] {
    static WORDS: std::sync::OnceLock<Vec<Vec<String>>> = std::sync::OnceLock::new();
    WORDS.get_or_init(|| {
        let questions = [
            "What is it?",
            "这是什么？",
            "これは何ですか？",
            "이것은 무엇입니까?",
        ];
        let mut instructions = format!(
            "{} {}",
            crate::answer::INSTRUCTIONS,
            crate::answer::NOT_FOUND_NOTE
        );
        for q in questions {
            instructions.push(' ');
            instructions.push_str(crate::answer::language_instruction(q));
        }
        crate::chunk::sentences(&instructions)
            .into_iter()
            .map(|(s, e)| content_words(&instructions[s..e]))
            .collect()
    })
}

/// The sentences of `plain`, a list label ("1.", "2)") kept with the item it labels.
fn sentence_spans(plain: &str) -> Vec<(usize, usize)> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for (start, end) in crate::chunk::sentences(plain) {
        if let Some(last) = spans.last_mut() {
            let label = &plain[last.0..last.1];
            let number = label.trim_end_matches(['.', ')']);
            let same_line = !plain[last.1..start].contains('\n');
            if same_line
                && !number.is_empty()
                && number.len() < label.len()
                && number.chars().all(|c| c.is_ascii_digit())
            {
                last.1 = end;
                continue;
            }
        }
        spans.push((start, end));
    }
    spans
}

/// Where the model starts copying the prompt's labels, if it does (not at the very start).
fn scaffolding_at(answer: &str) -> Option<usize> {
    SCAFFOLDING
        .iter()
        .filter_map(|label| answer.find(label))
        .filter(|&at| at > 0)
        .min()
}

/// Lower-case letters and digits only: two sentences that differ in nothing else repeat.
fn comparable(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a line starts with a list label: `1.`, `2)`, `-`, `*`, `•`, `[3]`, `(a)`.
pub fn list_label(text: &str) -> bool {
    let t = text.trim_start();
    if t.starts_with(['-', '*', '•', '–']) {
        return true;
    }
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && t[digits..].starts_with(['.', ')']) {
        return true;
    }
    let bracketed = |open: char, close: char| {
        t.starts_with(open)
            && t[1..]
                .find(close)
                .is_some_and(|end| end <= 4 && t[1..1 + end].chars().all(|c| c.is_alphanumeric()))
    };
    bracketed('[', ']') || bracketed('(', ')')
}

/// A list item without its label.
pub fn without_label(text: &str) -> &str {
    let t = text.trim_start();
    let end = match t.chars().next() {
        Some(c @ ('-' | '*' | '•' | '–')) => c.len_utf8(),
        Some('[') => t.find(']').map_or(0, |e| e + 1),
        Some('(') => t.find(')').map_or(0, |e| e + 1),
        _ => {
            let digits = t.chars().take_while(char::is_ascii_digit).count();
            digits + usize::from(digits > 0)
        }
    };
    t[end..].trim_start()
}

/// A word as compared: lower case, without a plural or verb ending.
fn stem(word: &str) -> String {
    let w = word.to_lowercase();
    if w.chars().count() < 5 || w.chars().any(is_cjk) {
        return w;
    }
    for suffix in ["ing", "ies", "ed", "es", "s"] {
        if let Some(base) = w.strip_suffix(suffix) {
            return if suffix == "ies" {
                format!("{base}y")
            } else {
                base.to_string()
            };
        }
    }
    w
}

/// The content words of a text, stemmed: what a sentence claims, in words.
pub fn content_words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for term in query_terms(text) {
        if FRAMING.contains(&term.as_str()) || term.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let s = stem(&term);
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The tokens of a text that must be found exactly where it is said to come from: numbers,
/// commands (`\foo`, `--bar`), paths, file names, identifiers (`snake_case`, `CamelCase`,
/// `ALLCAPS`).
pub fn key_tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for token in tokens(text) {
        let chars: Vec<char> = token.chars().collect();
        let inner_upper = chars.iter().skip(1).any(|c| c.is_uppercase());
        let key = chars.iter().any(char::is_ascii_digit)
            || token.starts_with('\\')
            || (token.starts_with('-') && chars.len() > 2)
            // A one-letter option ("-f", "-n"), not a dash.
            || (chars.len() == 2 && chars[0] == '-' && chars[1].is_ascii_alphabetic())
            || token.contains(['_', '/', '.', '@'])
            || (inner_upper && chars.len() > 1);
        let lower = token.to_lowercase();
        if key && !out.contains(&lower) {
            out.push(lower);
        }
    }
    out
}

/// A text split into the tokens [`key_tokens`] looks at (original case): on white space and
/// brackets, braces, quotes and separators (the angle brackets of a manual's placeholders,
/// "⟨env⟩", too), with sentence punctuation trimmed from both ends.
fn tokens(text: &str) -> Vec<String> {
    let normalised: String = text.nfkc().collect();
    normalised
        .split(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '{' | '}'
                        | '['
                        | ']'
                        | '('
                        | ')'
                        | '='
                        | ','
                        | ';'
                        | '"'
                        | '\''
                        | '`'
                        | '“'
                        | '”'
                        | '‘'
                        | '’'
                        | '<'
                        | '>'
                        | '⟨'
                        | '⟩'
                        | '|'
                )
        })
        .map(|t| {
            t.trim_matches(|c: char| matches!(c, '.' | ':' | '!' | '?' | '*'))
                .to_string()
        })
        .filter(|t| !t.is_empty() && t.chars().any(char::is_alphanumeric))
        .collect()
}

/// A source as the verifier reads it: its passage's words and tokens, and its sentences (or
/// lines) with their words and whether they are negated.
pub struct Evidence {
    pub n: usize,
    tokens: Vec<String>,
    parts: Vec<Part>,
}

/// A sentence or line of a passage as the verifier reads it.
struct Part {
    /// Content words, stemmed, sorted.
    words: Vec<String>,
    /// How many words it has (a window is [`WINDOW_WORDS`] words).
    length: usize,
    negated: bool,
    /// It ends with ':' — what follows is what it introduces ("This does not work:").
    introduces: bool,
}

/// A sentence is checked against a stretch of its passage about this many words long (two or
/// three sentences; lines of PDF text are shorter), not against the passage's words at large:
/// words picked from all over a passage say something else.
const WINDOW_WORDS: usize = 40;

/// The longest line that can finish the one before it ("does not work; nor does").
const CONTINUATION_WORDS: usize = 8;

/// Words that turn a statement into its opposite.
const NEGATIONS: &[&str] = &[
    "not",
    "no",
    "never",
    "none",
    "nothing",
    "neither",
    "nor",
    "cannot",
    "can't",
    "don't",
    "doesn't",
    "didn't",
    "isn't",
    "aren't",
    "wasn't",
    "weren't",
    "won't",
    "wouldn't",
    "shouldn't",
    "mustn't",
    "needn't",
    "couldn't",
    "hasn't",
    "haven't",
];

/// Whether a text says "not": an English negation, or 不/没/无/未/非 in CJK text.
pub fn negated(text: &str) -> bool {
    let lower = text.to_lowercase().replace('’', "'");
    lower
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .any(|w| NEGATIONS.contains(&w) || w.ends_with("n't"))
        || text
            .chars()
            .any(|c| matches!(c, '不' | '没' | '無' | '无' | '未' | '非'))
}

impl Evidence {
    pub fn new(n: usize, passage: &str) -> Evidence {
        let mut tokens: Vec<String> = tokens(passage).iter().map(|t| t.to_lowercase()).collect();
        tokens.sort();
        tokens.dedup();
        let spans = crate::chunk::sentences(passage);
        let mut parts: Vec<Part> = spans
            .iter()
            .map(|&(s, e)| {
                let text = &passage[s..e];
                let mut words = content_words(text);
                words.sort();
                Part {
                    words,
                    length: text.split_whitespace().count().max(1),
                    negated: negated(text),
                    introduces: text.trim_end().ends_with(':'),
                }
            })
            .collect();
        // A short negated line that starts in lower case finishes what comes before it: the
        // code a manual shows, then "does not work; nor does" (bench q78, SmolLM2-135M copied
        // the code as the answer).
        for i in 1..parts.len() {
            let (s, e) = spans[i];
            let text = passage[s..e].trim_start();
            let continues = text.starts_with(|c: char| c.is_lowercase());
            if continues && parts[i].negated && parts[i].length <= CONTINUATION_WORDS {
                parts[i - 1].negated = true;
            }
        }
        Evidence { n, tokens, parts }
    }

    /// The largest share of `words` found together in one stretch of the passage (about
    /// [`WINDOW_WORDS`] words), and whether that stretch says "not" where it speaks of them:
    /// the sentence of the stretch holding most of the words (at least two) is negated, or the
    /// sentence introducing it ("…does not work:") is.
    fn best_window(&self, words: &[String]) -> (f32, bool) {
        if words.is_empty() || self.parts.is_empty() {
            return (0.0, false);
        }
        let holds = |part: &Part| -> Vec<bool> {
            words
                .iter()
                .map(|w| part.words.binary_search(w).is_ok())
                .collect()
        };
        let found: Vec<Vec<bool>> = self.parts.iter().map(holds).collect();
        let mut best = (0usize, 0usize, 0usize);
        for start in 0..self.parts.len() {
            let mut seen = vec![false; words.len()];
            let mut length = 0;
            let mut end = start;
            while end < self.parts.len() {
                for (s, &f) in seen.iter_mut().zip(&found[end]) {
                    *s |= f;
                }
                length += self.parts[end].length;
                end += 1;
                if length >= WINDOW_WORDS {
                    break;
                }
            }
            let count = seen.iter().filter(|&&s| s).count();
            if count > best.0 {
                best = (count, start, end);
            }
            if end == self.parts.len() {
                break;
            }
        }
        let (count, start, end) = best;
        // The sentences of the stretch that say most of it: "not" there counts, "not" in a
        // sentence beside them about something else does not.
        let held: Vec<usize> = (start..end)
            .map(|i| found[i].iter().filter(|&&f| f).count())
            .collect();
        let most = held.iter().copied().max().unwrap_or(0);
        let mut negated = false;
        for (i, &h) in (start..end).zip(&held) {
            if h == most && h >= words.len().min(2) {
                negated |= self.parts[i].negated
                    || (i > 0 && self.parts[i - 1].introduces && self.parts[i - 1].negated);
            }
        }
        (count as f32 / words.len() as f32, negated)
    }

    /// Whether the passage has `word` (a content word, stemmed).
    pub fn has_word(&self, word: &str) -> bool {
        self.parts
            .iter()
            .any(|p| p.words.binary_search_by(|w| w.as_str().cmp(word)).is_ok())
    }

    /// Whether the passage has `token` (a key token, lower case) as it is, or as the command
    /// it names: an answer often writes a command without its backslash ("the default
    /// LTchunksize is 200" of "\LTchunksize … Default 200."). The other way round does not
    /// hold: "\foo" in an answer names a command the passage must show.
    pub fn has_token(&self, token: &str) -> bool {
        let found = |t: &str| self.tokens.binary_search_by(|x| x.as_str().cmp(t)).is_ok();
        found(token) || (!token.starts_with('\\') && found(&format!("\\{token}")))
    }
}

/// How one source bears on one sentence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Check {
    pub n: usize,
    /// How many content words the sentence has.
    pub words: usize,
    pub word_share: f32,
    pub meaning: f32,
    pub keys_found: bool,
    /// The sentence says "not" where the passage does not, or the other way round.
    pub contradicts: bool,
}

impl Check {
    pub fn supports(&self) -> bool {
        let close = self.word_share >= WORDS && self.meaning >= MEANING;
        let every_word = self.words >= ALL_WORDS_MIN
            && self.word_share >= 1.0
            && self.meaning >= MEANING_ALL_WORDS;
        self.keys_found && !self.contradicts && (close || every_word)
    }

    fn strength(&self) -> f32 {
        self.word_share + self.meaning
    }
}

/// Whether a claim claims anything beyond the question: content words the question does not
/// have, a number, name or command, or a "not" the question does not say ("the following are
/// not allowed" answers "Am I allowed…?"). A sentence in which the model says the documents do
/// not answer claims nothing.
pub fn is_claim(text: &str, asked: &Asked) -> bool {
    let question = &asked.words;
    // "The documents do not contain the answer" claims nothing; a sentence that says more
    // around such words ("…, which only works if the source does not contain other columns")
    // is checked like any other (bench q68).
    let content = content_words(text);
    if (says_not_found(text) || refuses(text)) && content.len() <= DECLINE_WORDS {
        return false;
    }
    let words = content.iter().filter(|w| !question.contains(w)).count();
    let cjk = text.chars().filter(|&c| is_cjk(c)).count();
    // A name the question already has ("\ProcessOptions", "FHS") adds nothing either.
    let new_key = key_tokens(text).into_iter().any(|k| {
        let k = stem(k.trim_start_matches(['\\', '-']));
        !question.contains(&k)
    });
    let denies = negated(text) && !asked.negated && !content.is_empty();
    words >= 2 || cjk >= 8 || new_key || denies
}

/// A decline ("I don't know", "the documents do not contain the answer") has at most this many
/// content words; more, and the sentence says something besides.
const DECLINE_WORDS: usize = 5;

/// Whether the answer says the documents do not answer the question.
pub fn says_not_found(answer: &str) -> bool {
    let a = answer.to_lowercase();
    [
        "do not contain",
        "does not contain",
        "don't contain",
        "doesn't contain",
        "not contain the answer",
        "no information",
        "not mentioned",
        "没有",
        "不包含",
    ]
    .iter()
    .any(|p| a.contains(p))
}

/// "I don't know", "I am not sure": the model declining, in its words.
pub fn refuses(text: &str) -> bool {
    let t = text.to_lowercase().replace('’', "'");
    [
        "i don't know",
        "i do not know",
        "i am not sure",
        "i'm not sure",
        "cannot answer",
    ]
    .iter()
    .any(|p| t.contains(p))
}

/// Checks each claim against the sources: `meaning[i][j]` is the closeness in meaning of claim
/// i to source j's closest sentence (`evidence[j]`). Returns the checked sentences and the
/// claims left out (invented list items, hedges beside supported sentences).
pub fn verify(
    question: &str,
    claims: &[Claim],
    evidence: &[Evidence],
    meaning: &[Vec<f32>],
) -> (Vec<AnswerSentence>, Vec<Omission>) {
    let asked = Asked::new(question);
    let mut omitted = Vec::new();
    // A stray word on its own ("mendatanguser", "vuonna"): one lower-case word without
    // punctuation that neither the question nor any source has. A word a source has stays
    // (a one-word answer: "ltxdoc").
    let stray = |claim: &Claim| {
        let t = claim.text.trim();
        t.chars().count() >= 3
            && t.chars().all(|c| c.is_alphabetic() && !c.is_uppercase())
            && !asked.words.iter().any(|w| w == t)
            && !evidence.iter().any(|e| e.has_token(t))
    };
    let (claims, meaning): (Vec<&Claim>, Vec<&Vec<f32>>) = claims
        .iter()
        .zip(meaning)
        .filter(|(claim, _)| {
            let drop = stray(claim);
            if drop {
                omitted.push(Omission {
                    text: claim.text.trim().to_string(),
                    reason: OmitReason::Fragment,
                });
            }
            !drop
        })
        .unzip();
    // A list's items are read with the sentence that introduces them ("The following are not
    // allowed: • echo -n" says echo -n is not allowed), when that sentence claims something.
    let mut intro: Option<&str> = None;
    let mut out: Vec<AnswerSentence> = Vec::with_capacity(claims.len());
    for (claim, meaning) in claims.iter().zip(meaning) {
        out.push(check_claim(claim, intro, &asked, evidence, meaning));
        if !claim.list_item {
            let body = claim.body().trim_end();
            intro = (body.ends_with([':', '：']) && is_claim(body, &asked)).then_some(body);
        }
    }
    // An invented enumeration: a list of three or more items, most of which no source supports.
    let mut keep = vec![true; out.len()];
    let mut i = 0;
    while i < claims.len() {
        if !claims[i].list_item {
            i += 1;
            continue;
        }
        let end = (i..claims.len())
            .find(|&j| !claims[j].list_item)
            .unwrap_or(claims.len());
        let items = end - i;
        let unsupported = (i..end)
            .filter(|&j| out[j].support != Support::Supported)
            .count();
        if items >= 3 && unsupported * 2 > items {
            for (j, k) in keep.iter_mut().enumerate().take(end).skip(i) {
                if out[j].support != Support::Supported {
                    *k = false;
                }
            }
        }
        i = end;
    }
    // "I don't know" beside supported sentences contradicts them.
    let any_supported = out.iter().any(|s| s.support == Support::Supported);
    for (j, claim) in claims.iter().enumerate() {
        if any_supported && refuses(&claim.text) {
            keep[j] = false;
        }
    }
    let mut kept = Vec::new();
    for ((sentence, claim), keep) in out.drain(..).zip(claims).zip(keep) {
        if keep {
            kept.push(sentence);
            continue;
        }
        omitted.push(Omission {
            text: sentence.text.trim().to_string(),
            reason: if claim.list_item {
                OmitReason::InventedListItem
            } else {
                OmitReason::Hedge
            },
        });
    }
    if let Some(first) = kept.first_mut() {
        first.text = first.text.trim_start().to_string();
    }
    (kept, omitted)
}

/// How each source bears on a claim's `body`: `meaning[j]` is its closeness in meaning to source
/// j's closest sentence (0 where missing).
pub fn checks(body: &str, evidence: &[Evidence], meaning: &[f32]) -> Vec<Check> {
    let words = content_words(body);
    let keys = key_tokens(body);
    let says_not = negated(body);
    evidence
        .iter()
        .zip(meaning.iter().copied().chain(std::iter::repeat(0.0)))
        .map(|(e, meaning)| {
            let (word_share, passage_says_not) = e.best_window(&words);
            Check {
                n: e.n,
                words: words.len(),
                word_share,
                meaning,
                keys_found: keys.iter().all(|k| e.has_token(k)),
                contradicts: says_not != passage_says_not,
            }
        })
        .collect()
}

/// The question as the verifier compares sentences with it.
pub struct Asked {
    /// Its content words.
    pub words: Vec<String>,
    /// It says "not" itself.
    pub negated: bool,
}

impl Asked {
    pub fn new(question: &str) -> Asked {
        Asked {
            words: content_words(question),
            negated: negated(question),
        }
    }
}

/// Checks one claim (read after `intro`, the sentence that introduces its list, if any).
fn check_claim(
    claim: &Claim,
    intro: Option<&str>,
    asked: &Asked,
    evidence: &[Evidence],
    meaning: &[f32],
) -> AnswerSentence {
    let text = if claim.new_line {
        format!("\n{}", claim.text)
    } else {
        claim.text.clone()
    };
    let read = match intro {
        Some(intro) if claim.list_item => format!("{intro} {}", claim.body()),
        _ => claim.body().to_string(),
    };
    let body = read.as_str();
    if !is_claim(body, asked) {
        return AnswerSentence {
            text,
            sources: Vec::new(),
            support: Support::NoClaim,
            dropped: claim.cited.clone(),
            added: Vec::new(),
            unknown: Vec::new(),
        };
    }
    let keys = key_tokens(body);
    let checks = checks(body, evidence, meaning);
    let unknown: Vec<String> = keys
        .iter()
        .filter(|k| !evidence.iter().any(|e| e.has_token(k)))
        .cloned()
        .collect();
    let supporting: Vec<&Check> = checks.iter().filter(|c| c.supports()).collect();
    let kept: Vec<usize> = claim
        .cited
        .iter()
        .copied()
        .filter(|n| supporting.iter().any(|c| c.n == *n))
        .collect();
    let sources = if !kept.is_empty() {
        kept
    } else {
        // Uncited, or cited wrongly: the source that supports it best, if any.
        supporting
            .iter()
            .max_by(|a, b| a.strength().total_cmp(&b.strength()))
            .map(|c| vec![c.n])
            .unwrap_or_default()
    };
    AnswerSentence {
        text,
        support: if sources.is_empty() {
            Support::Unsupported
        } else {
            Support::Supported
        },
        dropped: claim
            .cited
            .iter()
            .copied()
            .filter(|n| !sources.contains(n))
            .collect(),
        added: sources
            .iter()
            .copied()
            .filter(|n| !claim.cited.contains(n))
            .collect(),
        sources,
        unknown,
    }
}

/// The answer's text with the verified citations as `[n]` markers (before each sentence's final
/// punctuation), as stored and as plain-text front ends print it.
pub fn verified_text(sentences: &[AnswerSentence]) -> String {
    let mut out = String::new();
    for s in sentences {
        let text = s.text.as_str();
        if !out.is_empty() && !text.starts_with('\n') {
            out.push(' ');
        }
        if s.sources.is_empty() {
            out.push_str(text);
            continue;
        }
        let body = text.trim_end_matches(|c: char| {
            matches!(c, '.' | '!' | '?' | ';' | ':' | '。' | '！' | '？' | '；')
        });
        let numbers: Vec<String> = s.sources.iter().map(|n| n.to_string()).collect();
        out.push_str(body);
        out.push_str(&format!(" [{}]", numbers.join(", ")));
        out.push_str(&text[body.len()..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(text: &str, cited: &[usize]) -> Claim {
        Claim {
            text: text.into(),
            new_line: false,
            list_item: list_label(text),
            cited: cited.to_vec(),
        }
    }

    #[test]
    fn markers_belong_to_their_sentence_and_list_labels_are_not_citations() {
        let (found, omitted) = claims(
            "Use \\LoadClassWithOptions [2]. It passes the options on.[1]\n[1] 'class-name'\n\
             [2] 'option'",
            5,
        );
        assert!(omitted.is_empty());
        let texts: Vec<&str> = found.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Use \\LoadClassWithOptions.",
                "It passes the options on.",
                "[1] 'class-name'",
                "[2] 'option'"
            ]
        );
        assert_eq!(found[0].cited, [2]);
        assert_eq!(found[1].cited, [1]);
        assert!(found[2].list_item && found[2].new_line && found[2].cited.is_empty());
    }

    #[test]
    fn echoed_labels_and_repeats_are_left_out() {
        let (found, omitted) = claims(
            "According to the sources, I don't know about this option. Answer: I am not sure, \
             but it is possible to pass options.",
            5,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(omitted[0].reason, OmitReason::Scaffolding);
        assert!(omitted[0].text.starts_with("Answer: I am not sure"));
        let nothing = Asked::new("");
        assert!(
            !is_claim(&found[0].text, &nothing),
            "a refusal claims nothing"
        );
        assert!(is_claim(
            "This is because the \\multicols command prints multiple columns, and only one \
             column if the source does not contain any other columns.",
            &nothing
        ));
        let question = Asked::new("How do I pass options on to the base class?");
        assert!(!is_claim(
            "The following options are passed to the base class:",
            &question
        ));

        let (found, omitted) = claims(
            "The margin is set with geometry [1].\nThe margin is set with geometry [1].\n\
             The margin is set with geometry.",
            5,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(omitted.len(), 2);
        assert!(omitted.iter().all(|o| o.reason == OmitReason::Repeated));

        // gemma-3-270m copying the instructions (bench q1025): they and the rest go.
        let (found, omitted) = claims(
            "You may set a vacation flag. …\nAnswer the question below in a few sentences, \
             using only the sources above, never outside knowledge.\nEnd every sentence with \
             the number of the source it comes from in square brackets, like.\nWrite the answer \
             in the language of the question.",
            5,
        );
        let texts: Vec<&str> = found.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["You may set a vacation flag."]);
        assert_eq!(omitted.len(), 1);
        assert_eq!(omitted[0].reason, OmitReason::Scaffolding);
        assert!(omitted[0].text.starts_with("Answer the question below"));
        assert!(omitted[0].text.ends_with("language of the question."));

        // gemma-3-270m echoing the question (bench q1059).
        let (found, omitted) = claims(
            "According to the sources, the file is corrupted. What's a likely cause? The CRC \
             check failed.",
            5,
        );
        let texts: Vec<&str> = found.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "According to the sources, the file is corrupted.",
                "The CRC check failed."
            ]
        );
        assert_eq!(omitted[0].text, "What's a likely cause?");
        assert_eq!(omitted[0].reason, OmitReason::Scaffolding);
    }

    #[test]
    fn list_labels_come_off_whatever_their_width() {
        assert_eq!(
            without_label("• echo -n, or use $echo -n."),
            "echo -n, or use $echo -n."
        );
        assert_eq!(without_label("– dash item"), "dash item");
        assert_eq!(without_label("[11] 'source'"), "'source'");
        assert_eq!(without_label("12. twelfth"), "twelfth");
        assert_eq!(without_label("(a) first"), "first");
        let (found, _) = claims("Use either:\n• echo -n, or use $echo -n.\n• printf", 2);
        let evidence = [Evidence::new(1, "Use echo -n or printf.")];
        let meaning = vec![vec![0.5]; found.len()];
        let (sentences, _) = verify(
            "How do I print without a newline?",
            &found,
            &evidence,
            &meaning,
        );
        assert!(!sentences.is_empty());
    }

    #[test]
    fn key_tokens_are_numbers_commands_paths_and_identifiers() {
        assert_eq!(
            key_tokens("Set \\textwidth to 345pt in /etc/foo.conf with --force, MyClass and x_y."),
            [
                "\\textwidth",
                "345pt",
                "/etc/foo.conf",
                "--force",
                "myclass",
                "x_y"
            ]
        );
        assert!(key_tokens("A plain sentence about options.").is_empty());
        assert_eq!(key_tokens("Use echo -n - or -f."), ["-n", "-f"]);
        // bench q95: a placeholder's angle brackets separate like < >, so a copy that spaces
        // them differently keeps the same tokens.
        assert_eq!(
            key_tokens("env/⟨env ⟩ /after"),
            key_tokens("env/⟨env ⟩/after")
        );
        assert!(key_tokens("env/⟨env ⟩/after").contains(&"/after".to_string()));
        // bench q1017: an option the question does not have is a claim.
        let question = Asked::new("Am I allowed to use local variables and echo -n?");
        assert!(is_claim("• echo -n, and use $echo -f.", &question));
        // A "not" the question does not say answers it: a claim, checked like any other.
        assert!(is_claim(
            "According to the sources, the following are not allowed:",
            &question
        ));
        assert!(!is_claim("• echo -n, or use $echo -n.", &question));
        let negative = Asked::new("Why is echo -n not allowed?");
        assert!(!is_claim("echo -n is not allowed.", &negative));
    }

    /// The verdict on one sentence citing one passage, the sentence's meaning that close to it.
    fn support_of(question: &str, passage: &str, sentence: &str, meaning: f32) -> Support {
        let (sentences, _) = verify(
            question,
            &[claim(sentence, &[1])],
            &[Evidence::new(1, passage)],
            &[vec![meaning]],
        );
        sentences[0].support
    }

    #[test]
    fn a_sentence_holding_every_word_of_a_stretch_needs_less_closeness() {
        let passage =
            "\\LTchunksize Chunk size (The number of rows taken per \\halign). Default 200.";
        let check = |sentence: &str, meaning: f32| {
            support_of(
                "What is the default chunk size of longtable?",
                passage,
                sentence,
                meaning,
            )
        };
        // bench q62: every word and number found, cosine 0.64.
        assert_eq!(
            check("The default LTchunksize is 200.", 0.64),
            Support::Supported
        );
        assert_eq!(
            check("The default LTchunksize is 200.", 0.55),
            Support::Unsupported
        );
        // A word the passage lacks ("table") needs the full closeness.
        let one_missing = "The default LTchunksize of a table is 200.";
        assert_eq!(check(one_missing, 0.7), Support::Unsupported);
        assert_eq!(check(one_missing, 0.85), Support::Supported);
        // One word found says little.
        assert_eq!(check("The default is 200.", 0.7), Support::Unsupported);
    }

    #[test]
    fn code_followed_by_does_not_work_is_not_support() {
        // bench q78: the verbatim manual's example of what does not work.
        let passage = "2. You cannot use the verbatim environment inside user defined commands; \
                       e.g.,\n\n\\newcommand{\\verbatimfile}[1]{\\begin{verbatim}\\input{#1}\
                       \\end{verbatim}}\n\ndoes not work; nor does\n\n\\newcommand{\\verbatimfile}[1]\
                       {\\verbatim\\input{#1}\\endverbatim}\n\n3. The name of the newly defined \
                       environment must not contain other characters.";
        let check = |sentence: &str, meaning: f32| {
            support_of(
                "What is the right way to use verbatim inside a definition?",
                passage,
                sentence,
                meaning,
            )
        };
        let code = "\\begin{verbatim} \\input {#1}\\end{verbatim}";
        assert_eq!(check(&format!("{code}."), 0.79), Support::Unsupported);
        // The same code said not to work is what the passage says.
        assert_eq!(
            check(&format!("{code} does not work."), 0.85),
            Support::Supported
        );
    }

    #[test]
    fn a_command_named_without_its_backslash_is_found() {
        // bench q62: "the default LTchunksize is 200" of "\LTchunksize … Default 200."
        let evidence = Evidence::new(
            1,
            "\\LTchunksize The number of rows per chunk. Default 200.",
        );
        assert!(evidence.has_token("ltchunksize"));
        assert!(evidence.has_token("\\ltchunksize"));
        assert!(evidence.has_token("200"));
        // A command the answer writes must be the passage's command, not a word of it.
        let plain = Evidence::new(2, "Every chunk holds some rows.");
        assert!(!plain.has_token("\\chunk"));
        assert!(!plain.has_token("ltchunksize"));
    }

    #[test]
    fn a_citation_stays_only_where_its_passage_supports_the_sentence() {
        let evidence = [
            Evidence::new(1, "Fonts are selected with \\fontfamily and \\selectfont."),
            Evidence::new(
                2,
                "To pass every unknown option on to the article class, use \\DeclareOption* \
                 with \\PassOptionsToClass.",
            ),
        ];
        let claims = [
            // Cited 1, supported by 2: the marker moves.
            claim(
                "Unknown options are passed on to the article class with \\PassOptionsToClass.",
                &[1],
            ),
            // Cited 2, an invented number: kept out, flagged.
            claim(
                "Each option costs 10000 bytes of the article class memory.",
                &[2],
            ),
        ];
        let (sentences, _) = verify(
            "How are options passed?",
            &claims,
            &evidence,
            &[vec![0.1, 0.85], vec![0.1, 0.5]],
        );
        assert_eq!(sentences[0].sources, [2]);
        assert_eq!(sentences[0].dropped, [1]);
        assert_eq!(sentences[0].support, Support::Supported);
        assert_eq!(sentences[1].support, Support::Unsupported);
        assert!(sentences[1].sources.is_empty());
        assert_eq!(sentences[1].unknown, ["10000"]);
        assert_eq!(
            verified_text(&sentences),
            "Unknown options are passed on to the article class with \\PassOptionsToClass [2]. \
             Each option costs 10000 bytes of the article class memory."
        );
    }

    #[test]
    fn invented_enumerations_are_cut_and_hedges_beside_support_go() {
        let evidence = [Evidence::new(
            1,
            "The class option draft marks overfull boxes with a black rule.",
        )];
        let (found, _) = claims(
            "I am not sure. The draft option marks overfull boxes with a rule [1].\n\
             1. 'class-name' option name\n2. 'email' option email\n3. 'title' option title",
            1,
        );
        // Close in meaning: the draft sentence only.
        let mut meaning = vec![vec![0.3]; found.len()];
        meaning[1] = vec![0.9];
        let (sentences, omitted) = verify("What does draft do?", &found, &evidence, &meaning);
        assert_eq!(sentences.len(), 1, "{sentences:?}");
        assert_eq!(sentences[0].sources, [1]);
        let reasons: Vec<OmitReason> = omitted.iter().map(|o| o.reason).collect();
        assert_eq!(
            reasons,
            [
                OmitReason::Hedge,
                OmitReason::InventedListItem,
                OmitReason::InventedListItem,
                OmitReason::InventedListItem
            ]
        );
    }

    #[test]
    fn lone_markers_and_stray_words_are_left_out_as_fragments() {
        let evidence = [Evidence::new(
            1,
            "The ltxdoc class typesets the kernel sources.",
        )];
        let (found, omitted) = claims("According to the sources, the answer is:\n[2]", 1);
        assert_eq!(found.len(), 1);
        assert_eq!(omitted[0].reason, OmitReason::Fragment);
        assert_eq!(omitted[0].text.trim(), "[2]");
        let (found, _) = claims("The ltxdoc class typesets them.\nmendatanguser\nltxdoc", 1);
        let meaning = vec![vec![0.5]; found.len()];
        let (sentences, omitted) = verify(
            "Which class typesets the sources?",
            &found,
            &evidence,
            &meaning,
        );
        let shown: Vec<&str> = sentences.iter().map(|s| s.text.trim()).collect();
        assert_eq!(shown, ["The ltxdoc class typesets them.", "ltxdoc"]);
        assert_eq!(omitted.len(), 1);
        assert_eq!(
            (omitted[0].text.as_str(), omitted[0].reason),
            ("mendatanguser", OmitReason::Fragment)
        );
    }

    #[test]
    fn list_items_are_read_with_the_sentence_that_introduces_them() {
        // bench q1017: "echo -n" alone repeats the question; after "the following are not
        // allowed:" it says echo -n is not allowed, which the passage does not say.
        let evidence = [Evidence::new(
            1,
            "Scripts may assume that /bin/sh supports local variables and echo -n.",
        )];
        let question = "Am I allowed to use local variables and echo -n?";
        let (found, _) = claims(
            "According to the sources, the following are not allowed:\n• echo -n, or use \
             $echo -n.",
            1,
        );
        let meaning = vec![vec![0.9]; found.len()];
        let (sentences, _) = verify(question, &found, &evidence, &meaning);
        assert_eq!(sentences.len(), 2, "{sentences:?}");
        assert!(sentences.iter().all(|s| s.support == Support::Unsupported));
        // Introduced by a sentence that claims nothing, an item is read alone.
        let (found, _) = claims(
            "According to the sources:\n• Scripts may assume that /bin/sh supports echo -n.",
            1,
        );
        let meaning = vec![vec![0.9]; found.len()];
        let (sentences, _) = verify(question, &found, &evidence, &meaning);
        assert_eq!(sentences[0].support, Support::NoClaim);
        assert_eq!(sentences[1].support, Support::Supported, "{sentences:?}");
    }

    #[test]
    fn a_sentence_saying_the_opposite_or_gathering_scattered_words_is_not_supported() {
        let passage = "Since the 2020 release the textcomp package is no longer needed: its \
                       commands are part of the kernel.";
        let evidence = [Evidence::new(1, passage)];
        let opposite = checks("The textcomp package is still needed.", &evidence, &[0.9]);
        assert!(opposite[0].contradicts && !opposite[0].supports());
        let same = checks(
            "The textcomp package is not needed since 2020.",
            &evidence,
            &[0.9],
        );
        assert!(!same[0].contradicts && same[0].supports(), "{same:?}");

        // Code the passage introduces as what does not work.
        let evidence = [Evidence::new(
            1,
            "Verbatim cannot be used inside the argument of a command. This does not work:\n\
             \\fbox{\\verb|x|}\nUse an lrbox instead.",
        )];
        let code = checks("Write \\fbox{\\verb|x|} to box it.", &evidence, &[0.8]);
        assert!(code[0].contradicts, "{code:?}");

        // A "not" about something else beside the sentence's words does not count.
        let evidence = [Evidence::new(
            1,
            "The draft option marks overfull boxes with a black rule. It does not change the \
             layout of the page.",
        )];
        let beside = checks("The draft option marks overfull boxes.", &evidence, &[0.8]);
        assert!(!beside[0].contradicts && beside[0].supports(), "{beside:?}");

        // The sentence saying it, beside one that says "not" with some of its words (bench
        // q1059): the sentence that says most of it decides.
        let evidence = [Evidence::new(
            1,
            "bzip2 attempts to guess the filename for the decompressed file from that of the \
             compressed file. If the file does not end in .bz2, bzip2 cannot guess the name of \
             the original file.",
        )];
        let guess = checks(
            "bzip2 attempts to guess the filename for the decompressed file.",
            &evidence,
            &[0.95],
        );
        assert!(!guess[0].contradicts && guess[0].supports(), "{guess:?}");

        // The same words far apart in a long passage say something else.
        let filler = "Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod. ";
        let passage = format!(
            "Packages listed in Depends must be installed before configuration. {} \
             Pre-Depends is rarely right for a library.",
            filler.repeat(5)
        );
        let evidence = [Evidence::new(1, &passage)];
        let scattered = checks(
            "Pre-Depends is right for a library installed before configuration.",
            &evidence,
            &[0.5],
        );
        assert!(scattered[0].word_share < WORDS, "{scattered:?}");
        assert!(!scattered[0].supports());
    }
}
