//! Grounded answers: the prompt that numbers the sources, the budget that makes it fit the
//! context window, the citations parsed out of the answer and the sentences that support it.
//!
//! Everything here is plain data in, plain data out; the [`crate::Library`] runs retrieval and
//! the generator around it.

use serde::Serialize;

use crate::generate::{Message, Role};
use crate::store::{Passage, StoredChunk};
use crate::text::is_cjk;

/// What the model is told, after the sources and right before the question: small models
/// follow instructions near the question better, and echo instructions that open the prompt.
pub const INSTRUCTIONS: &str = "Answer the question below in a few sentences, using only the \
sources above, never outside knowledge. End every sentence with the number of the source it \
comes from in square brackets, like [2]. If the sources do not contain the answer, say plainly \
that the documents do not contain the answer.";

/// The answer should start within this many seconds on the machine it runs on; evaluating the
/// prompt is most of that wait on a CPU.
pub const FIRST_TOKEN_TARGET_SECONDS: f64 = 1.0;

/// Focused passages never get fewer tokens than this, even when the target above cannot be
/// met: on the 131 labelled questions of bench/retrieval, 96 tokens per source keep the answer's
/// evidence for 80 % of the questions, 64 tokens for 64 % (docs/benchmarks.md).
pub const MIN_PASSAGE_TOKENS: usize = 96;

/// Tokens per source for [`crate::ask::Passages::Auto`] (0: whole passages). `whole_prompt`
/// is the prompt's length with whole passages, `source_tokens` the part of it the passages
/// take, `rate` the prompt tokens this machine evaluates per second. Whole passages when that
/// prompt is evaluated within [`FIRST_TOKEN_TARGET_SECONDS`]; else the share of that time left
/// after the instructions and question, split between the sources, but at least
/// [`MIN_PASSAGE_TOKENS`].
pub fn auto_passage_tokens(
    whole_prompt: usize,
    source_tokens: usize,
    sources: usize,
    rate: f64,
) -> usize {
    let affordable = rate * FIRST_TOKEN_TARGET_SECONDS;
    if sources == 0 || whole_prompt as f64 <= affordable {
        return 0;
    }
    let fixed = whole_prompt.saturating_sub(source_tokens) as f64;
    let per_source = ((affordable - fixed) / sources as f64).max(0.0) as usize;
    per_source.max(MIN_PASSAGE_TOKENS)
}

/// Told when no source seems to be about the question.
pub const NOT_FOUND_NOTE: &str = "Note: none of these sources seems to be about the question. \
Unless one of them clearly answers it, reply that the documents do not contain the answer.";

/// A passage given to the model, numbered from 1 in prompt order.
#[derive(Debug, Clone)]
pub struct Source {
    pub n: usize,
    pub chunk: StoredChunk,
    /// Cosine similarity of the passage to the (standalone) question, when the dense search
    /// found it.
    pub similarity: Option<f32>,
    /// Found by its words only: its vector was not made yet.
    pub by_words_only: bool,
}

/// A source as the answer reports it: every source given to the model, cited or not.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Citation {
    pub n: usize,
    /// The answer refers to it.
    pub cited: bool,
    /// The reference was added by Quire (the model wrote a sentence from this source without
    /// citing it), not by the model.
    pub attributed: bool,
    /// `None` once the chunk is gone (its document was removed or re-indexed).
    pub chunk_id: Option<i64>,
    pub document_id: Option<i64>,
    /// Found by its words only: its vector was not made yet when the question was asked.
    pub by_words_only: bool,
    #[serde(flatten)]
    pub passage: Passage,
}

/// A sentence from a source that supports the answer, located in its page's text (offsets in
/// chars of the page's cleaned text, as stored).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Quote {
    /// The source it comes from.
    pub n: usize,
    pub document_id: Option<i64>,
    pub page: u32,
    pub char_start: usize,
    pub char_end: usize,
    pub text: String,
}

/// The language a question is written in, as far as its script tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Language {
    Japanese,
    Korean,
    Chinese,
    English,
    /// Latin or other scripts we do not tell apart.
    Other,
}

fn language(question: &str) -> Language {
    let has = |f: fn(char) -> bool| question.chars().any(f);
    if has(|c| matches!(c, '\u{3040}'..='\u{30FF}')) {
        Language::Japanese
    } else if has(|c| matches!(c, '\u{AC00}'..='\u{D7AF}')) {
        Language::Korean
    } else if has(is_cjk) {
        Language::Chinese
    } else if crate::text::looks_english(question) {
        Language::English
    } else {
        Language::Other
    }
}

/// "Answer in …" for the question's script; small models follow an explicit language better
/// than "the language of the question".
pub fn language_instruction(question: &str) -> &'static str {
    match language(question) {
        Language::Japanese => "Write the answer in Japanese.",
        Language::Korean => "Write the answer in Korean.",
        Language::Chinese => "Write the answer in Chinese (用中文回答).",
        Language::English | Language::Other => "Write the answer in the language of the question.",
    }
}

/// What Quire says, in the question's language, when no passage is about the question.
pub fn not_covered_message(question: &str) -> &'static str {
    match language(question) {
        Language::Japanese => "お手元の文書には、この質問に答える箇所が見つかりませんでした。",
        Language::Korean => "문서에서 이 질문에 답하는 내용을 찾지 못했습니다.",
        Language::Chinese => "您的文档中没有找到回答这个问题的内容。",
        Language::English | Language::Other => {
            "Your documents do not seem to cover this: none of the passages found answers the \
             question."
        }
    }
}

/// The not-covered statement, naming (up to three of) the names the documents never mention
/// when the coverage check found some ("Debian 14", "Overleaf"): the reason, said plainly.
pub fn not_covered_naming(question: &str, names: &[String]) -> String {
    let base = not_covered_message(question);
    if names.is_empty() {
        return base.to_string();
    }
    let quoted: Vec<String> = names.iter().take(3).map(|n| format!("“{n}”")).collect();
    let list = quoted.join(", ");
    let reason = match language(question) {
        Language::Japanese => format!("文書には{list}が一度も出てきません。"),
        Language::Korean => format!(" 문서에는 {list}에 대한 언급이 없습니다."),
        Language::Chinese => format!("文档中从未提到{list}。"),
        Language::English | Language::Other => format!(" They never mention {list}."),
    };
    format!("{base}{reason}")
}

/// The not-covered statement for a question that asks only for a figure ("How long does the
/// review take?") when no passage found states one.
pub fn not_covered_figure(question: &str) -> String {
    let base = not_covered_message(question);
    let reason = match language(question) {
        Language::Japanese => "見つかった箇所には、その数値が書かれていません。",
        Language::Korean => " 찾은 구절에는 해당 수치가 없습니다.",
        Language::Chinese => "找到的段落中没有给出相关的数字。",
        Language::English | Language::Other => {
            " The passages found on the topic give no figure for it."
        }
    };
    format!("{base}{reason}")
}

/// The first words of the answer, written into the prompt for the model to go on from. A small
/// model left to start by itself tends to copy the first source's heading; begun for it, it
/// writes an answer. Empty for languages we cannot tell apart reliably.
pub fn answer_opening(question: &str) -> &'static str {
    match language(question) {
        Language::Japanese => "資料によると、",
        Language::Chinese => "根据资料，",
        Language::English => "According to the sources,",
        Language::Korean | Language::Other => "",
    }
}

/// The question that retrieval uses: a follow-up ("and the second one?") means little alone,
/// so the previous question travels with it.
pub fn standalone_query(history: &[Message], question: &str) -> String {
    match history.iter().rev().find(|m| m.role == Role::User) {
        Some(previous) => format!("{}\n{}", previous.content.trim(), question.trim()),
        None => question.trim().to_string(),
    }
}

/// How a source is shown to the model.
pub fn source_heading(source: &Source) -> String {
    let c = &source.chunk.passage;
    let pages = if c.page_start == c.page_end {
        format!("page {}", c.page_start)
    } else {
        format!("pages {}-{}", c.page_start, c.page_end)
    };
    format!("[{}] {}, {}", source.n, c.title, pages)
}

/// The question turn: the numbered sources, the instructions, then the question.
fn question_turn(question: &str, sources: &[(String, String)], relevant: bool) -> String {
    let mut out = String::from("Sources:\n\n");
    for (heading, text) in sources {
        out.push_str(heading);
        out.push_str(":\n");
        out.push_str(text.trim());
        out.push_str("\n\n");
    }
    out.push_str(INSTRUCTIONS);
    out.push(' ');
    out.push_str(language_instruction(question));
    if !relevant {
        out.push(' ');
        out.push_str(NOT_FOUND_NOTE);
    }
    out.push_str("\n\nQuestion: ");
    out.push_str(question.trim());
    out
}

/// The messages for the model: earlier turns, then sources, instructions and question.
pub fn prompt_messages(
    question: &str,
    history: &[Message],
    sources: &[(String, String)],
    relevant: bool,
) -> Vec<Message> {
    let mut messages: Vec<Message> = history.to_vec();
    messages.push(Message::new(
        Role::User,
        question_turn(question, sources, relevant),
    ));
    messages
}

/// The prompt that fits, and what had to give way.
#[derive(Debug, Clone)]
pub struct FittedPrompt {
    pub messages: Vec<Message>,
    /// How many of the sources (the best-ranked ones) it holds.
    pub sources: usize,
    /// How many of the history messages (the most recent ones) it holds.
    pub history: usize,
    /// A source or the question had to be shortened.
    pub truncated: bool,
    pub tokens: usize,
}

fn shorten(text: &str, chars: usize) -> String {
    let mut out: String = text.chars().take(chars).collect();
    out.push_str(" …");
    out
}

/// Fits question, history and sources into `limit` tokens as `measure` counts them (the whole
/// rendered prompt). What gives way, in order: history older than the last exchange, the
/// lowest-ranked sources (down to one), the rest of the history, the text of the last source,
/// the question's length, and finally the last source. `None` when even the instructions with
/// a shortened question do not fit.
pub fn fit_prompt(
    question: &str,
    history: &[Message],
    sources: &[Source],
    relevant: bool,
    limit: usize,
    measure: &dyn Fn(&[Message]) -> usize,
) -> Option<FittedPrompt> {
    let mut texts: Vec<(String, String)> = sources
        .iter()
        .map(|s| (source_heading(s), s.chunk.passage.text.clone()))
        .collect();
    let mut history_kept = history.len();
    let mut question = question.to_string();
    let mut truncated = false;
    loop {
        let messages = prompt_messages(
            &question,
            &history[history.len() - history_kept..],
            &texts,
            relevant,
        );
        let tokens = measure(&messages);
        if tokens <= limit {
            return Some(FittedPrompt {
                messages,
                sources: texts.len(),
                history: history_kept,
                truncated,
                tokens,
            });
        }
        if history_kept > 2 {
            history_kept -= 2.min(history_kept - 2);
        } else if texts.len() > 1 {
            texts.pop();
        } else if history_kept > 0 {
            history_kept -= 1;
        } else if let Some(last) = texts.last_mut().filter(|t| t.1.chars().count() > 200) {
            let keep = last.1.chars().count() * 2 / 3;
            last.1 = shorten(&last.1, keep);
            truncated = true;
        } else if question.chars().count() > 100 {
            let keep = (question.chars().count() * 2 / 3).max(100);
            question = shorten(&question, keep);
            truncated = true;
        } else if !texts.is_empty() {
            texts.pop();
        } else {
            return None;
        }
    }
}

/// Every source given to the model, in prompt order, marked cited or not.
pub fn citations(sources: &[Source], cited: &[usize], attributed: &[usize]) -> Vec<Citation> {
    sources
        .iter()
        .map(|s| Citation {
            n: s.n,
            cited: cited.contains(&s.n) || attributed.contains(&s.n),
            attributed: attributed.contains(&s.n) && !cited.contains(&s.n),
            chunk_id: Some(s.chunk.id),
            document_id: Some(s.chunk.document_id),
            by_words_only: s.by_words_only,
            passage: s.chunk.passage.clone(),
        })
        .collect()
}

/// A conversation's title from its first question.
pub fn conversation_title(question: &str) -> String {
    let question = question.split_whitespace().collect::<Vec<_>>().join(" ");
    if question.chars().count() <= 60 {
        question
    } else {
        let mut t: String = question.chars().take(57).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn the_not_covered_statement_names_what_the_documents_never_mention() {
        let names = ["Debian 14".to_string()];
        assert_eq!(
            not_covered_naming("What is the code name of Debian 14?", &names),
            "Your documents do not seem to cover this: none of the passages found answers the \
             question. They never mention “Debian 14”."
        );
        assert_eq!(
            not_covered_naming("Debian 14 的代号是什么？", &names),
            "您的文档中没有找到回答这个问题的内容。文档中从未提到“Debian 14”。"
        );
        assert_eq!(
            not_covered_naming("酸面包面团应该发酵多久？", &[]),
            not_covered_message("酸面包面团应该发酵多久？")
        );
    }

    #[test]
    fn the_not_covered_statement_says_when_no_passage_gives_the_figure_asked() {
        assert_eq!(
            not_covered_figure("What is the maximum length of a package name?"),
            "Your documents do not seem to cover this: none of the passages found answers the \
             question. The passages found on the topic give no figure for it."
        );
        assert_eq!(
            not_covered_figure("软件包名称最长可以有多少个字符？"),
            "您的文档中没有找到回答这个问题的内容。找到的段落中没有给出相关的数字。"
        );
    }

    pub(crate) fn source(n: usize, text: &str, page: u32) -> Source {
        Source {
            n,
            by_words_only: false,
            chunk: StoredChunk {
                id: n as i64 * 10,
                document_id: 7,
                passage: Passage {
                    title: format!("Doc {n}"),
                    path: format!("/docs/{n}.pdf"),
                    page_start: page,
                    page_end: page,
                    char_start: 0,
                    char_end: text.chars().count(),
                    text: text.to_string(),
                    ocr_confidence: None,
                },
            },
            similarity: Some(0.5),
        }
    }

    #[test]
    fn the_answer_opening_follows_the_question() {
        assert_eq!(
            answer_opening("How do I set margins?"),
            "According to the sources,"
        );
        assert_eq!(answer_opening("如何设置页边距？"), "根据资料，");
        assert_eq!(answer_opening("Comment régler les marges ?"), "");
    }

    #[test]
    fn language_follows_the_question() {
        assert!(language_instruction("文档里怎么说？").contains("Chinese"));
        assert!(language_instruction("これは何ですか").contains("Japanese"));
        assert!(language_instruction("What is it?").contains("language of the question"));
    }

    #[test]
    fn follow_ups_carry_the_previous_question() {
        let history = vec![
            Message::new(Role::User, "Which fonts does LaTeX offer?"),
            Message::new(Role::Assistant, "Computer Modern [1] and Times [2]."),
        ];
        assert_eq!(
            standalone_query(&history, "And the second one?"),
            "Which fonts does LaTeX offer?\nAnd the second one?"
        );
        assert_eq!(standalone_query(&[], " Why? "), "Why?");
    }

    #[test]
    fn prompt_numbers_sources_and_notes_when_nothing_is_relevant() {
        let sources = [source(1, "Alpha text.", 3), source(2, "Beta text.", 4)];
        let texts: Vec<_> = sources
            .iter()
            .map(|s| (source_heading(s), s.chunk.passage.text.clone()))
            .collect();
        let m = prompt_messages("What is alpha?", &[], &texts, true);
        assert_eq!(m.len(), 1);
        assert_eq!(
            m[0].content,
            format!(
                "Sources:\n\n[1] Doc 1, page 3:\nAlpha text.\n\n[2] Doc 2, page 4:\nBeta text.\n\n\
                 {INSTRUCTIONS} Write the answer in the language of the question.\n\n\
                 Question: What is alpha?"
            )
        );
        let m = prompt_messages("What is alpha?", &[], &texts, false);
        assert!(m[0].content.contains(NOT_FOUND_NOTE));
    }

    #[test]
    fn budget_drops_old_history_then_sources_then_shortens() {
        // One "token" per word.
        let measure = |m: &[Message]| -> usize {
            m.iter().map(|m| m.content.split_whitespace().count()).sum()
        };
        let long = "word ".repeat(300);
        let sources: Vec<Source> = (1..=5).map(|n| source(n, &long, n as u32)).collect();
        let history: Vec<Message> = (0..6)
            .map(|i| {
                let role = if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                };
                Message::new(role, "turn ".repeat(100))
            })
            .collect();
        let all = fit_prompt("Why?", &history, &sources, true, 100_000, &measure).unwrap();
        assert_eq!((all.sources, all.history, all.truncated), (5, 6, false));
        let fitted = fit_prompt("Why?", &history, &sources, true, 1000, &measure).unwrap();
        assert!(fitted.tokens <= 1000);
        assert_eq!(fitted.history, 2, "the last exchange stays");
        assert_eq!(fitted.sources, 2, "the best sources stay");
        let tight = fit_prompt("Why?", &history, &sources, true, 260, &measure).unwrap();
        assert!(tight.tokens <= 260);
        assert_eq!(
            (tight.sources, tight.history, tight.truncated),
            (1, 0, true)
        );
        assert!(fit_prompt("Why?", &[], &sources, true, 20, &measure).is_none());
    }

    #[test]
    fn titles_are_short() {
        assert_eq!(
            conversation_title("  How do I\nset margins? "),
            "How do I set margins?"
        );
        assert_eq!(conversation_title(&"x".repeat(100)).chars().count(), 58);
    }

    #[test]
    fn passages_are_whole_when_the_machine_is_fast_enough() {
        // 1,300-token prompt, 1,100 of it sources, five sources.
        assert_eq!(auto_passage_tokens(1300, 1100, 5, 2000.0), 0);
        // 400 tokens/s: 200 fixed tokens leave 200 for five sources: the floor applies.
        assert_eq!(
            auto_passage_tokens(1300, 1100, 5, 400.0),
            MIN_PASSAGE_TOKENS
        );
        // 1,000 tokens/s: 800 left for five sources.
        assert_eq!(auto_passage_tokens(1300, 1100, 5, 1000.0), 160);
        assert_eq!(auto_passage_tokens(1300, 0, 0, 10.0), 0);
    }
}
