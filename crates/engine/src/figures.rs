//! Figures: numbers with a unit ("80 characters", "21 days", "2048 bits", "7in", "3 年").
//!
//! A question that asks only for a figure ("What is the maximum length of a package name?",
//! "多长时间？") is answered by a passage only if some passage states one. Retrieval finds
//! passages on the topic readily (package names, the NEW queue); whether any of them gives a
//! figure at all is a reading step that needs no model.

/// English question words that ask for a figure.
const ASKS: &[&str] = &[
    "how long",
    "how many",
    "how much",
    "how big",
    "how large",
    "how old",
    "how far",
    "how soon",
    "how wide",
    "how high",
    "how deep",
    "how tall",
    "what size",
    "what length",
];

/// What "maximum"/"minimum" must measure to ask for a figure ("the maximum length"; not "the
/// bare minimum a class must set up").
const MEASURES: &[&str] = &[
    "length", "size", "number", "count", "width", "height", "depth", "time", "value", "age",
    "duration", "amount",
];

/// Chinese and Japanese words that ask for a figure.
const ASKS_CJK: &[&str] = &[
    "多长",
    "多久",
    "多少",
    "多大",
    "几个",
    "几天",
    "几年",
    "最大",
    "最多",
    "最长",
    "最小",
    "最少",
    "上限",
    "どのくらい",
];

/// Words that open a question clause (English), or mark one (Chinese, Japanese).
const INTERROGATIVES: &[&str] = &[
    "how", "what", "which", "where", "why", "when", "who", "whom", "whose", "can", "could",
    "should", "do", "does", "is", "are", "may",
];
const INTERROGATIVES_CJK: &[&str] = &[
    "如何",
    "怎么",
    "怎样",
    "什么",
    "哪",
    "为什么",
    "是否",
    "吗",
    "どう",
    "何",
];

/// Units a figure is counted in (English, lower case, singular: a plural noun counts anyway).
const UNITS: &[&str] = &[
    "byte",
    "kb",
    "kib",
    "mb",
    "mib",
    "gb",
    "gib",
    "kilobyte",
    "megabyte",
    "gigabyte",
    "bit",
    "character",
    "char",
    "line",
    "column",
    "row",
    "day",
    "week",
    "month",
    "year",
    "hour",
    "minute",
    "second",
    "sec",
    "ms",
    "pt",
    "point",
    "mm",
    "cm",
    "in",
    "inch",
    "em",
    "ex",
    "bp",
    "px",
    "percent",
    "time",
    "level",
    "digit",
    "entry",
    "item",
    "file",
    "argument",
    "parameter",
    "register",
    "page",
    "k",
    "m",
    "g",
    "%",
];

/// Units a figure is counted in (Chinese and Japanese), written right after the number.
const UNITS_CJK: &[&str] = &[
    "字节", "位", "个", "字符", "字", "行", "列", "天", "日", "周", "月", "年", "小时", "時間",
    "分钟", "分", "秒", "页", "次", "级", "%",
];

const NUMBER_WORDS: &[&str] = &[
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "fifteen", "twenty", "thirty", "forty", "fifty", "hundred", "thousand", "million",
];

/// Whether the question asks for a figure and for nothing else: one clause that asks "how
/// long", "how many", "the maximum length"…, and no other question clause ("How can I take it
/// over, and how long do I have to wait?" asks for more than a figure).
pub fn asks_only_for_a_figure(question: &str) -> bool {
    let lower = question.to_lowercase();
    let mut asks = false;
    for clause in clauses(&lower) {
        if clause_asks_for_figure(clause) {
            asks = true;
        } else if is_question_clause(clause) {
            return false;
        }
    }
    asks
}

/// Whether the text states a figure: a number (digits or an English number word) followed by a
/// unit or by what it counts ("80 characters", "seven days", "7in", "900k", "3 年", "nine
/// arguments").
pub fn states_a_figure(text: &str) -> bool {
    let lower = text.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_word = i == 0 || !chars[i - 1].is_alphanumeric();
        let number_end = if c.is_ascii_digit() && starts_word {
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_ascii_digit()
                    || (matches!(chars[j], ',' | '.')
                        && chars.get(j + 1).is_some_and(|d| d.is_ascii_digit())))
            {
                j += 1;
            }
            Some(j)
        } else if c.is_ascii_alphabetic() && starts_word {
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_alphabetic() {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            if NUMBER_WORDS.contains(&word.as_str()) {
                Some(j)
            } else {
                i = j;
                continue;
            }
        } else {
            None
        };
        let Some(end) = number_end else {
            i += 1;
            continue;
        };
        if unit_follows(&chars[end..]) {
            return true;
        }
        i = end.max(i + 1);
    }
    false
}

/// Whether a unit starts here, after at most one space or hyphen.
fn unit_follows(rest: &[char]) -> bool {
    let rest = match rest.first() {
        Some(' ' | '-' | '\u{a0}') => &rest[1..],
        _ => rest,
    };
    let tail: String = rest.iter().take(8).collect();
    if UNITS_CJK.iter().any(|u| tail.starts_with(u)) {
        return true;
    }
    let word: String = rest
        .iter()
        .take_while(|c| c.is_ascii_alphabetic() || **c == '%')
        .collect();
    if word.is_empty() {
        return false;
    }
    // Any plural noun counts things ("9 arguments", "three sections").
    let plural = word.len() >= 4 && word.ends_with('s') && !word.ends_with("ss");
    UNITS.contains(&word.as_str()) || plural
}

fn clauses(lower: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let sentences = lower
        .split(". ")
        .flat_map(|s| s.split(['?', '!', ';', '？', '！', '；', '，', '。']));
    for part in sentences {
        for piece in part.split(", and ").flat_map(|p| p.split(", or ")) {
            // " and how…", " and what…": a second question joined without a comma.
            let mut rest = piece;
            while let Some(at) = INTERROGATIVES
                .iter()
                .filter_map(|w| {
                    let joined = format!(" and {w} ");
                    rest.find(&joined)
                })
                .min()
            {
                out.push(&rest[..at]);
                rest = &rest[at + " and ".len()..];
            }
            if !rest.trim().is_empty() {
                out.push(rest);
            }
        }
    }
    out
}

fn clause_asks_for_figure(clause: &str) -> bool {
    // How often something happens is answered in words as often as in figures ("once", "each
    // time the class is loaded").
    if contains_words(clause, "how many times") {
        return false;
    }
    if ASKS.iter().any(|a| contains_words(clause, a)) || ASKS_CJK.iter().any(|a| clause.contains(a))
    {
        return true;
    }
    let words: Vec<&str> = clause
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().enumerate().any(|(i, w)| {
        matches!(
            *w,
            "maximum" | "minimum" | "max" | "min" | "maximal" | "minimal"
        ) && words[i + 1..]
            .iter()
            .take(2)
            .any(|m| MEASURES.iter().any(|u| m.trim_end_matches('s') == *u))
    })
}

fn is_question_clause(clause: &str) -> bool {
    let first = clause
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| !w.is_empty())
        .unwrap_or("");
    INTERROGATIVES.contains(&first) || INTERROGATIVES_CJK.iter().any(|w| clause.contains(w))
}

/// Whether `phrase` occurs in `text` as whole words.
fn contains_words(text: &str, phrase: &str) -> bool {
    text.match_indices(phrase).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_that_ask_only_for_a_figure() {
        for q in [
            "What is the maximum length allowed for a Debian package name?",
            "How long does the ftpmaster review of a package in the NEW queue usually take?",
            "How big does my OpenPGP key have to be if I want to become a Debian member?",
            "What maximum line length should LaTeX3 source lines stay under?",
            "If I upload a package to stable-backports, how long am I expected to look after it?",
            "软件包名称最长可以有多少个字符？",
        ] {
            assert!(asks_only_for_a_figure(q), "{q}");
        }
        for q in [
            // Another question besides the figure.
            "A package looks abandoned. How can I take it over without hijacking it, and how \
             long do I have to wait?",
            "What block size does bzip2 use by default, and roughly how much memory does it take?",
            "How many days must I wait and what should I write in the bug?",
            // No figure asked.
            "What is the bare minimum a document class file has to set up to work at all?",
            "How do I pass options on to another class?",
            "如何把选项传给另一个类？",
            // How often: "once", "each time…".
            "How many times is the code of an option executed by \\ProcessOptions?",
            "How often should I run the test suite?",
        ] {
            assert!(!asks_only_for_a_figure(q), "{q}");
        }
    }

    #[test]
    fn figures_are_numbers_with_a_unit() {
        for text in [
            "Line length should be under 80 characters where possible.",
            "if nobody objects within 21 days",
            "a delay of at least seven days",
            "Your key length must be greater than 2048 bits",
            "\\setlength{\\textwidth}{6.5in}",
            "uses 900k blocks",
            "默认保留 3 年",
            "块大小为900k，需要 3,700 字节",
            "The file grew by 10%.",
            "A macro can take up to nine arguments.",
        ] {
            assert!(states_a_figure(text), "{text}");
        }
        for text in [
            "See section 5.6.1 of the manual.",
            "Debian 13 (trixie) is the current release.",
            "Package names must consist only of lower case letters.",
            "someone's 2nd try",
            "Version 2 is out; option 3 was dropped; 1 class",
            "",
        ] {
            assert!(!states_a_figure(text), "{text}");
        }
    }
}
