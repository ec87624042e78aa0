//! The HTTP JSON API (`/v1/...`, described in `openapi.json`).
//!
//! Every request needs `Authorization: Bearer TOKEN`. A user sees the documents of the
//! collections they are a member of and the conversations they started, nothing else: a
//! document or conversation they may not see answers 404, exactly as one that does not exist,
//! so that its existence is never revealed. Errors are JSON, `{"error": "..."}`.
//!
//! The engine and the database are synchronous: every handler does its work in
//! `spawn_blocking`, never on the async threads.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use futures_util::StreamExt;
use quire_engine::{AskEvent, AskOptions, Engine, ErrorKind, Flow, SearchOptions};
use serde::Deserialize;
use serde_json::{json, Value};

use super::db::{self, Db, User};
use super::jobs::Wake;

/// The OpenAPI description of this API, served at `/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// A body beyond the limit is still read (and thrown away) up to this much more, so that the
/// client gets the 413 answer instead of a connection reset while it is still sending.
const DRAIN_BEYOND_LIMIT: u64 = 64 << 20;

/// What every handler shares.
pub struct App {
    pub engine: Arc<Engine>,
    pub db: Arc<Db>,
    pub wake: Arc<Wake>,
    /// The largest upload, in bytes.
    pub max_upload: u64,
}

type Shared = Arc<App>;

/// An error answer: a status and one sentence, sent as `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// Failed on a connection that broke before the request (the database restarted since it
    /// was last used): worth trying again at once, on a fresh one.
    broken: bool,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            broken: false,
        }
    }

    fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("there is no {what}"))
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// The database is down, restarting or out of reach: 503, to be tried again.
    fn unavailable(cause: &str) -> ApiError {
        let cause = cause.trim_start_matches("library database: ");
        log_unreachable(cause);
        let mut error = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the library's database cannot be reached ({cause}); try again in a moment"),
        );
        error.broken = !db::connect_failure(cause);
        error
    }
}

/// Says that the database cannot be reached, at most once every [`UNREACHABLE_LOG_EVERY`]
/// (every request fails alike meanwhile), with how many such failures were not said.
fn log_unreachable(cause: &str) {
    static LAST: Mutex<Option<(Instant, u64)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    match &mut *last {
        Some((at, unsaid)) if at.elapsed() < UNREACHABLE_LOG_EVERY => *unsaid += 1,
        _ => {
            let unsaid = last.map_or(0, |(_, n)| n);
            let more = match unsaid {
                0 => String::new(),
                n => format!(" (and {n} times more since it was last said)"),
            };
            eprintln!("quire serve: the database cannot be reached: {cause}{more}");
            *last = Some((Instant::now(), 0));
        }
    }
}

/// See [`log_unreachable`].
const UNREACHABLE_LOG_EVERY: Duration = Duration::from_secs(10);

/// Seconds a client is asked to wait before trying again after a 503.
const RETRY_AFTER: &str = "5";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "error": self.message }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
        }
        response
    }
}

/// Database and other unexpected failures: logged here, one sentence to the client; 503 when
/// the database cannot be reached.
impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> ApiError {
        if db::unreachable(&e) {
            return ApiError::unavailable(&format!("{e:#}"));
        }
        eprintln!("quire serve: {e:#}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}"))
    }
}

impl From<quire_engine::Error> for ApiError {
    fn from(e: quire_engine::Error) -> ApiError {
        if db::engine_unreachable(&e) {
            return ApiError::unavailable(&e.to_string());
        }
        let status = match e.kind() {
            ErrorKind::Usage => StatusCode::BAD_REQUEST,
            ErrorKind::EmptyLibrary => StatusCode::CONFLICT,
            ErrorKind::Busy => StatusCode::SERVICE_UNAVAILABLE,
            _ => {
                eprintln!("quire serve: {e}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        ApiError::new(status, e.to_string())
    }
}

type Answer<T> = Result<T, ApiError>;

/// How many times a request is tried when its connections to the database turn out broken:
/// more than the connections kept idle (the engine's and the server's), each of which a
/// database restart breaks.
const TRIES_ON_BROKEN: usize = 12;

/// Runs `work` (engine or database calls) on a blocking thread; again when it failed on a
/// connection that broke since it was last used (see [`ApiError::broken`]), which fails at its
/// first use, before anything was done, until a fresh connection answers or cannot be made.
async fn blocking<T: Send + 'static>(work: impl Fn() -> Answer<T> + Send + 'static) -> Answer<T> {
    let tries = move || {
        let mut tried = 1;
        loop {
            match work() {
                Err(e) if e.broken && tried < TRIES_ON_BROKEN => tried += 1,
                done => return done,
            }
        }
    };
    tokio::task::spawn_blocking(tries).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the request failed: {e}"),
        )
    })?
}

pub fn router(app: Shared) -> Router {
    let upload_limit = DefaultBodyLimit::disable();
    Router::new()
        .route(
            "/v1/collections/{name}/documents",
            post(upload).layer(upload_limit),
        )
        .route("/v1/collections", get(collections))
        .route("/v1/jobs/{id}", get(job))
        .route("/v1/documents", get(documents))
        .route("/v1/documents/{id}", axum::routing::delete(delete_document))
        .route("/v1/documents/{id}/pdf", get(pdf))
        .route("/v1/search", post(search))
        .route("/v1/ask", post(ask))
        .route("/v1/conversations", get(conversations))
        .route(
            "/v1/conversations/{id}",
            get(conversation)
                .delete(delete_conversation)
                .patch(rename_conversation),
        )
        .route("/v1/openapi.json", get(openapi))
        .fallback(|| async { ApiError::not_found("such endpoint") })
        .layer(middleware::from_fn_with_state(app.clone(), authenticate))
        .with_state(app)
}

/// Lets a request through only with the bearer token of a user, who then rides along with it.
async fn authenticate(State(app): State<Shared>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "send your token as \"Authorization: Bearer TOKEN\"",
        )
        .into_response();
    };
    let db = app.db.clone();
    match blocking(move || Ok(db.user_by_token(&token)?)).await {
        Ok(Some(user)) => {
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        Ok(None) => {
            ApiError::new(StatusCode::UNAUTHORIZED, "this token is not valid").into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// A path's id; anything else names nothing.
fn id_of(text: &str, what: &str) -> Answer<i64> {
    text.parse().map_err(|_| ApiError::not_found(what))
}

/// A JSON body of type `T`, with a JSON error when it is not one.
fn body_of<T: serde::de::DeserializeOwned>(body: &Bytes) -> Answer<T> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("bad request body: {e}")))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

// ---- documents ----

#[derive(Deserialize)]
struct UploadQuery {
    name: Option<String>,
}

/// A file name as it may be stored under its collection: one path segment.
fn check_file_name(name: &str) -> Answer<()> {
    let ok = !name.trim().is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains('\\')
        && !name.chars().any(char::is_control);
    if !ok {
        return Err(ApiError::bad_request(format!(
            "a file name is 1 to 255 bytes without '/', '\\' or control characters, not {name:?}"
        )));
    }
    Ok(())
}

async fn upload(
    State(app): State<Shared>,
    Extension(user): Extension<User>,
    Path(collection): Path<String>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Answer<Response> {
    let name = query
        .name
        .or_else(|| {
            headers
                .get("x-quire-name")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .ok_or_else(|| {
            ApiError::bad_request("name the file: ?name=FILE.pdf or an X-Quire-Name header")
        })?;
    check_file_name(&name)?;
    let db = app.db.clone();
    let (user_id, wanted) = (user.id, collection.clone());
    let collection_id = blocking(move || Ok(db.member_collection(user_id, &wanted)?))
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("collection {collection:?} of yours")))?;
    let limit = app.max_upload;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let bytes = read_limited(body, limit, declared).await?;
    if !bytes.starts_with(b"%PDF-") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "only PDF files can be added (this one does not start with %PDF-)",
        ));
    }
    let (db, wake) = (app.db.clone(), app.wake.clone());
    let job = blocking(move || {
        let job = db.enqueue(user_id, collection_id, &name, &bytes)?;
        wake.ring();
        Ok(job)
    })
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/v1/jobs/{job}"))],
        Json(json!({ "job": job, "status": "queued" })),
    )
        .into_response())
}

/// The body, up to `limit` bytes; 413 beyond (after reading a bounded rest, see
/// [`DRAIN_BEYOND_LIMIT`]).
async fn read_limited(body: Body, limit: u64, declared: Option<u64>) -> Answer<Vec<u8>> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the file is larger than this server accepts ({} MB)",
                limit / (1 << 20)
            ),
        )
    };
    let mut stream = body.into_data_stream();
    if declared.is_some_and(|n| n > limit + DRAIN_BEYOND_LIMIT) {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(limit) as usize);
    let mut seen: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("the upload broke off: {e}")))?;
        seen += chunk.len() as u64;
        if seen > limit + DRAIN_BEYOND_LIMIT {
            break;
        }
        if seen <= limit {
            bytes.extend_from_slice(&chunk);
        }
    }
    if seen > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

async fn job(
    State(app): State<Shared>,
    Extension(user): Extension<User>,
    Path(id): Path<String>,
) -> Answer<Json<Value>> {
    let id = id_of(&id, "such job")?;
    let db = app.db.clone();
    blocking(move || {
        db.job(user.id, id)?
            .ok_or_else(|| ApiError::not_found("such job"))
    })
    .await
    .map(Json)
}

/// The collections the user belongs to (where their uploads may go).
async fn collections(
    State(app): State<Shared>,
    Extension(user): Extension<User>,
) -> Answer<Json<Value>> {
    let db = app.db.clone();
    blocking(move || Ok(Value::Array(db.member_collections(user.id)?)))
        .await
        .map(Json)
}

async fn documents(
    State(app): State<Shared>,
    Extension(user): Extension<User>,
) -> Answer<Json<Value>> {
    blocking(move || {
        let visible: HashMap<i64, String> =
            app.db.visible_documents(user.id)?.into_iter().collect();
        if visible.is_empty() {
            return Ok(json!([]));
        }
        let listed: Vec<Value> = app
            .engine
            .documents()?
            .into_iter()
            .filter_map(|doc| {
                let collection = visible.get(&doc.id)?.clone();
                let mut value = serde_json::to_value(&doc).ok()?;
                value["collection"] = Value::String(collection);
                Some(value)
            })
            .collect();
        Ok(Value::Array(listed))
    })
    .await
    .map(Json)
}

async fn pdf(
    State(app): State<Shared>,
    Extension(user): Extension<User>,
    Path(id): Path<String>,
) -> Answer<Response> {
    let id = id_of(&id, "such document")?;
    let bytes = blocking(move || {
        if !app.db.can_see_document(user.id, id)? {
            return Err(ApiError::not_found("such document"));
        }
        app.db
            .pdf(id)?
            .ok_or_else(|| ApiError::not_found("such document"))
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], bytes).into_response())
}

async fn delete_document(
    State(app): State<Shared>,
    Extension(user): Extension<User>,
    Path(id): Path<String>,
) -> Answer<StatusCode> {
    let id = id_of(&id, "such document")?;
    blocking(move || {
        if !app.db.can_see_document(user.id, id)? {
            return Err(ApiError::not_found("such document"));
        }
        // Its collection row and stored PDF go with it (ON DELETE CASCADE).
        app.engine.remove(id)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// The ids of the ready-or-not documents `user` may search; empty when none (which the engine
/// would read as "all": the caller must answer without asking it).
fn searchable(app: &App, user: i64) -> Answer<Vec<i64>> {
    Ok(app
        .db
        .visible_documents(user)?
        .into_iter()
        .map(|(id, _)| id)
        .collect())
}

// ---- search and ask ----

#[derive(Deserialize)]
struct SearchRequest {
    query: String,
    k: Option<usize>,
}

async fn search(
    State(app): State<Shared>,
    Extension(user): Extension<User>,
    body: Bytes,
) -> Answer<Json<Value>> {
    let request: SearchRequest = body_of(&body)?;
    blocking(move || {
        let docs = searchable(&app, user.id)?;
        if docs.is_empty() {
            return Ok(json!([]));
        }
        let allowed: HashSet<i64> = docs.iter().copied().collect();
        let options = SearchOptions {
            k: request.k.unwrap_or(5),
            docs,
            ..SearchOptions::default()
        };
        let hits: Vec<_> = app
            .engine
            .search(&request.query, &options)?
            .into_iter()
            .filter(|hit| allowed.contains(&hit.chunk.document_id))
            .collect();
        Ok(serde_json::to_value(hits).map_err(anyhow::Error::from)?)
    })
    .await
    .map(Json)
}

#[derive(Deserialize)]
struct AskRequest {
    question: String,
    k: Option<usize>,
    conversation: Option<i64>,
    /// False: the documents' own sentences only, no answer model.
    generate: Option<bool>,
}

/// The SSE name of an event: its `event` tag (`sources`, `quotes`, `text`, `cite`, `done`).
fn event_name(event: &AskEvent) -> &'static str {
    match event {
        AskEvent::Sources(_) => "sources",
        AskEvent::Quotes(_) => "quotes",
        AskEvent::Text(_) => "text",
        AskEvent::Cite(_) => "cite",
        AskEvent::Done(_) => "done",
    }
}

async fn ask(
    State(app): State<Shared>,
    Extension(user): Extension<User>,
    body: Bytes,
) -> Answer<Response> {
    let request: AskRequest = body_of(&body)?;
    let checked = app.clone();
    let docs = blocking(move || {
        if let Some(id) = request.conversation {
            if !checked.db.owns_conversation(user.id, id)? {
                return Err(ApiError::not_found("such conversation"));
            }
        }
        let docs = searchable(&checked, user.id)?;
        if docs.is_empty() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "there are no documents in your collections to answer from",
            ));
        }
        Ok(docs)
    })
    .await?;
    let options = AskOptions {
        k: request.k.unwrap_or(5),
        docs,
        conversation: request.conversation,
        generate: request.generate.unwrap_or(true),
        ..AskOptions::default()
    };
    options.validate()?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(64);
    let question = request.question;
    tokio::task::spawn_blocking(move || {
        // Tried again, as [`blocking`] does, when a broken connection failed it before it said
        // anything.
        let mut sent = false;
        let mut tried = 0;
        let result = loop {
            tried += 1;
            let result = app.engine.ask(&question, &options, &mut |event| {
                sent = true;
                if let AskEvent::Done(answer) = event {
                    // Owned before the client hears of it, so that it can open it at once.
                    if let (None, Some(id)) = (options.conversation, answer.conversation_id) {
                        if let Err(e) = app.db.own_conversation(user.id, id) {
                            eprintln!("quire serve: conversation {id}: {e:#}");
                        }
                    }
                }
                let data = serde_json::to_string(event).unwrap_or_default();
                let sse = Event::default().event(event_name(event)).data(data);
                // The client went away: stop writing (what was written is kept).
                match tx.blocking_send(sse) {
                    Ok(()) => Flow::Continue,
                    Err(_) => Flow::Stop,
                }
            });
            match result {
                Err(e)
                    if !sent
                        && tried < TRIES_ON_BROKEN
                        && db::engine_unreachable(&e)
                        && !db::connect_failure(&e.to_string()) => {}
                result => break result,
            }
        };
        if let Err(e) = result {
            let message = match db::engine_unreachable(&e) {
                true => ApiError::unavailable(&e.to_string()).message,
                false => e.to_string(),
            };
            let data = json!({ "error": message }).to_string();
            let _ = tx.blocking_send(Event::default().event("error").data(data));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

// ---- conversations ----

/// Conversation `id` when `user` owns it; 404 otherwise.
fn owned(app: &App, user: i64, id: &str) -> Answer<i64> {
    let id = id_of(id, "such conversation")?;
    if !app.db.owns_conversation(user, id)? {
        return Err(ApiError::not_found("such conversation"));
    }
    Ok(id)
}

async fn conversations(
    State(app): State<Shared>,
    Extension(user): Extension<User>,
) -> Answer<Json<Value>> {
    blocking(move || {
        let own: HashSet<i64> = app.db.owned_conversations(user.id)?.into_iter().collect();
        let listed: Vec<_> = app
            .engine
            .conversations()?
            .into_iter()
            .filter(|c| own.contains(&c.id))
            .collect();
        Ok(serde_json::to_value(listed).map_err(anyhow::Error::from)?)
    })
    .await
    .map(Json)
}

async fn conversation(
    State(app): State<Shared>,
    Extension(user): Extension<User>,
    Path(id): Path<String>,
) -> Answer<Json<Value>> {
    blocking(move || {
        let id = owned(&app, user.id, &id)?;
        let messages = app.engine.conversation_messages(id)?;
        Ok(json!({ "id": id, "messages": messages }))
    })
    .await
    .map(Json)
}

async fn delete_conversation(
    State(app): State<Shared>,
    Extension(user): Extension<User>,
    Path(id): Path<String>,
) -> Answer<StatusCode> {
    blocking(move || {
        let id = owned(&app, user.id, &id)?;
        app.engine.delete_conversation(id)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[derive(Deserialize)]
struct Rename {
    title: String,
}

async fn rename_conversation(
    State(app): State<Shared>,
    Extension(user): Extension<User>,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer<Json<Value>> {
    let rename: Rename = body_of(&body)?;
    blocking(move || {
        let id = owned(&app, user.id, &id)?;
        app.engine.rename_conversation(id, &rename.title)?;
        Ok(json!({ "id": id, "title": rename.title }))
    })
    .await
    .map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_one_path_segment() {
        check_file_name("paper v2.pdf").unwrap();
        for bad in ["", " ", ".", "..", "a/b.pdf", "a\\b.pdf", "a\nb.pdf"] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_openapi_description_is_json_and_names_every_route() {
        let spec: Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(spec["openapi"], "3.1.0");
        for path in [
            "/v1/collections",
            "/v1/collections/{name}/documents",
            "/v1/jobs/{id}",
            "/v1/documents",
            "/v1/documents/{id}",
            "/v1/documents/{id}/pdf",
            "/v1/search",
            "/v1/ask",
            "/v1/conversations",
            "/v1/conversations/{id}",
            "/v1/openapi.json",
        ] {
            assert!(spec["paths"][path].is_object(), "{path} is not described");
        }
    }
}
