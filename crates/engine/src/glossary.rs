//! Chinese questions over English documents: a Chinese–English dictionary turns a Chinese
//! question into English search terms, and each passage is ranked by the question in its own
//! language (`retrieve::rank`).
//!
//! Neither embedding model bridges the two languages on technical text, and keyword search
//! can only match the Latin words of a question. Dictionary query translation, the classic
//! method of cross-language retrieval, can: the question is cut into the dictionary's words
//! (fewest words first), each word gives the English of two of its senses, and function words
//! are left out. Which two: with an English embedding model, the dictionary's first two; with
//! one that reads Chinese, the first and the one nearest in meaning to the word and the question
//! ([`LookedUp::terms_by_meaning`]). The dictionary is CC-CEDICT (CC BY-SA 4.0, 122,000
//! entries), fetched by `models/fetch.py` into the models folder; without it, Chinese questions
//! search as asked.
//!
//! Measured (`bench/multilingual.sh`, 40 Chinese questions over the English manuals, hybrid
//! hit@5, 2026-12-04): all-MiniLM-L6-v2 0.42 as asked, 0.78 with the dictionary;
//! multilingual-e5-small 0.53 and 0.70 (its vectors of a list of English words are weaker than
//! MiniLM's, so the terms' keyword ranks weigh twice: `retrieve::TRANSLATED_KEYWORD_WEIGHT`).
//! On 30 more questions written after those choices: MiniLM 0.83, e5 0.83.
//!
//! Japanese questions (any kana) are not translated: the dictionary is Chinese.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::error::{Error, Result};
use crate::support::dot;

/// Where the dictionary lies in the models folder.
pub const GLOSSARY_FILE: &str = "cc-cedict/cedict_ts.u8";

/// Senses of a word whose English is used: the first is the most common; a second often holds
/// the technical one ("选项": "option; alternative; choice" / "to choose a project"). Measured
/// on the Chinese-over-English questions, MiniLM, hybrid hit@5: one sense 24/40, two 30/40,
/// three 28/40.
const SENSES: usize = 2;

/// Senses kept per word when the dictionary is read: a sense whose words are all stopwords
/// ("类": "kind/type/class/category") gives way to the next.
const KEPT_SENSES: usize = 6;

/// The longest word looked up, in characters.
const LONGEST_WORD: usize = 8;

/// Chinese function words, left out of the translation.
const CHINESE_STOPWORDS: &[&str] = &[
    "的",
    "了",
    "我",
    "你",
    "他",
    "她",
    "它",
    "我们",
    "你们",
    "他们",
    "这",
    "那",
    "这个",
    "那个",
    "一个",
    "是",
    "在",
    "里",
    "里面",
    "中",
    "上",
    "下",
    "把",
    "被",
    "给",
    "让",
    "会",
    "能",
    "可以",
    "要",
    "想",
    "吗",
    "呢",
    "吧",
    "啊",
    "和",
    "与",
    "及",
    "或",
    "或者",
    "也",
    "还",
    "都",
    "就",
    "才",
    "又",
    "再",
    "很",
    "更",
    "最",
    "不",
    "没",
    "没有",
    "有",
    "怎样",
    "怎么",
    "怎么样",
    "如何",
    "什么",
    "哪个",
    "哪些",
    "哪",
    "为什么",
    "为何",
    "时",
    "时候",
    "的话",
    "如果",
    "那么",
    "所以",
    "因为",
    "但",
    "但是",
    "而",
    "而且",
    "之",
    "后",
    "前",
    "用",
    "对",
    "从",
    "到",
    "向",
    "对于",
    "关于",
    "我的",
    "自己",
    "该",
    "应该",
    "已经",
    "这样",
    "那样",
    "其",
    "每",
    "些",
    "个",
    "种",
    "次",
    "得",
    "地",
    "着",
    "过",
    "第",
];

/// English words of a gloss that carry nothing for search.
const ENGLISH_STOPWORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "of",
    "to",
    "in",
    "on",
    "at",
    "for",
    "by",
    "with",
    "from",
    "and",
    "or",
    "is",
    "are",
    "be",
    "as",
    "it",
    "its",
    "this",
    "that",
    "sb",
    "sth",
    "one's",
    "oneself",
    "etc",
    "used",
    "also",
    "something",
    "somebody",
    "kind",
    "type",
    "way",
];

/// Glosses that name no meaning of their own (a measure word, a variant spelling, a surname).
const SKIPPED_GLOSSES: &[&str] = &[
    "CL:",
    "also pr.",
    "Taiwan pr.",
    "variant of",
    "old variant",
    "see ",
    "surname",
    "abbr. for",
    "also written",
    "used in",
    "erhua",
    "(old)",
    "(dialect)",
];

/// CC-CEDICT, read: each word (simplified, and traditional where it differs) with the glosses of
/// its first senses, in the dictionary's order.
pub struct Glossary {
    words: HashMap<String, Vec<String>>,
    /// Words the dictionary knows only as names (places, people: "里加", Riga).
    names: HashSet<String>,
}

impl Glossary {
    /// Reads the dictionary file (CC-CEDICT's text format).
    pub fn load(path: &Path) -> Result<Glossary> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::ModelMissing(format!(
                "cannot read the Chinese–English dictionary {}: {e}",
                path.display()
            ))
        })?;
        let glossary = Glossary::parse(&text);
        if glossary.words.is_empty() {
            return Err(Error::ModelMissing(format!(
                "{} holds no dictionary entries (CC-CEDICT format); run python3 models/fetch.py",
                path.display()
            )));
        }
        Ok(glossary)
    }

    /// Parses CC-CEDICT lines: `traditional simplified [pinyin] /gloss/gloss/`. Lines that are
    /// not entries (comments) are skipped. A word's senses are those of its common entries
    /// (pinyin in lower case) before any of its proper-noun ones ("加 [Jia1] /Canada/surname
    /// Jia/" comes before "加 [jia1] /to add/plus/"); glosses that name no meaning (a measure
    /// word, a variant, a surname) are not counted among them.
    pub fn parse(text: &str) -> Glossary {
        // Per form: (common senses, proper-noun senses).
        let mut simplified: HashMap<String, (Vec<String>, Vec<String>)> = HashMap::new();
        let mut traditional: HashMap<String, (Vec<String>, Vec<String>)> = HashMap::new();
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            let Some((trad, rest)) = line.split_once(' ') else {
                continue;
            };
            let Some((simp, rest)) = rest.split_once(' ') else {
                continue;
            };
            let Some(glosses) = rest
                .find("] /")
                .map(|i| rest[i + 3..].trim_end().trim_end_matches('/'))
            else {
                continue;
            };
            let proper = rest
                .strip_prefix('[')
                .and_then(|p| p.chars().next())
                .is_some_and(char::is_uppercase);
            let senses: Vec<String> = glosses
                .split('/')
                .filter(|g| !SKIPPED_GLOSSES.iter().any(|s| g.starts_with(s)))
                .map(str::to_string)
                .collect();
            let keep = |map: &mut HashMap<String, (Vec<String>, Vec<String>)>, word: &str| {
                let (common, names) = map.entry(word.to_string()).or_default();
                let kept = if proper { names } else { common };
                let room = KEPT_SENSES.saturating_sub(kept.len());
                kept.extend(senses.iter().take(room).cloned());
            };
            keep(&mut simplified, simp);
            if trad != simp {
                keep(&mut traditional, trad);
            }
        }
        let mut names = HashSet::new();
        let mut senses = |word: &str, (common, proper): (Vec<String>, Vec<String>)| {
            if common.is_empty() {
                names.insert(word.to_string());
                proper
            } else {
                common
            }
        };
        let mut words: HashMap<String, Vec<String>> = HashMap::new();
        for (word, entries) in simplified {
            let s = senses(&word, entries);
            words.insert(word, s);
        }
        // A simplified form wins over the same characters as another word's traditional form.
        for (word, entries) in traditional {
            if let Entry::Vacant(slot) = words.entry(word) {
                let s = senses(slot.key(), entries);
                slot.insert(s);
            }
        }
        Glossary { words, names }
    }

    /// Number of words the dictionary knows.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The question as English search terms: its Latin words as they are ("\ProcessOptions",
    /// "article"), then the English of the first senses of each Chinese word. None when the
    /// question holds no Chinese, holds Japanese kana, or no word of it is known.
    pub fn english_terms(&self, question: &str) -> Option<String> {
        self.look_up(question)?.first_senses()
    }

    /// The question's Latin words and its Chinese words with their senses, for a choice of
    /// senses ([`LookedUp::terms`]). None when the question holds no Chinese or holds kana.
    pub fn look_up(&self, question: &str) -> Option<LookedUp> {
        if !has_chinese(question) || question.chars().any(is_kana) {
            return None;
        }
        let mut words = Vec::new();
        for run in han_runs(question) {
            for word in self.segment(&run) {
                if CHINESE_STOPWORDS.contains(&word.as_str()) {
                    continue;
                }
                let senses = self
                    .words
                    .get(&word)
                    .into_iter()
                    .flatten()
                    .map(|gloss| Sense {
                        words: gloss_words(gloss),
                        gloss: gloss.clone(),
                    })
                    .filter(|s| !s.words.is_empty())
                    .collect();
                words.push(Word {
                    chinese: word,
                    senses,
                });
            }
        }
        Some(LookedUp {
            latin: latin_words(question),
            words,
        })
    }

    /// Cuts a run of Chinese characters into the fewest dictionary words (a character the
    /// dictionary does not know stands alone), a word known only as a name counting one and a
    /// half ("声明|里|加载", declaration, in, to load; not "声明|里加|载", Riga); among equal
    /// cuts, the one with the longer words first.
    fn segment(&self, run: &[char]) -> Vec<String> {
        let n = run.len();
        // best[i]: (cost in half words, where the last word starts) for the first i characters.
        let mut best: Vec<Option<(usize, usize)>> = vec![None; n + 1];
        best[0] = Some((0, 0));
        for i in 0..n {
            let Some((cost, _)) = best[i] else {
                continue;
            };
            for j in i + 1..=n.min(i + LONGEST_WORD) {
                let word: String = run[i..j].iter().collect();
                if j - i > 1 && !self.words.contains_key(&word) {
                    continue;
                }
                let cost = cost + if self.names.contains(&word) { 3 } else { 2 };
                // Among equal cuts, the one whose earlier words are longer ("第一|行", not
                // "第|一行"): the later the last word starts.
                if best[j].is_none_or(|(c, s)| cost < c || (cost == c && i > s)) {
                    best[j] = Some((cost, i));
                }
            }
        }
        let mut words = Vec::new();
        let mut end = n;
        while end > 0 {
            let start = best[end].map_or(end - 1, |(_, s)| s);
            words.push(run[start..end].iter().collect());
            end = start;
        }
        words.reverse();
        words
    }
}

/// A question read through the dictionary.
pub struct LookedUp {
    /// Its Latin words, as written.
    pub latin: Vec<String>,
    /// Its Chinese words other than function words, in order.
    pub words: Vec<Word>,
}

/// A Chinese word of a question with its senses, in the dictionary's order.
pub struct Word {
    pub chinese: String,
    pub senses: Vec<Sense>,
}

/// One sense of a word: the dictionary's gloss, and its search words.
pub struct Sense {
    pub gloss: String,
    pub words: Vec<String>,
}

impl LookedUp {
    /// The search terms: the Latin words, then the words of the senses `choose` picks for each
    /// Chinese word (indices into its senses), each English word once. None when no Chinese
    /// word has a sense.
    pub fn terms(&self, mut choose: impl FnMut(&Word) -> Vec<usize>) -> Option<String> {
        let mut terms = self.latin.clone();
        let mut translated = false;
        for word in &self.words {
            let mut english: Vec<String> = Vec::new();
            for i in choose(word) {
                for w in word
                    .senses
                    .get(i)
                    .map(|s| s.words.as_slice())
                    .unwrap_or(&[])
                {
                    if !english.contains(w) {
                        english.push(w.clone());
                    }
                }
            }
            translated |= !english.is_empty();
            terms.extend(english);
        }
        translated.then(|| terms.join(" "))
    }

    /// The search terms with each word's first senses, in the dictionary's order.
    pub fn first_senses(&self) -> Option<String> {
        self.terms(|word| (0..word.senses.len().min(SENSES)).collect())
    }

    /// The search terms with each word's senses chosen by meaning, through an embedding model
    /// that reads Chinese (`embed`: texts to unit vectors, as questions). A word keeps its first
    /// sense (the commonest) and gains the one whose gloss comes nearest to the word and the
    /// question together (cosine to the word plus cosine to the question), when that is another:
    /// "字体" searches as "calligraphic style" and "font" (the dictionary's first two senses are
    /// "calligraphic style" and "typeface"), "宏" as "great" and "macro (computing)".
    ///
    /// Measured (multilingual-e5-small, hybrid hit@5, 2026-12-04), the first two senses against
    /// the first and the nearest: 40 Chinese questions over the English manuals 0.68 → 0.70
    /// (int8 too); 30 more, written after this was chosen, 0.70 → 0.83 (int8 0.67 → 0.83).
    /// Every choice tried is in docs/bench/multilingual-notes.md.
    pub fn terms_by_meaning(
        &self,
        question: &str,
        embed: impl FnOnce(Vec<String>) -> Result<Vec<Vec<f32>>>,
    ) -> Result<Option<String>> {
        let ambiguous = |w: &Word| w.senses.len() > 1;
        let mut texts = vec![question.to_string()];
        for word in self.words.iter().filter(|w| ambiguous(w)) {
            texts.push(word.chinese.clone());
            texts.extend(word.senses.iter().map(|s| s.gloss.clone()));
        }
        let expected = texts.len();
        let vectors = embed(texts)?;
        if vectors.len() != expected {
            return Err(Error::Embedding(format!(
                "{} vectors for {expected} texts",
                vectors.len()
            )));
        }
        let question_vector = &vectors[0];
        let mut next = 1;
        let mut chosen: Vec<Vec<usize>> = Vec::with_capacity(self.words.len());
        for word in &self.words {
            if !ambiguous(word) {
                chosen.push((0..word.senses.len()).collect());
                continue;
            }
            let word_vector = &vectors[next];
            let glosses = &vectors[next + 1..next + 1 + word.senses.len()];
            next += 1 + word.senses.len();
            // The nearest; on a tie, the earlier in the dictionary.
            let mut nearest = (0, f32::NEG_INFINITY);
            for (i, g) in glosses.iter().enumerate() {
                let score = dot(word_vector, g) + dot(question_vector, g);
                if score > nearest.1 {
                    nearest = (i, score);
                }
            }
            let nearest = nearest.0;
            chosen.push(if nearest == 0 {
                vec![0]
            } else {
                vec![0, nearest]
            });
        }
        let mut words = chosen.into_iter();
        Ok(self.terms(|_| words.next().unwrap_or_default()))
    }
}

/// Whether a text holds a Chinese character.
pub(crate) fn has_chinese(text: &str) -> bool {
    text.chars().any(is_han)
}

/// A Chinese character (CJK unified ideographs and extension A).
fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF)
}

/// Hiragana or katakana: the question is Japanese.
fn is_kana(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF)
}

/// The runs of Chinese characters of a text.
fn han_runs(text: &str) -> Vec<Vec<char>> {
    let mut runs: Vec<Vec<char>> = Vec::new();
    let mut current = Vec::new();
    for c in text.chars() {
        if is_han(c) {
            current.push(c);
        } else if !current.is_empty() {
            runs.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// Latin words of a question, as written: a letter, then letters, digits, `@` or `-`, with a
/// leading `\` or `.` kept ("\hline", ".cfg", "UTF-8").
fn latin_words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_alphabetic() {
            let lead = i > 0 && matches!(chars[i - 1], '\\' | '.');
            let start = if lead { i - 1 } else { i };
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '@' | '-'))
            {
                i += 1;
            }
            words.push(chars[start..i].iter().collect());
        } else {
            i += 1;
        }
    }
    words
}

/// The search words of one gloss: lower case, without its bracketed remarks and stopwords.
/// (Glosses that name no meaning, "CL:個|个[ge4]", never get here: [`Glossary::parse`] leaves
/// them out.)
fn gloss_words(gloss: &str) -> Vec<String> {
    let mut plain = String::with_capacity(gloss.len());
    let mut depth = 0usize;
    for c in gloss.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, words: &mut Vec<String>| {
        if !word.is_empty() && !ENGLISH_STOPWORDS.contains(&word.as_str()) {
            words.push(std::mem::take(word));
        }
        word.clear();
    };
    for c in plain.chars() {
        if c.is_ascii_alphabetic() || (!word.is_empty() && matches!(c, '-' | '\'')) {
            word.push(c.to_ascii_lowercase());
        } else {
            flush(&mut word, &mut words);
        }
    }
    flush(&mut word, &mut words);
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# CC-CEDICT sample
腳注 脚注 [jiao3 zhu4] /footnote/
編號 编号 [bian1 hao4] /to number/numbering/serial number/
選項 选项 [xuan3 xiang4] /option; alternative; choice/to choose a project/
個 个 [ge4] /individual/this/that/size/classifier for people or objects in general/
怎樣 怎样 [zen3 yang4] /how/what kind/
文檔 文档 [wen2 dang4] /document/file/
文 文 [wen2] /language/culture/writing/
檔 档 [dang4] /file/record/
說 说 [shuo1] /to speak/to say/
説 说 [shuo1] /variant of 說|说[shuo1]/
頁 页 [ye4] /page/CL:張|张[zhang1]/
類 类 [lei4] /kind/type/class/category/similar/
第一 第一 [di4 yi1] /first/number one/
一行 一行 [yi1 xing2] /party/delegation/
行 行 [hang2] /row/line/
加 加 [Jia1] /Canada (abbr. for 加拿大[Jia1 na2 da4])/surname Jia/
加 加 [jia1] /to add/plus/to apply (restrictions etc) to (sb)/
號 号 [hao2] /roar/CL:個|个[ge4]/cry/
頁邊距 页边距 [ye4 bian1 ju4] /margin (of a page)/
宏 宏 [hong2] /great/magnificent/macro (computing)/macro-/
里加 里加 [Li3 jia1] /Riga, capital of Latvia/
加載 加载 [jia1 zai4] /to load/
聲明 声明 [sheng1 ming2] /to state/to declare/statement/declaration/
悄悄 悄悄 [qiao1 qiao1] /Taiwan pr. [qiao3 qiao3]/quietly/
";

    fn sample() -> Glossary {
        Glossary::parse(SAMPLE)
    }

    #[test]
    fn segments_into_the_fewest_known_words() {
        let g = sample();
        let run: Vec<char> = "怎样更改页边距".chars().collect();
        assert_eq!(g.segment(&run), vec!["怎样", "更", "改", "页边距"]);
        let run: Vec<char> = "文档".chars().collect();
        assert_eq!(g.segment(&run), vec!["文档"]);
        // Two cuts of two words: the longer word first ("the first line", not "第" and "a
        // delegation").
        let run: Vec<char> = "第一行".chars().collect();
        assert_eq!(g.segment(&run), vec!["第一", "行"]);
    }

    #[test]
    fn translates_chinese_words_and_keeps_latin_ones() {
        let g = sample();
        assert_eq!(
            g.english_terms("怎样给 \\footnote 的脚注编号？").as_deref(),
            Some("\\footnote footnote number numbering")
        );
        // Two senses at most; the bracketed remark and the stopwords go.
        assert_eq!(
            g.english_terms("选项").as_deref(),
            Some("option alternative choice choose project")
        );
        assert_eq!(g.english_terms("页边距").as_deref(), Some("margin"));
        // A measure-word gloss carries nothing.
        assert_eq!(g.english_terms("页").as_deref(), Some("page"));
        assert_eq!(g.english_terms("档").as_deref(), Some("file record"));
        // Traditional characters are looked up too.
        assert_eq!(g.english_terms("腳注").as_deref(), Some("footnote"));
    }

    #[test]
    fn leaves_english_japanese_and_unknown_questions_alone() {
        let g = sample();
        assert_eq!(g.english_terms("How do I number footnotes?"), None);
        assert_eq!(g.english_terms("脚注の番号を変えるには"), None);
        assert_eq!(g.english_terms("的了吗"), None);
    }

    #[test]
    fn proper_names_and_measure_words_give_way_to_the_common_senses() {
        let g = sample();
        // "Canada" and "surname Jia" come first in the dictionary.
        assert_eq!(g.english_terms("加").as_deref(), Some("add plus"));
        // A measure word is not counted among the two senses.
        assert_eq!(g.english_terms("号").as_deref(), Some("roar cry"));
        // Senses whose words are all stopwords ("kind", "type") give way to the next ones.
        assert_eq!(g.english_terms("类").as_deref(), Some("class category"));
    }

    #[test]
    fn a_variant_keeps_the_first_entrys_senses() {
        let g = sample();
        assert_eq!(g.english_terms("说").as_deref(), Some("speak say"));
    }

    #[test]
    fn latin_words_keep_their_command_and_extension_marks() {
        assert_eq!(
            latin_words("在 .cfg 里用 \\hline 和 UTF-8、expl3"),
            vec![".cfg", "\\hline", "UTF-8", "expl3"]
        );
    }

    /// Vectors along a few axes, as a model would give for these texts: the fake stands in for
    /// an embedding model only in this unit test (tests/multilingual.rs uses the real one).
    fn axis(i: usize) -> Vec<f32> {
        let mut v = vec![0.0; 4];
        v[i] = 1.0;
        v
    }

    #[test]
    fn senses_by_meaning_keep_the_first_and_add_the_nearest() {
        let g = sample();
        let question = "宏的页边距";
        let looked_up = g.look_up(question).unwrap();
        let words: Vec<&str> = looked_up.words.iter().map(|w| w.chinese.as_str()).collect();
        assert_eq!(words, ["宏", "页边距"]);
        assert_eq!(
            looked_up.first_senses().unwrap(),
            "great magnificent margin"
        );
        let mut asked = Vec::new();
        let by_meaning = looked_up
            .terms_by_meaning(question, |texts| {
                asked = texts.clone();
                // The question and 宏 lie along axis 0, "macro (computing)" too; the other
                // glosses elsewhere.
                Ok(texts
                    .iter()
                    .map(|t| match t.as_str() {
                        "宏的页边距" | "宏" | "macro (computing)" => axis(0),
                        "great" => axis(1),
                        _ => axis(2),
                    })
                    .collect())
            })
            .unwrap();
        // Only the word with more than one sense is weighed: "页边距" has one.
        assert_eq!(
            asked,
            [
                "宏的页边距",
                "宏",
                "great",
                "magnificent",
                "macro (computing)",
                "macro-"
            ]
        );
        assert_eq!(by_meaning.unwrap(), "great macro margin");
        // The first sense nearest (here tied with "macro-"): it stands alone.
        let first = looked_up
            .terms_by_meaning(question, |texts| {
                Ok(texts
                    .iter()
                    .map(|t| match t.as_str() {
                        "magnificent" | "macro (computing)" => axis(3),
                        _ => axis(0),
                    })
                    .collect())
            })
            .unwrap();
        assert_eq!(first.unwrap(), "great margin");
        // A model that gives the wrong number of vectors is an error, not a silent choice.
        assert!(looked_up
            .terms_by_meaning(question, |_| Ok(vec![axis(0)]))
            .is_err());
    }

    #[test]
    fn a_name_costs_more_than_a_common_word_when_cutting() {
        let g = sample();
        let run: Vec<char> = "声明里加载".chars().collect();
        assert_eq!(g.segment(&run), vec!["声明", "里", "加载"]);
        // A name still stands where nothing else fits.
        let run: Vec<char> = "里加".chars().collect();
        assert_eq!(g.segment(&run), vec!["里加"]);
    }

    #[test]
    fn a_pronunciation_note_is_not_a_sense() {
        let g = sample();
        assert_eq!(g.english_terms("悄悄").unwrap(), "quietly");
    }
}
