//! Where a model's requests go: the built-in `echo` provider, and OpenAI-compatible upstreams.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use gatehouse_api::Secret;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::DataPlaneError;
use super::request::{ChatRequest, content_text, text_tokens};

/// Tokens a request used, as the provider reported them or, failing that, as estimated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: i64,
    pub output_tokens: i64,
}

fn usage_json(usage: Usage) -> Value {
    json!({
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
    })
}

/// The built-in provider: answers with the text of the last message, cut to `max_tokens`
/// (about four bytes a token), so the same request always gets the same answer and usage.
pub mod echo {
    use super::*;

    /// The reply's text and its finish reason.
    pub fn reply(request: &ChatRequest) -> (String, &'static str) {
        let text = content_text(request.messages().last().and_then(|m| m.get("content")));
        match request.max_tokens {
            Some(max) if text_tokens(&text) > max => {
                let mut end = usize::try_from(max.saturating_mul(4)).unwrap_or(usize::MAX);
                end = end.min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                (text[..end].to_owned(), "length")
            }
            _ => (text, "stop"),
        }
    }

    pub fn usage(request: &ChatRequest, reply: &str) -> Usage {
        Usage {
            input_tokens: request.estimated_input_tokens,
            output_tokens: text_tokens(reply),
        }
    }

    /// A whole `chat.completion`, serialised only when it is sent (a replay never sends it).
    pub fn completion(id: &str, created: i64, request: &ChatRequest) -> (Value, Usage) {
        let (text, finish) = reply(request);
        let usage = usage(request, &text);
        let body = json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": request.model,
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": text },
                "finish_reason": finish,
            }],
            "usage": usage_json(usage),
        });
        (body, usage)
    }

    /// The stream of `chat.completion.chunk` events of the same answer, without the final
    /// `[DONE]`: the role, the text in pieces of about a word, the finish reason and, when the
    /// client asked for it, the usage.
    pub fn chunks(id: &str, created: i64, request: &ChatRequest) -> (Vec<Bytes>, Usage) {
        let (text, finish) = reply(request);
        let usage = usage(request, &text);
        let chunk = |delta: Value, finish: Option<&str>| {
            super::event(&json!({
                "id": id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": request.model,
                "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
            }))
        };
        let mut events = vec![chunk(json!({ "role": "assistant", "content": "" }), None)];
        let mut start = 0;
        for (i, _) in text.match_indices(' ') {
            events.push(chunk(json!({ "content": &text[start..=i] }), None));
            start = i + 1;
        }
        if start < text.len() {
            events.push(chunk(json!({ "content": &text[start..] }), None));
        }
        events.push(chunk(json!({}), Some(finish)));
        if request.include_usage {
            events.push(super::event(&json!({
                "id": id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": request.model,
                "choices": [],
                "usage": usage_json(usage),
            })));
        }
        (events, usage)
    }
}

/// One server-sent event carrying `data`.
pub fn event(data: &Value) -> Bytes {
    Bytes::from(format!("data: {data}\n\n"))
}

pub const DONE: &[u8] = b"data: [DONE]\n\n";

/// The client the gateway calls upstreams with.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        // Between two reads of a response: a stream may pause while a model thinks.
        .read_timeout(Duration::from_secs(300))
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .build()
        .unwrap_or_default()
}

/// How long a whole non-streamed answer may take.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(600);
/// The largest answer body read from an upstream.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

#[derive(Debug, Deserialize)]
struct UpstreamUsage {
    #[serde(default)]
    prompt_tokens: i64,
    #[serde(default)]
    completion_tokens: i64,
}

#[derive(Debug, Deserialize)]
struct Answer {
    usage: Option<UpstreamUsage>,
    #[serde(default)]
    choices: Vec<AnswerChoice>,
}

#[derive(Debug, Deserialize)]
struct AnswerChoice {
    message: Option<Content>,
    delta: Option<Content>,
}

#[derive(Debug, Deserialize)]
struct Content {
    content: Option<String>,
}

/// What an upstream answered a non-streamed request with.
#[derive(Debug)]
pub enum Answered {
    /// 2xx: the body as the upstream sent it, and the usage it reported (or an estimate).
    Ok(Bytes, Usage),
    /// An error the client should see as the upstream put it (a 4xx about its request).
    Relay(StatusCode, Bytes),
    /// An error that is the gateway's or the upstream's business, not the client's.
    Failed(DataPlaneError),
}

/// `{base}/chat/completions`.
pub fn endpoint(base: &str) -> String {
    format!("{}/chat/completions", base.trim_end_matches('/'))
}

fn send(
    http: &reqwest::Client,
    base: &str,
    key: Option<&Secret>,
    body: &serde_json::Map<String, Value>,
) -> reqwest::RequestBuilder {
    let mut r = http
        .post(endpoint(base))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(body).unwrap_or_default());
    if let Some(key) = key {
        r = r.bearer_auth(key.expose());
    }
    r
}

fn unreachable_upstream(e: &reqwest::Error) -> DataPlaneError {
    // The error's text may hold the URL, which is the admin's to see, not the caller's.
    tracing::warn!(error = %e, "upstream request failed");
    if e.is_timeout() {
        DataPlaneError::upstream(
            StatusCode::GATEWAY_TIMEOUT,
            "upstream_timeout",
            "The model's upstream did not answer in time.",
        )
    } else {
        DataPlaneError::upstream(
            StatusCode::BAD_GATEWAY,
            "upstream_unavailable",
            "The model's upstream could not be reached.",
        )
    }
}

/// An upstream's non-2xx answer as the client gets it.
async fn refused(response: reqwest::Response) -> Answered {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body = response.bytes().await.unwrap_or_default();
    tracing::warn!(%status, "upstream refused a request");
    match status.as_u16() {
        // The gateway's own key was refused: nothing the caller can fix, and the upstream's
        // message may quote part of the key.
        401 | 403 => Answered::Failed(DataPlaneError::upstream(
            StatusCode::BAD_GATEWAY,
            "upstream_auth_failed",
            "The model's upstream refused the gateway's credentials; tell an admin.",
        )),
        429 => Answered::Failed(DataPlaneError {
            retry_after_secs: Some(retry_after.unwrap_or(1)),
            ..DataPlaneError::upstream(
                StatusCode::TOO_MANY_REQUESTS,
                "upstream_rate_limited",
                "The model's upstream is limiting the gateway's requests; try again later.",
            )
        }),
        400..=499 if serde_json::from_slice::<Value>(&body).is_ok() => Answered::Relay(
            StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_REQUEST),
            body,
        ),
        _ => Answered::Failed(DataPlaneError::upstream(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            format!("The model's upstream failed (HTTP {}).", status.as_u16()),
        )),
    }
}

/// Sends a non-streamed request upstream and reads the whole answer.
pub async fn complete(
    http: &reqwest::Client,
    base: &str,
    key: Option<&Secret>,
    request: &ChatRequest,
) -> Answered {
    let response = match send(http, base, key, &request.body)
        .timeout(ANSWER_TIMEOUT)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return Answered::Failed(unreachable_upstream(&e)),
    };
    if !response.status().is_success() {
        return refused(response).await;
    }
    let body = match response.bytes().await {
        Ok(b) if b.len() <= MAX_ANSWER => b,
        Ok(_) => {
            return Answered::Failed(DataPlaneError::upstream(
                StatusCode::BAD_GATEWAY,
                "upstream_error",
                "The model's upstream answered with too large a body.",
            ));
        }
        Err(e) => return Answered::Failed(unreachable_upstream(&e)),
    };
    let usage = match serde_json::from_slice::<Answer>(&body) {
        Ok(Answer { usage: Some(u), .. }) => Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
        },
        Ok(answer) => Usage {
            input_tokens: request.estimated_input_tokens,
            output_tokens: answer
                .choices
                .iter()
                .filter_map(|c| c.message.as_ref()?.content.as_deref())
                .map(text_tokens)
                .sum(),
        },
        Err(_) => {
            return Answered::Failed(DataPlaneError::upstream(
                StatusCode::BAD_GATEWAY,
                "upstream_error",
                "The model's upstream answered with something other than a chat completion.",
            ));
        }
    };
    Answered::Ok(body, usage)
}

/// Opens a streamed request upstream, asking for the usage at the end of the stream.
pub async fn open_stream(
    http: &reqwest::Client,
    base: &str,
    key: Option<&Secret>,
    request: &ChatRequest,
) -> Result<reqwest::Response, Answered> {
    let mut body = request.body.clone();
    let options = body.entry("stream_options").or_insert_with(|| json!({}));
    if !options.is_object() {
        *options = json!({});
    }
    options["include_usage"] = json!(true);
    let response = send(http, base, key, &body)
        .header(reqwest::header::ACCEPT, "text/event-stream")
        .send()
        .await
        .map_err(|e| Answered::Failed(unreachable_upstream(&e)))?;
    if !response.status().is_success() {
        return Err(refused(response).await);
    }
    Ok(response)
}

/// Splits a byte stream of server-sent events into whole events (each with its blank line).
#[derive(Debug, Default)]
pub struct SseSplitter {
    buffer: Vec<u8>,
}

/// The end of the first event in `buf`: after its `\n\n` or `\r\n\r\n`.
fn event_end(buf: &[u8]) -> Option<usize> {
    (0..buf.len()).find_map(|i| {
        if buf[i..].starts_with(b"\n\n") {
            Some(i + 2)
        } else if buf[i..].starts_with(b"\r\n\r\n") {
            Some(i + 4)
        } else {
            None
        }
    })
}

impl SseSplitter {
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = event_end(&self.buffer) {
            events.push(Bytes::from(self.buffer.drain(..end).collect::<Vec<u8>>()));
        }
        events
    }

    /// What is left when the stream ends: an event without its blank line, if any.
    pub fn rest(&mut self) -> Option<Bytes> {
        let rest = std::mem::take(&mut self.buffer);
        (!rest.iter().all(u8::is_ascii_whitespace)).then(|| Bytes::from(rest))
    }
}

/// What an event of an upstream's stream says.
#[derive(Debug, Default, PartialEq)]
pub struct Seen {
    pub done: bool,
    pub usage: Option<Usage>,
    /// Only usage: the chunk the gateway asked for, which a client that did not ask for it
    /// must not get.
    pub usage_only: bool,
    /// Estimated tokens of the text it carries.
    pub output_tokens: i64,
}

pub fn inspect(event: &[u8]) -> Seen {
    let mut seen = Seen::default();
    let text = String::from_utf8_lossy(event);
    for line in text.lines() {
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let data = data.trim();
        if data == "[DONE]" {
            seen.done = true;
            continue;
        }
        let Ok(answer) = serde_json::from_str::<Answer>(data) else {
            continue;
        };
        if let Some(u) = &answer.usage {
            seen.usage = Some(Usage {
                input_tokens: u.prompt_tokens,
                output_tokens: u.completion_tokens,
            });
            seen.usage_only = answer.choices.is_empty();
        }
        seen.output_tokens += answer
            .choices
            .iter()
            .filter_map(|c| c.delta.as_ref()?.content.as_deref())
            .map(text_tokens)
            .sum::<i64>();
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(v: Value) -> ChatRequest {
        ChatRequest::from_value(v).unwrap()
    }

    #[test]
    fn echo_answers_with_the_last_message_cut_to_max_tokens() {
        let r = request(json!({"model": "echo", "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "héllo there, world"}
        ], "max_tokens": 2}));
        let (text, finish) = echo::reply(&r);
        assert_eq!((text.as_str(), finish), ("héllo t", "length"));
        let (v, usage) = echo::completion("id1", 7, &r);
        assert_eq!(v["choices"][0]["message"]["content"], "héllo t");
        assert_eq!(v["usage"]["completion_tokens"], usage.output_tokens);
        assert_eq!(usage.input_tokens, r.estimated_input_tokens);
        let (events, same) = echo::chunks("id1", 7, &r);
        assert_eq!(same, usage);
        let streamed: String = events
            .iter()
            .map(|e| {
                let v: Value = serde_json::from_slice(&e[6..e.len() - 2]).unwrap();
                v["choices"][0]["delta"]["content"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        assert_eq!(streamed, "héllo t");
    }

    #[test]
    fn events_split_across_chunks_and_usage_is_found() {
        let mut s = SseSplitter::default();
        assert!(
            s.push(b"data: {\"choices\":[{\"delta\":{\"content\":\"abcd")
                .is_empty()
        );
        let events = s.push(b"efgh\"}}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":5}}\r\n\r\ndata: [DONE]\n\n");
        assert_eq!(events.len(), 3);
        assert_eq!(inspect(&events[0]).output_tokens, 2);
        let usage = inspect(&events[1]);
        assert!(usage.usage_only);
        assert_eq!(usage.usage.unwrap().output_tokens, 5);
        assert!(inspect(&events[2]).done);
        assert!(s.rest().is_none());
    }
}
