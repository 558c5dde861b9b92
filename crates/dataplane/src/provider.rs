//! Where a model's requests go: the built-in `echo` provider, and OpenAI-compatible upstreams.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, Uri, header};
use gatehouse_api::Secret;
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{READ_TIMEOUT, UpstreamBody, UpstreamClient, UpstreamError};
use super::egress::refusal_in;
use super::error::DataPlaneError;
use super::request::{ChatRequest, Object, TextTokens, content_text, text_tokens};

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
        let body = request.object();
        let last = body
            .get("messages")
            .and_then(Value::as_array)
            .and_then(|m| m.last());
        let text = content_text(last.and_then(|m| m.get("content")));
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
struct Answer<'a> {
    #[serde(borrow)]
    object: Option<std::borrow::Cow<'a, str>>,
    choices: Option<Vec<Object<AnswerChoice>>>,
    usage: Option<UpstreamUsage>,
}

#[derive(Debug, Deserialize)]
struct AnswerChoice {
    message: Option<Object<Content>>,
    delta: Option<Object<Content>>,
}

/// A message's text, counted as it is read: it is needed only when the upstream reports no
/// usage, and kept it would be a copy of the whole answer.
#[derive(Debug, Deserialize)]
struct Content {
    content: Option<TextTokens>,
}

/// `bytes` read as a chat completion (`object` "chat.completion", at least one choice, each
/// with a `message` object) or, with `chunk`, as a streamed `chat.completion.chunk` (choices,
/// maybe none, each an object whose `delta` is one when it has one), in one pass: only such
/// answers reach the caller, so that an upstream that is not a model cannot pass anything on.
fn chat_answer(bytes: &[u8], chunk: bool) -> Option<(Vec<AnswerChoice>, Option<UpstreamUsage>)> {
    let Object(answer) = serde_json::from_slice::<Object<Answer>>(bytes).ok()?;
    let object = if chunk {
        "chat.completion.chunk"
    } else {
        "chat.completion"
    };
    if answer.object.is_some_and(|o| o != object) {
        return None;
    }
    let choices: Vec<AnswerChoice> = answer.choices?.into_iter().map(|c| c.0).collect();
    let shaped = chunk || (!choices.is_empty() && choices.iter().all(|c| c.message.is_some()));
    shaped.then_some((choices, answer.usage))
}

/// `{base}/chat/completions`, or `None` when `base` has a query or fragment (then the path
/// would not be the one appended).
pub fn endpoint(mut base: url::Url) -> Option<url::Url> {
    if base.query().is_some() || base.fragment().is_some() {
        return None;
    }
    base.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(["chat", "completions"]);
    Some(base)
}

/// The address check refused the upstream. The caller learns only that; the log (the admin's)
/// says why.
fn not_allowed(why: &str) -> DataPlaneError {
    tracing::warn!(
        reason = why,
        "upstream not called: its address is not allowed"
    );
    DataPlaneError::upstream(
        StatusCode::BAD_GATEWAY,
        "upstream_not_allowed",
        "The model's upstream is at an address this gateway does not call; tell an admin.",
    )
}

/// Sends `body` to `endpoint` (the model's endpoint once it passed the checks that the
/// resolver cannot make: an IP-literal host, which is connected to without resolving it, and no
/// query; none if they refused it): the answer's head, if its status is a success.
async fn send(
    http: &UpstreamClient,
    endpoint: Option<&Uri>,
    key: Option<&Secret>,
    body: Bytes,
    accept: Option<&'static str>,
) -> Result<Response<UpstreamBody>, DataPlaneError> {
    let uri = endpoint.cloned().ok_or_else(|| {
        not_allowed("the base URL is an address or a form the gateway does not call")
    })?;
    let mut headers = HeaderMap::with_capacity(3);
    if let Some(accept) = accept {
        headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
    }
    if let Some(key) = key {
        let Ok(mut value) = HeaderValue::try_from(format!("Bearer {}", key.expose())) else {
            tracing::warn!("upstream not called: its configured key cannot be sent in a header");
            return Err(unavailable());
        };
        value.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, value);
    }
    let response = http
        .post(uri, headers, body)
        .await
        .map_err(|e| unreachable_upstream(&e))?;
    if !response.status().is_success() {
        return Err(refused(&response));
    }
    Ok(response)
}

fn unavailable() -> DataPlaneError {
    DataPlaneError::upstream(
        StatusCode::BAD_GATEWAY,
        "upstream_unavailable",
        "The model's upstream could not be reached.",
    )
}

fn unreachable_upstream(e: &UpstreamError) -> DataPlaneError {
    if let Some(refused) = refusal_in(e) {
        return not_allowed(&refused.to_string());
    }
    // The error's text may hold the URL, which is the admin's to see, not the caller's.
    tracing::warn!(error = %e, "upstream request failed");
    if e.is_timeout() {
        DataPlaneError::upstream(
            StatusCode::GATEWAY_TIMEOUT,
            "upstream_timeout",
            "The model's upstream did not answer in time.",
        )
    } else {
        unavailable()
    }
}

fn not_a_chat_answer() -> DataPlaneError {
    DataPlaneError::upstream(
        StatusCode::BAD_GATEWAY,
        "upstream_error",
        "The model's upstream answered with something other than a chat completion.",
    )
}

/// An upstream's non-2xx answer as the client gets it: by its status alone. Its body is never
/// passed on: it may quote the gateway's key, and it is whatever the upstream chose to say.
fn refused<B>(response: &Response<B>) -> DataPlaneError {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    tracing::warn!(%status, "upstream refused a request");
    let code = status.as_u16();
    match code {
        // The gateway's own key was refused: nothing the caller can fix.
        401 | 403 => DataPlaneError::upstream(
            StatusCode::BAD_GATEWAY,
            "upstream_auth_failed",
            "The model's upstream refused the gateway's credentials; tell an admin.",
        ),
        429 => DataPlaneError {
            retry_after_secs: Some(retry_after.unwrap_or(1)),
            ..DataPlaneError::upstream(
                StatusCode::TOO_MANY_REQUESTS,
                "upstream_rate_limited",
                "The model's upstream is limiting the gateway's requests; try again later.",
            )
        },
        300..=399 => DataPlaneError::upstream(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            format!(
                "The model's upstream answered with a redirect (HTTP {code}), which the gateway \
                 does not follow; tell an admin."
            ),
        ),
        400..=499 => DataPlaneError::upstream(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            format!("The model's upstream refused the request (HTTP {code})."),
        ),
        _ => DataPlaneError::upstream(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            format!("The model's upstream failed (HTTP {code})."),
        ),
    }
}

/// Sends a non-streamed request upstream and reads the whole answer: a chat completion as the
/// upstream sent it, and the usage it reported (or an estimate).
pub async fn complete(
    http: &UpstreamClient,
    endpoint: Option<&Uri>,
    key: Option<&Secret>,
    request: &ChatRequest,
) -> Result<(Bytes, Usage), DataPlaneError> {
    let answer = async {
        let response = send(http, endpoint, key, request.upstream_body(), None).await?;
        response
            .into_body()
            .bytes(MAX_ANSWER)
            .await
            .map_err(|e| match e {
                UpstreamError::TooLarge(_) => DataPlaneError::upstream(
                    StatusCode::BAD_GATEWAY,
                    "upstream_error",
                    "The model's upstream answered with too large a body.",
                ),
                e => unreachable_upstream(&e),
            })
    };
    let body = tokio::time::timeout(ANSWER_TIMEOUT, answer)
        .await
        .map_err(|_| unreachable_upstream(&UpstreamError::Timeout))??;
    let (choices, usage) = chat_answer(&body, false).ok_or_else(not_a_chat_answer)?;
    let usage = match usage {
        Some(u) => Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
        },
        None => Usage {
            input_tokens: request.estimated_input_tokens,
            output_tokens: choices
                .iter()
                .filter_map(|c| Some(c.message.as_ref()?.0.content.as_ref()?.0))
                .sum(),
        },
    };
    Ok((body, usage))
}

/// Opens a streamed request upstream, asking for the usage at the end of the stream.
pub async fn open_stream(
    http: &UpstreamClient,
    endpoint: Option<&Uri>,
    key: Option<&Secret>,
    request: &ChatRequest,
) -> Result<UpstreamBody, DataPlaneError> {
    let mut body = request.object().into_owned();
    let options = body.entry("stream_options").or_insert_with(|| json!({}));
    if !options.is_object() {
        *options = json!({});
    }
    options["include_usage"] = json!(true);
    let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
    let response = tokio::time::timeout(
        READ_TIMEOUT,
        send(http, endpoint, key, body, Some("text/event-stream")),
    )
    .await
    .map_err(|_| unreachable_upstream(&UpstreamError::Timeout))??;
    let events = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.trim_start().starts_with("text/event-stream"));
    if !events {
        return Err(not_a_chat_answer());
    }
    Ok(response.into_body())
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
    /// What of it may reach the caller: its `chat.completion.chunk` data lines, each an event
    /// of its own; none of its other lines or data.
    pub relay: Vec<u8>,
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
        let Some((choices, usage)) = chat_answer(data.as_bytes(), true) else {
            continue;
        };
        seen.relay.extend_from_slice(b"data: ");
        seen.relay.extend_from_slice(data.as_bytes());
        seen.relay.extend_from_slice(b"\n\n");
        if let Some(u) = &usage {
            seen.usage = Some(Usage {
                input_tokens: u.prompt_tokens,
                output_tokens: u.completion_tokens,
            });
            seen.usage_only = choices.is_empty();
        }
        seen.output_tokens += choices
            .iter()
            .filter_map(|c| Some(c.delta.as_ref()?.0.content.as_ref()?.0))
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

    #[test]
    fn an_answer_without_usage_is_counted_from_its_text_escapes_decoded() {
        let body = br#"{"object":"chat.completion","choices":[
            {"message":{"content":"twelve chars"}},
            {"message":{"content":"a\"b\u00e9"}},
            {"message":{"content":null}}]}"#;
        let (choices, usage) = chat_answer(body, false).unwrap();
        assert!(usage.is_none());
        let tokens: Vec<Option<i64>> = choices
            .iter()
            .map(|c| Some(c.message.as_ref()?.0.content.as_ref()?.0))
            .collect();
        // 12 bytes are 3 tokens; `a"bé`, 5 bytes once decoded, 2.
        assert_eq!(tokens, [Some(3), Some(2), None]);
    }

    #[test]
    fn only_chat_completion_shapes_pass() {
        let completion = json!({"object": "chat.completion", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}}]});
        let answer =
            |v: &Value, chunk: bool| chat_answer(v.to_string().as_bytes(), chunk).is_some();
        assert!(answer(&completion, false));
        assert!(!answer(&completion, true));
        for other in [
            json!({"Code": "Success", "SecretAccessKey": "x"}),
            json!({"choices": []}),
            json!({"choices": [{"text": "x"}]}),
            json!({"object": "list", "choices": [{"message": {}}]}),
            json!(["choices"]),
        ] {
            assert!(!answer(&other, false), "{other}");
        }
        assert!(answer(&json!({"choices": [], "usage": {}}), true));
        assert!(!answer(&json!({"choices": [{"delta": "x"}]}), true));
        // An array where an object belongs, and a duplicated key, are not a model's answer.
        assert!(!answer(&json!({"choices": [[{"content": "x"}]]}), false));
        assert!(!answer(&json!({"choices": [{"message": [null]}]}), false));
        assert!(chat_answer(br#"{"choices":[{"message":{}}],"choices":[]}"#, false).is_none());

        // Other lines and data of an event do not reach the caller.
        let seen = inspect(
            b"event: x\nid: 1\ndata: {\"secret\":1}\ndata: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\n",
        );
        assert_eq!(
            String::from_utf8(seen.relay).unwrap(),
            "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\n"
        );
        assert!(inspect(b"data: {\"secret\":1}\n\n").relay.is_empty());
    }

    #[test]
    fn the_endpoint_is_below_the_base_and_a_query_is_refused() {
        let at = |base: &str| endpoint(url::Url::parse(base).unwrap()).map(String::from);
        assert_eq!(
            at("https://api.example.com/v1/").as_deref(),
            Some("https://api.example.com/v1/chat/completions")
        );
        assert_eq!(
            at("http://127.0.0.1:9").as_deref(),
            Some("http://127.0.0.1:9/chat/completions")
        );
        assert_eq!(at("http://127.0.0.1:9/v1?x="), None);
        assert_eq!(at("http://127.0.0.1:9/v1#x"), None);
    }
}
