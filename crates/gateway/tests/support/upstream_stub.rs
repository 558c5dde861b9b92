//! A stand-in for an OpenAI-compatible provider, the one part of the data plane's path we do not
//! own: `POST /v1/chat/completions` on 127.0.0.1, answering with fixed text and usage, streamed
//! (with the usage chunk when asked for it) or not. It records what it was sent, can hold
//! requests until released (for concurrency), and can answer with an error status, a redirect
//! or any body of its test's choosing.
#![allow(dead_code)] // each user uses part of it

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The usage every answer reports.
pub const PROMPT_TOKENS: i64 = 11;
pub const COMPLETION_TOKENS: i64 = 7;
pub const ANSWER: &str = "stub answer";

/// What the stub received with one request.
#[derive(Debug, Clone)]
pub struct Received {
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Debug, Default)]
pub struct StubState {
    pub received: Mutex<Vec<Received>>,
    /// When set, each request waits for a permit before it answers.
    pub hold: Mutex<Option<Arc<tokio::sync::Semaphore>>>,
    /// Requests waiting for a permit.
    pub holding: AtomicUsize,
    /// 0: answer normally; otherwise this status with an OpenAI-style error body.
    pub fail_with: AtomicU16,
    /// Whether to record what was sent (off for the benchmark).
    pub record: std::sync::atomic::AtomicBool,
    /// When set, every request is answered `307 Temporary Redirect` to this URL.
    pub redirect_to: Mutex<Option<String>>,
    /// When set, every request is answered 200 with this content type and body.
    pub raw_answer: Mutex<Option<(String, String)>>,
}

pub struct UpstreamStub {
    pub addr: SocketAddr,
    pub state: Arc<StubState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for UpstreamStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl UpstreamStub {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        Self::serve(listener)
    }

    pub fn serve(listener: tokio::net::TcpListener) -> Self {
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(StubState::default());
        state.record.store(true, Ordering::SeqCst);
        let app = axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(chat))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, state, task }
    }

    /// The base URL a model's `upstream_base_url` takes.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// From now on, requests wait until [`UpstreamStub::release`] lets them through.
    pub fn hold(&self) {
        *self.state.hold.lock().unwrap() = Some(Arc::new(tokio::sync::Semaphore::new(0)));
    }

    /// Lets `n` held requests (present or future) through.
    pub fn release(&self, n: usize) {
        if let Some(s) = self.state.hold.lock().unwrap().as_ref() {
            s.add_permits(n);
        }
    }

    pub fn holding(&self) -> usize {
        self.state.holding.load(Ordering::SeqCst)
    }

    pub fn fail_with(&self, status: u16) {
        self.state.fail_with.store(status, Ordering::SeqCst);
    }

    pub fn redirect_to(&self, url: &str) {
        *self.state.redirect_to.lock().unwrap() = Some(url.to_owned());
    }

    /// Answers with `body` of `content_type` from now on; `None` answers normally again.
    pub fn answer_raw(&self, answer: Option<(&str, &str)>) {
        *self.state.raw_answer.lock().unwrap() = answer.map(|(t, b)| (t.to_owned(), b.to_owned()));
    }
}

fn chunk(delta: Value, finish: Option<&str>) -> String {
    let c = json!({
        "id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1, "model": "stub",
        "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        "usage": null,
    });
    format!("data: {c}\n\n")
}

async fn chat(
    State(state): State<Arc<StubState>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if state.record.load(Ordering::Relaxed) {
        state.received.lock().unwrap().push(Received {
            authorization: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: body.clone(),
        });
    }
    let hold = state.hold.lock().unwrap().clone();
    if let Some(hold) = hold {
        state.holding.fetch_add(1, Ordering::SeqCst);
        let permit = hold.acquire().await;
        state.holding.fetch_sub(1, Ordering::SeqCst);
        permit.unwrap().forget();
    }
    let redirect = state.redirect_to.lock().unwrap().clone();
    if let Some(location) = redirect {
        return (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response();
    }
    let raw = state.raw_answer.lock().unwrap().clone();
    if let Some((content_type, body)) = raw {
        return ([(header::CONTENT_TYPE, content_type)], body).into_response();
    }
    let fail = state.fail_with.load(Ordering::SeqCst);
    if fail != 0 {
        let status = StatusCode::from_u16(fail).unwrap();
        return (
            status,
            Json(json!({ "error": { "message": "stub failure: Incorrect API key provided: sk-stu****",
                                     "type": "invalid_request_error", "code": "stub", "param": null } })),
        )
            .into_response();
    }
    let usage = json!({
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    });
    if body["stream"] == json!(true) {
        let mut out = chunk(json!({ "role": "assistant", "content": "" }), None);
        out += &chunk(json!({ "content": "stub" }), None);
        out += &chunk(json!({ "content": " answer" }), None);
        out += &chunk(json!({}), Some("stop"));
        if body["stream_options"]["include_usage"] == json!(true) {
            let c = json!({ "id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 1,
                            "model": "stub", "choices": [], "usage": usage });
            out += &format!("data: {c}\n\n");
        }
        out += "data: [DONE]\n\n";
        // In small pieces, as a network would deliver them.
        let pieces: Vec<Result<Vec<u8>, std::io::Error>> = out
            .into_bytes()
            .chunks(37)
            .map(|c| Ok(c.to_vec()))
            .collect();
        return (
            [(header::CONTENT_TYPE, "text/event-stream")],
            Body::from_stream(futures_util::stream::iter(pieces)),
        )
            .into_response();
    }
    Json(json!({
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 1,
        "model": body["model"],
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": ANSWER }, "finish_reason": "stop" }],
        "usage": usage,
    }))
    .into_response()
}
