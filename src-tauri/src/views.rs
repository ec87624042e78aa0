//! The engine's values as the UI sees them (camelCase JSON; events tagged `{event, data}`).
//! The TypeScript side of this contract is `ui/src/lib/types.ts`.

use serde::Serialize;

use quire_engine::{
    AddEvent, Answer, Citation, Conversation, Document, FileOutcome, LibraryStatus, Quote,
    StoredMessage,
};

fn path(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentView {
    id: i64,
    path: String,
    title: String,
    pages: u32,
    chunks: u64,
    status: &'static str,
    error_kind: Option<&'static str>,
    error: Option<String>,
    added_at: String,
}

impl From<&Document> for DocumentView {
    fn from(d: &Document) -> Self {
        DocumentView {
            id: d.id,
            path: d.path.clone(),
            title: d.title.clone(),
            pages: d.pages,
            chunks: d.chunks,
            status: d.status.as_str(),
            error_kind: d.error_kind.map(|k| k.as_str()),
            error: d.error.clone(),
            added_at: d.added_at.clone(),
        }
    }
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct FileOutcomeView {
    path: String,
    status: &'static str,
    document_id: Option<i64>,
    pages: u32,
    chunks: u64,
    error_kind: Option<&'static str>,
    error: Option<String>,
}

impl From<&FileOutcome> for FileOutcomeView {
    fn from(o: &FileOutcome) -> Self {
        FileOutcomeView {
            path: path(&o.path),
            status: o.status.as_str(),
            document_id: o.document_id,
            pages: o.pages,
            chunks: o.chunks,
            error_kind: o.error_kind.map(|k| k.as_str()),
            error: o.error.clone(),
        }
    }
}

#[derive(Serialize, Clone)]
#[serde(tag = "event", content = "data", rename_all = "camelCase")]
pub enum IngestEvent {
    #[serde(rename_all = "camelCase")]
    Planned {
        files: usize,
        to_index: usize,
    },
    #[serde(rename_all = "camelCase")]
    Reading {
        path: String,
        pages_done: u32,
        pages_total: u32,
    },
    #[serde(rename_all = "camelCase")]
    Embedding {
        path: String,
        chunks_done: usize,
        chunks_total: usize,
    },
    Finished(FileOutcomeView),
    #[serde(rename_all = "camelCase")]
    Done {
        seconds: f64,
        failed: usize,
    },
}

impl From<&AddEvent<'_>> for IngestEvent {
    fn from(e: &AddEvent<'_>) -> Self {
        match e {
            AddEvent::Planned { files, to_index } => IngestEvent::Planned {
                files: *files,
                to_index: *to_index,
            },
            AddEvent::Reading {
                path: p,
                pages_done,
                pages_total,
            } => IngestEvent::Reading {
                path: path(p),
                pages_done: *pages_done,
                pages_total: *pages_total,
            },
            AddEvent::Embedding {
                path: p,
                chunks_done,
                chunks_total,
            } => IngestEvent::Embedding {
                path: path(p),
                chunks_done: *chunks_done,
                chunks_total: *chunks_total,
            },
            AddEvent::Finished(outcome) => IngestEvent::Finished((*outcome).into()),
        }
    }
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct CitationView {
    n: usize,
    cited: bool,
    attributed: bool,
    chunk_id: Option<i64>,
    document_id: Option<i64>,
    title: String,
    path: String,
    page_start: u32,
    page_end: u32,
    char_start: usize,
    char_end: usize,
    text: String,
}

impl From<&Citation> for CitationView {
    fn from(c: &Citation) -> Self {
        CitationView {
            n: c.n,
            cited: c.cited,
            attributed: c.attributed,
            chunk_id: c.chunk_id,
            document_id: c.document_id,
            title: c.title.clone(),
            path: c.path.clone(),
            page_start: c.page_start,
            page_end: c.page_end,
            char_start: c.char_start,
            char_end: c.char_end,
            text: c.text.clone(),
        }
    }
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct QuoteView {
    n: usize,
    document_id: Option<i64>,
    page: u32,
    char_start: usize,
    char_end: usize,
    text: String,
}

impl From<&Quote> for QuoteView {
    fn from(q: &Quote) -> Self {
        QuoteView {
            n: q.n,
            document_id: q.document_id,
            page: q.page,
            char_start: q.char_start,
            char_end: q.char_end,
            text: q.text.clone(),
        }
    }
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct AnswerView {
    conversation_id: Option<i64>,
    message_id: Option<i64>,
    text: String,
    citations: Vec<CitationView>,
    quotes: Vec<QuoteView>,
    stop: &'static str,
    relevant: bool,
}

impl From<&Answer> for AnswerView {
    fn from(a: &Answer) -> Self {
        AnswerView {
            conversation_id: a.conversation_id,
            message_id: a.message_id,
            text: a.text.clone(),
            citations: a.citations.iter().map(Into::into).collect(),
            quotes: a.quotes.iter().map(Into::into).collect(),
            stop: a.stats.stop.as_str(),
            relevant: a.prompt.relevant,
        }
    }
}

#[derive(Serialize, Clone)]
#[serde(tag = "event", content = "data", rename_all = "camelCase")]
pub enum AnswerEvent {
    Sources(Vec<CitationView>),
    Text(String),
    Done(AnswerView),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationView {
    id: i64,
    title: String,
    created_at: String,
    updated_at: String,
    messages: u64,
}

impl From<&Conversation> for ConversationView {
    fn from(c: &Conversation) -> Self {
        ConversationView {
            id: c.id,
            title: c.title.clone(),
            created_at: c.created_at.clone(),
            updated_at: c.updated_at.clone(),
            messages: c.messages,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    id: i64,
    role: &'static str,
    content: String,
    stop: Option<String>,
    created_at: String,
    citations: Vec<CitationView>,
    quotes: Vec<QuoteView>,
}

impl From<&StoredMessage> for MessageView {
    fn from(m: &StoredMessage) -> Self {
        MessageView {
            id: m.id,
            role: m.role.as_str(),
            content: m.content.clone(),
            stop: m.stop.clone(),
            created_at: m.created_at.clone(),
            citations: m.citations.iter().map(Into::into).collect(),
            quotes: m.quotes.iter().map(Into::into).collect(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelView {
    path: String,
    present: bool,
    problem: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    library_dir: String,
    models_dir: String,
    embedding_model: ModelView,
    answer_model: ModelView,
    device: String,
    device_warning: Option<String>,
    documents: u64,
    chunks: u64,
    problems: Vec<String>,
}

impl From<&LibraryStatus> for StatusView {
    fn from(s: &LibraryStatus) -> Self {
        let model = |m: &quire_engine::ModelStatus| ModelView {
            path: path(&m.path),
            present: m.present,
            problem: m.problem.clone(),
        };
        StatusView {
            library_dir: path(&s.library_dir),
            models_dir: path(&s.models_dir),
            embedding_model: model(&s.embedding_model),
            answer_model: model(&s.answer_model),
            device: s.device.clone(),
            device_warning: s.device_warning.clone(),
            documents: s.documents.values().sum(),
            chunks: s.chunks,
            problems: s.problems.clone(),
        }
    }
}
