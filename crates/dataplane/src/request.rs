//! A chat completion request as the gateway reads it: the client's JSON object, kept whole to be
//! forwarded, with the few fields enforcement needs checked, and the estimate of its input tokens
//! that the `input_tokens_per_min` limit counts before the upstream has answered.

use std::borrow::Cow;

use axum::body::Bytes;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::error::{DataPlaneError, DpResult};

/// Tokens per message besides its text, and for priming the reply: OpenAI's published rule of
/// thumb for chat models.
const PER_MESSAGE: i64 = 4;
const PER_REPLY: i64 = 3;
/// What a non-text part (an image, audio) counts for: the size of a low-detail image.
const PER_OTHER_PART: i64 = 85;

/// About four bytes of text per token, rounded up: an estimate that errs high for non-Latin
/// scripts (more bytes per character), which is the safe side for a limit.
pub fn text_tokens(text: &str) -> i64 {
    (text.len() as i64 + 3) / 4
}

/// The estimated prompt tokens of `messages`.
pub fn prompt_tokens(messages: &[Value]) -> i64 {
    let mut total = PER_REPLY;
    for message in messages {
        total += PER_MESSAGE;
        if let Some(name) = message.get("name").and_then(Value::as_str) {
            total += text_tokens(name);
        }
        total += content_tokens(message.get("content"));
    }
    total
}

fn content_tokens(content: Option<&Value>) -> i64 {
    match content {
        Some(Value::String(s)) => text_tokens(s),
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|p| match p.get("text").and_then(Value::as_str) {
                Some(text) => text_tokens(text),
                None => PER_OTHER_PART,
            })
            .sum(),
        _ => 0,
    }
}

/// The text of a message's content: a string, or its text parts joined.
pub fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// A JSON object read as `T`, and nothing else: serde's derived structs also take an array.
#[derive(Debug)]
pub(crate) struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Object<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Object)
            }
        }
        deserializer.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// A string's estimated tokens ([`text_tokens`]), read without keeping it.
#[derive(Debug)]
pub(crate) struct TextTokens(pub i64);

impl<'de> Deserialize<'de> for TextTokens {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl Visitor<'_> for Visit {
            type Value = TextTokens;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<TextTokens, E> {
                Ok(TextTokens(text_tokens(s)))
            }
        }
        deserializer.deserialize_str(Visit)
    }
}

/// A message's `content` as [`content_tokens`] counts it: a string, or an array of part objects.
/// Any other shape is an error here, which sends the request the slow way.
struct ContentTokens(i64);

impl<'de> Deserialize<'de> for ContentTokens {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = ContentTokens;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or an array of parts")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<ContentTokens, E> {
                Ok(ContentTokens(text_tokens(s)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut parts: A) -> Result<ContentTokens, A::Error> {
                let mut total = 0;
                while let Some(PartTokens(n)) = parts.next_element()? {
                    total += n;
                }
                Ok(ContentTokens(total))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// A content part object: its `text`'s tokens, or [`PER_OTHER_PART`] when it has no `text`. A
/// second `text` is an error, as serde's derived structs make a second of any field they read.
struct PartTokens(i64);

impl<'de> Deserialize<'de> for PartTokens {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = PartTokens;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a content part object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut part: A) -> Result<PartTokens, A::Error> {
                let mut text = None;
                // A key with an escape in it is an error here (it cannot be borrowed).
                while let Some(key) = part.next_key::<&'de str>()? {
                    if key != "text" {
                        part.next_value::<IgnoredAny>()?;
                    } else if text.is_some() {
                        return Err(serde::de::Error::duplicate_field("text"));
                    } else {
                        text = Some(part.next_value::<TextTokens>()?.0);
                    }
                }
                Ok(PartTokens(text.unwrap_or(PER_OTHER_PART)))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

#[derive(Deserialize)]
struct PlainMessage {
    name: Option<TextTokens>,
    content: Option<ContentTokens>,
}

#[derive(Deserialize)]
struct PlainStreamOptions {
    include_usage: Option<bool>,
}

/// The fields of a request that the gateway reads, each once (serde's derived structs refuse a
/// field given twice), each of the one type [`ChatRequest::from_value`] takes it as.
#[derive(Deserialize)]
struct Plain<'a> {
    #[serde(borrow)]
    model: Cow<'a, str>,
    messages: Vec<Object<PlainMessage>>,
    stream: Option<bool>,
    stream_options: Option<Object<PlainStreamOptions>>,
    max_completion_tokens: Option<i64>,
    max_tokens: Option<i64>,
}

/// What goes upstream.
#[derive(Debug, Clone)]
enum Body {
    /// The client's bytes, which [`ChatRequest::plain`] vouched for.
    Raw(Bytes),
    /// The client's object, written out again when it is sent: an upstream that read a
    /// duplicated key (`"model"` twice) otherwise than serde_json would run what was not checked.
    Parsed(Map<String, Value>),
}

#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// The whole request as the client sent it.
    body: Body,
    pub model: String,
    pub stream: bool,
    /// The client asked for the final usage chunk of a stream (`stream_options.include_usage`).
    pub include_usage: bool,
    /// `max_completion_tokens`, or the older `max_tokens`.
    pub max_tokens: Option<i64>,
    pub estimated_input_tokens: i64,
}

impl ChatRequest {
    pub fn parse(bytes: Bytes) -> DpResult<Self> {
        if let Some(plain) = Self::plain(&bytes) {
            return Ok(plain);
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            DataPlaneError::bad_request(None, format!("The body is not valid JSON: {e}"))
        })?;
        Self::from_value(value)
    }

    /// The common request, read in one typed pass that keeps nothing but what the checks need
    /// and vouches for the bytes: every field the gateway reads appears once, so that an
    /// upstream, however it takes a duplicated key, runs what was checked, and the client's
    /// bytes go upstream as they came. Anything else (a stream, which gets `stream_options`
    /// added; a field given twice or of another type; a request to refuse, whose error is worded
    /// there) is read by [`Self::from_value`], which reads what this accepts the same way. One
    /// difference: in the fields the gateway does not read, JSON that `serde_json::Value` does not
    /// hold (a lone surrogate escape, a number past `f64`) is passed on for the upstream to judge,
    /// where the old reader refused the request.
    fn plain(bytes: &Bytes) -> Option<Self> {
        let Object(r) = serde_json::from_slice::<Object<Plain<'_>>>(bytes).ok()?;
        if r.model.is_empty() || r.messages.is_empty() || r.stream == Some(true) {
            return None;
        }
        let mut max_tokens = None;
        for n in [r.max_completion_tokens, r.max_tokens]
            .into_iter()
            .flatten()
        {
            if n < 0 {
                return None;
            }
            max_tokens.get_or_insert(n);
        }
        let messages: i64 = r
            .messages
            .iter()
            .map(|Object(m)| {
                PER_MESSAGE
                    + m.name.as_ref().map_or(0, |n| n.0)
                    + m.content.as_ref().map_or(0, |c| c.0)
            })
            .sum();
        Some(Self {
            body: Body::Raw(bytes.clone()),
            model: r.model.into_owned(),
            stream: false,
            include_usage: r
                .stream_options
                .and_then(|Object(o)| o.include_usage)
                .unwrap_or(false),
            max_tokens,
            estimated_input_tokens: PER_REPLY + messages,
        })
    }

    pub fn from_value(value: Value) -> DpResult<Self> {
        let Value::Object(body) = value else {
            return Err(DataPlaneError::bad_request(
                None,
                "The body must be a JSON object.",
            ));
        };
        let model = match body.get("model") {
            Some(Value::String(m)) if !m.is_empty() => m.clone(),
            _ => {
                return Err(DataPlaneError::bad_request(
                    Some("model"),
                    "`model` must be the id of a model.",
                ));
            }
        };
        let estimated_input_tokens = match body.get("messages") {
            Some(Value::Array(messages))
                if !messages.is_empty() && messages.iter().all(Value::is_object) =>
            {
                prompt_tokens(messages)
            }
            _ => {
                return Err(DataPlaneError::bad_request(
                    Some("messages"),
                    "`messages` must be a non-empty array of message objects.",
                ));
            }
        };
        let stream = match body.get("stream") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(DataPlaneError::bad_request(
                    Some("stream"),
                    "`stream` must be true or false.",
                ));
            }
        };
        let include_usage = body
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut max_tokens = None;
        for field in ["max_completion_tokens", "max_tokens"] {
            match body.get(field) {
                None | Some(Value::Null) => {}
                Some(v) => match v.as_i64().filter(|n| *n >= 0) {
                    Some(n) => {
                        max_tokens.get_or_insert(n);
                    }
                    None => {
                        return Err(DataPlaneError::bad_request(
                            Some(if field == "max_tokens" {
                                "max_tokens"
                            } else {
                                "max_completion_tokens"
                            }),
                            format!("`{field}` must be a whole number, 0 or more."),
                        ));
                    }
                },
            }
        }
        Ok(Self {
            body: Body::Parsed(body),
            model,
            stream,
            include_usage,
            max_tokens,
            estimated_input_tokens,
        })
    }

    /// What to send upstream.
    pub fn upstream_body(&self) -> Bytes {
        match &self.body {
            Body::Raw(bytes) => bytes.clone(),
            Body::Parsed(object) => Bytes::from(serde_json::to_vec(object).unwrap_or_default()),
        }
    }

    /// The request's object (read again when only its bytes were kept).
    pub fn object(&self) -> Cow<'_, Map<String, Value>> {
        match &self.body {
            Body::Parsed(object) => Cow::Borrowed(object),
            Body::Raw(bytes) => Cow::Owned(serde_json::from_slice(bytes).unwrap_or_default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn estimates_count_text_parts_and_message_overhead() {
        assert_eq!(text_tokens(""), 0);
        assert_eq!(text_tokens("abcd"), 1);
        assert_eq!(text_tokens("abcde"), 2);
        let messages = [
            json!({"role": "system", "content": "abcdefgh"}),
            json!({"role": "user", "content": [{"type": "text", "text": "abcd"}, {"type": "image_url", "image_url": {"url": "x"}}]}),
        ];
        assert_eq!(prompt_tokens(&messages), 3 + (4 + 2) + (4 + 1 + 85));
    }

    #[test]
    fn bad_requests_name_the_field() {
        let bad = |v: Value| ChatRequest::from_value(v).unwrap_err().param;
        assert_eq!(bad(json!([])), None);
        assert_eq!(
            bad(json!({"messages": [{"role": "user", "content": "hi"}]})),
            Some("model")
        );
        assert_eq!(bad(json!({"model": "m", "messages": []})), Some("messages"));
        assert_eq!(
            bad(json!({"model": "m", "messages": ["hi"]})),
            Some("messages")
        );
        assert_eq!(
            bad(json!({"model": "m", "messages": [{}], "stream": "yes"})),
            Some("stream")
        );
        assert_eq!(
            bad(json!({"model": "m", "messages": [{}], "max_tokens": -1})),
            Some("max_tokens")
        );
        let ok = ChatRequest::from_value(json!({
            "model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true,
            "stream_options": {"include_usage": true}, "max_tokens": 7, "temperature": 0.2
        }))
        .unwrap();
        assert!(ok.stream && ok.include_usage);
        assert_eq!(ok.max_tokens, Some(7));
        assert_eq!(ok.object()["temperature"], json!(0.2));
    }

    /// `bytes` read by [`ChatRequest::parse`], and whether its typed pass kept them.
    fn read(bytes: &str) -> (DpResult<ChatRequest>, bool) {
        let read = ChatRequest::parse(Bytes::from(bytes.to_owned()));
        let raw = matches!(&read, Ok(r) if matches!(r.body, Body::Raw(_)));
        (read, raw)
    }

    /// What a request is to the checks and the upstream, or its refusal.
    fn seen(read: DpResult<ChatRequest>) -> String {
        match read {
            Ok(r) => format!(
                "{} {} {} {:?} {} {}",
                r.model,
                r.stream,
                r.include_usage,
                r.max_tokens,
                r.estimated_input_tokens,
                serde_json::from_slice::<Value>(&r.upstream_body()).unwrap()
            ),
            Err(e) => format!("{:?} {}", e.param, e.message),
        }
    }

    #[test]
    fn the_typed_pass_reads_what_the_value_pass_reads_and_sends_the_clients_bytes() {
        let plain = [
            r#"{"model":"m","messages":[{"role":"user","content":"hello there"}]}"#,
            r#"{ "model" : "m\u00e9", "temperature": 0.2, "messages": [
                {"role":"system","name":"bot\n1","content":"line\none \"quoted\""},
                {"role":"user","content":[{"type":"text","text":"abcd"},
                    {"type":"image_url","image_url":{"url":"x","text":"not read"}},
                    {"type":"text","text":"a\tb","extra":[1,{"text":"x"}]}]},
                {"role":"assistant","content":null,"tool_calls":[{"id":"t"}]},
                {"role":"tool"}],
              "stream": false, "stream_options": {"include_usage": true},
              "max_completion_tokens": 9, "max_tokens": 3, "n": 1e3 }"#,
            r#"{"model":"m","messages":[{"content":[]}],"max_tokens":null,"stream":null}"#,
        ];
        for doc in plain {
            let (read, raw) = read(doc);
            assert!(raw, "{doc}");
            assert_eq!(read.as_ref().unwrap().upstream_body(), doc.as_bytes());
            let by_value = ChatRequest::from_value(serde_json::from_str(doc).unwrap());
            assert_eq!(seen(read), seen(by_value), "{doc}");
        }
        // Each of these is read the slow way, and alike.
        let other = [
            // Streams get `stream_options` added.
            r#"{"model":"m","messages":[{"content":"hi"}],"stream":true}"#,
            // Fields given twice: the last counts, and only it goes upstream.
            r#"{"model":"allowed","messages":[{"content":"hi"}],"model":"other"}"#,
            r#"{"model":"m","mod\u0065l":"other","messages":[{"content":"hi"}]}"#,
            r#"{"model":"m","messages":[{"content":"a long text","content":"hi"}]}"#,
            r#"{"model":"m","messages":[{"content":[{"text":"a long text","text":"hi"}]}]}"#,
            // Shapes the typed pass does not take, and refusals.
            r#"{"model":"m","messages":[{"content":5,"name":7}]}"#,
            r#"{"model":"m","messages":[{"content":["a", 1, {"te\u0078t":"abcdefgh"}]}]}"#,
            r#"{"model":"m","messages":[{"content":"hi"}],"stream_options":{"include_usage":1}}"#,
            r#"{"model":"m","messages":[{"content":"hi"}],"max_tokens":-1}"#,
            r#"{"model":"m","messages":[{"content":"hi"}],"max_tokens":2.5}"#,
            r#"{"model":"","messages":[{"content":"hi"}]}"#,
            r#"{"model":"m","messages":[]}"#,
            r#"{"model":"m","messages":["hi"]}"#,
            r#"{"messages":[{"content":"hi"}]}"#,
            r#"[{"model":"m","messages":[{"content":"hi"}]}]"#,
            r#"{"model":"m","messages":[{"content":"hi"}]} x"#,
        ];
        for doc in other {
            let (read, raw) = read(doc);
            assert!(!raw, "{doc}");
            let by_value = serde_json::from_str(doc)
                .map_err(|e| {
                    DataPlaneError::bad_request(None, format!("The body is not valid JSON: {e}"))
                })
                .and_then(ChatRequest::from_value);
            assert_eq!(seen(read), seen(by_value), "{doc}");
        }
        // Unread fields are the upstream's to judge, even where a `Value` could not hold them.
        for doc in [
            r#"{"model":"m","messages":[{"content":"hi"}],"user":"\ud800"}"#,
            r#"{"model":"m","messages":[{"content":"hi"}],"seed":1e400}"#,
        ] {
            let (read, raw) = read(doc);
            assert!(raw, "{doc}");
            assert_eq!(read.unwrap().upstream_body(), doc.as_bytes());
            assert!(serde_json::from_str::<Value>(doc).is_err(), "{doc}");
        }
        let (twice, _) =
            read(r#"{"model":"allowed","messages":[{"content":"hi"}],"model":"other"}"#);
        let body = twice.unwrap().upstream_body();
        let text = std::str::from_utf8(&body).unwrap();
        assert_eq!(text.matches("\"model\"").count(), 1);
        assert!(text.contains("\"other\"") && !text.contains("allowed"));
    }
}
