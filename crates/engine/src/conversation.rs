//! Conversations: questions, answers, and the sources and quotes each answer was given, kept in
//! the library's SQLite database.

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::answer::{Citation, Quote};
use crate::error::{Error, Result};
use crate::generate::{Message, Role};
use crate::markers::{segments, Segment};
use crate::storage::Storage;
use crate::store::{passage_columns, Passage, Store};
use crate::verify::{AnswerSentence, Omission, Outcome};

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Conversation {
    pub id: i64,
    pub title: String,
    pub created_at: String,
    pub updated_at: String,
    pub messages: u64,
}

/// A question or an answer as stored.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct StoredMessage {
    pub id: i64,
    pub role: Role,
    pub content: String,
    /// The content split into text and citations of `citations` (see [`crate::markers`]).
    pub segments: Vec<Segment>,
    /// Why an answer ended ("end_of_text", "cancelled", …); `None` for questions.
    pub stop: Option<String>,
    pub created_at: String,
    pub citations: Vec<Citation>,
    pub quotes: Vec<Quote>,
    /// The answer as checked; `None` for questions and for answers stored before Quire
    /// checked answers.
    pub checked: Option<Checked>,
}

/// An answer as checked, as stored with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Checked {
    pub outcome: Outcome,
    pub sentences: Vec<AnswerSentence>,
    pub omitted: Vec<Omission>,
}

/// One finished exchange, ready to store.
pub struct Exchange<'a> {
    pub question: &'a str,
    pub answer: &'a str,
    pub stop: &'a str,
    pub citations: &'a [Citation],
    pub quotes: &'a [Quote],
    pub checked: &'a Checked,
}

fn conversation_from_row(r: &rusqlite::Row) -> rusqlite::Result<Conversation> {
    Ok(Conversation {
        id: r.get(0)?,
        title: r.get(1)?,
        created_at: r.get(2)?,
        updated_at: r.get(3)?,
        messages: r.get::<_, i64>(4)? as u64,
    })
}

const CONVERSATION_COLUMNS: &str = "v.id, v.title, v.created_at, v.updated_at, \
     (SELECT count(*) FROM messages m WHERE m.conversation_id = v.id)";

impl Store {
    pub fn create_conversation(&self, title: &str) -> Result<i64> {
        self.conn
            .execute("INSERT INTO conversations(title) VALUES (?1)", [title])?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn conversation(&self, id: i64) -> Result<Option<Conversation>> {
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations v WHERE v.id = ?1");
        Ok(self
            .conn
            .query_row(&sql, [id], conversation_from_row)
            .optional()?)
    }

    /// All conversations, the most recently active first.
    pub fn conversations(&self) -> Result<Vec<Conversation>> {
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations v ORDER BY v.updated_at DESC, v.id DESC"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], conversation_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Renames a conversation; false when there is none with this id.
    pub fn rename_conversation(&self, id: i64, title: &str) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE conversations SET title = ?2 WHERE id = ?1",
            params![id, title],
        )? > 0)
    }

    /// Deletes a conversation with its messages; false when there is none with this id.
    pub fn delete_conversation(&self, id: i64) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM conversations WHERE id = ?1", [id])?
            > 0)
    }

    /// The last `limit` messages of a conversation, oldest first, as the model sees history
    /// ([`paired_turns`]).
    pub fn recent_turns(&self, conversation_id: i64, limit: usize) -> Result<Vec<Message>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT role, content FROM messages WHERE conversation_id = ?1
             ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![conversation_id, limit as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut turns: Vec<Message> = Vec::new();
        for row in rows {
            let (role, content) = row?;
            let role = if role == "user" {
                Role::User
            } else {
                Role::Assistant
            };
            turns.push(Message::new(role, content));
        }
        turns.reverse();
        Ok(paired_turns(turns))
    }

    /// Stores a question and its answer with their sources and quotes in one transaction.
    /// Returns the answer's message id.
    pub fn put_exchange(&mut self, conversation_id: i64, exchange: &Exchange) -> Result<i64> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO messages(conversation_id, role, content) VALUES (?1, 'user', ?2)",
            params![conversation_id, exchange.question],
        )?;
        // Plain data: serialising it cannot fail.
        let checked = serde_json::to_string(exchange.checked).ok();
        tx.execute(
            "INSERT INTO messages(conversation_id, role, content, stop, checked)
             VALUES (?1, 'assistant', ?2, ?3, ?4)",
            params![conversation_id, exchange.answer, exchange.stop, checked],
        )?;
        let message_id = tx.last_insert_rowid();
        {
            let mut cite = tx.prepare_cached(
                "INSERT INTO citations(message_id, n, cited, attributed, chunk_id, document_id,
                                       title, path, page_start, page_end, char_start, char_end,
                                       text, by_words_only)
                 VALUES (?1, ?2, ?3, ?13,
                         (SELECT id FROM chunks WHERE id = ?4),
                         (SELECT id FROM documents WHERE id = ?5),
                         ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?14)",
            )?;
            for c in exchange.citations {
                cite.execute(params![
                    message_id,
                    c.n as i64,
                    c.cited,
                    c.chunk_id,
                    c.document_id,
                    c.passage.title,
                    c.passage.path,
                    c.passage.page_start,
                    c.passage.page_end,
                    c.passage.char_start as i64,
                    c.passage.char_end as i64,
                    c.passage.text,
                    c.attributed,
                    c.by_words_only
                ])?;
            }
            let mut quote = tx.prepare_cached(
                "INSERT INTO quotes(message_id, rank, n, document_id, page, char_start, char_end,
                                    text)
                 VALUES (?1, ?2, ?3, (SELECT id FROM documents WHERE id = ?4), ?5, ?6, ?7, ?8)",
            )?;
            for (rank, q) in exchange.quotes.iter().enumerate() {
                quote.execute(params![
                    message_id,
                    rank as i64,
                    q.n as i64,
                    q.document_id,
                    q.page,
                    q.char_start as i64,
                    q.char_end as i64,
                    q.text
                ])?;
            }
        }
        tx.execute(
            "UPDATE conversations SET updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
             WHERE id = ?1",
            [conversation_id],
        )?;
        tx.commit()?;
        Ok(message_id)
    }

    /// Every message of a conversation, oldest first, answers with their sources and quotes.
    pub fn messages(&self, conversation_id: i64) -> Result<Vec<StoredMessage>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, role, content, stop, created_at, checked FROM messages
             WHERE conversation_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([conversation_id], |r| {
            let role: String = r.get(1)?;
            Ok(StoredMessage {
                id: r.get(0)?,
                role: if role == "user" {
                    Role::User
                } else {
                    Role::Assistant
                },
                content: r.get(2)?,
                segments: Vec::new(),
                stop: r.get(3)?,
                created_at: r.get(4)?,
                citations: Vec::new(),
                quotes: Vec::new(),
                checked: r
                    .get::<_, Option<String>>(5)?
                    .and_then(|json| serde_json::from_str(&json).ok()),
            })
        })?;
        let mut messages: Vec<StoredMessage> = rows.collect::<rusqlite::Result<_>>()?;
        let mut cites = self.conn.prepare_cached(&format!(
            "SELECT n, cited, attributed, chunk_id, document_id, by_words_only, {}
             FROM citations WHERE message_id = ?1 ORDER BY n",
            passage_columns("citations")
        ))?;
        let mut quotes = self.conn.prepare_cached(
            "SELECT n, document_id, page, char_start, char_end, text
             FROM quotes WHERE message_id = ?1 ORDER BY rank",
        )?;
        for m in messages.iter_mut().filter(|m| m.role == Role::Assistant) {
            m.citations = cites
                .query_map([m.id], |r| {
                    Ok(Citation {
                        n: r.get::<_, i64>(0)? as usize,
                        cited: r.get(1)?,
                        attributed: r.get(2)?,
                        chunk_id: r.get(3)?,
                        document_id: r.get(4)?,
                        by_words_only: r.get(5)?,
                        passage: Passage::from_row(r, 6)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            m.quotes = quotes
                .query_map([m.id], |r| {
                    Ok(Quote {
                        n: r.get::<_, i64>(0)? as usize,
                        document_id: r.get(1)?,
                        page: r.get(2)?,
                        char_start: r.get::<_, i64>(3)? as usize,
                        char_end: r.get::<_, i64>(4)? as usize,
                        text: r.get(5)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            m.segments = segments(&m.content, m.citations.len());
        }
        Ok(messages)
    }
}

/// The last messages of a conversation, oldest first, as the model sees history: starting with
/// a question, each paired with its answer; answers stopped before they said anything are left
/// out with their question.
pub(crate) fn paired_turns(mut turns: Vec<Message>) -> Vec<Message> {
    // History starts with a question and pairs each with its answer.
    while turns.first().is_some_and(|m| m.role != Role::User) {
        turns.remove(0);
    }
    let mut paired = Vec::with_capacity(turns.len());
    let mut i = 0;
    while i + 1 < turns.len() {
        if turns[i].role == Role::User
            && turns[i + 1].role == Role::Assistant
            && !turns[i + 1].content.trim().is_empty()
        {
            paired.push(turns[i].clone());
            paired.push(turns[i + 1].clone());
            i += 2;
        } else {
            i += 1;
        }
    }
    paired
}

/// Every message of a conversation, oldest first.
pub(crate) fn messages(store: &dyn Storage, id: i64) -> Result<Vec<StoredMessage>> {
    if store.conversation(id)?.is_none() {
        return Err(no_conversation(id));
    }
    store.messages(id)
}

pub(crate) fn rename(store: &dyn Storage, id: i64, title: &str) -> Result<()> {
    let title = title.trim();
    if title.is_empty() {
        return Err(Error::Usage("a conversation needs a title".into()));
    }
    if !store.rename_conversation(id, title)? {
        return Err(no_conversation(id));
    }
    Ok(())
}

pub(crate) fn delete(store: &dyn Storage, id: i64) -> Result<()> {
    if !store.delete_conversation(id)? {
        return Err(no_conversation(id));
    }
    Ok(())
}

pub(crate) fn no_conversation(id: i64) -> Error {
    Error::Usage(format!("there is no conversation {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn citation(n: usize, cited: bool) -> Citation {
        Citation {
            n,
            cited,
            attributed: false,
            chunk_id: Some(999),
            document_id: Some(999),
            by_words_only: false,
            passage: Passage {
                title: "Guide".into(),
                path: "/guide.pdf".into(),
                page_start: 2,
                page_end: 3,
                char_start: 5,
                char_end: 40,
                text: "Passage.".into(),
                ocr_confidence: None,
            },
        }
    }

    #[test]
    fn exchanges_round_trip_and_history_pairs_turns() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("library.sqlite")).unwrap();
        let id = store.create_conversation("Margins").unwrap();
        let quote = Quote {
            n: 2,
            document_id: None,
            page: 3,
            char_start: 7,
            char_end: 20,
            text: "A sentence.".into(),
        };
        let cites = [citation(1, false), citation(2, true)];
        let checked = Checked {
            outcome: Outcome::Verified,
            sentences: vec![AnswerSentence {
                text: "Like this.".into(),
                sources: vec![2],
                support: crate::verify::Support::Supported,
                dropped: vec![1],
                added: Vec::new(),
                unknown: Vec::new(),
            }],
            omitted: Vec::new(),
        };
        let none = Checked {
            outcome: Outcome::FromDocuments,
            sentences: Vec::new(),
            omitted: Vec::new(),
        };
        store
            .put_exchange(
                id,
                &Exchange {
                    question: "How?",
                    answer: "Like this [2].",
                    stop: "end_of_text",
                    citations: &cites,
                    quotes: std::slice::from_ref(&quote),
                    checked: &checked,
                },
            )
            .unwrap();
        store
            .put_exchange(
                id,
                &Exchange {
                    question: "Stopped?",
                    answer: "",
                    stop: "cancelled",
                    citations: &[],
                    quotes: &[],
                    checked: &none,
                },
            )
            .unwrap();
        let messages = store.messages(id).unwrap();
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[1].content, "Like this [2].");
        // Unknown chunk and document ids are stored as gone, the rest as given.
        let mut expected = cites.to_vec();
        for c in &mut expected {
            c.chunk_id = None;
            c.document_id = None;
        }
        assert_eq!(messages[1].citations, expected);
        assert_eq!(messages[1].quotes, vec![quote]);
        assert_eq!(messages[1].checked.as_ref(), Some(&checked));
        assert_eq!(messages[0].checked, None, "questions are not checked");
        let turns = store.recent_turns(id, 10).unwrap();
        assert_eq!(
            turns,
            vec![
                Message::new(Role::User, "How?"),
                Message::new(Role::Assistant, "Like this [2].")
            ]
        );
        assert_eq!(store.conversations().unwrap()[0].messages, 4);
        assert!(store.rename_conversation(id, "Page margins").unwrap());
        assert_eq!(
            store.conversation(id).unwrap().unwrap().title,
            "Page margins"
        );
        assert!(store.delete_conversation(id).unwrap());
        assert!(store.messages(id).unwrap().is_empty());
        assert!(!store.delete_conversation(id).unwrap());
    }
}
