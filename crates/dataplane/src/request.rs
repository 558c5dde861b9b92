//! A chat completion request as the gateway reads it: the client's JSON object, kept whole to be
//! forwarded, with the few fields enforcement needs checked, and the estimate of its input tokens
//! that the `input_tokens_per_min` limit counts before the upstream has answered.

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

#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// The whole request as the client sent it.
    pub body: Map<String, Value>,
    pub model: String,
    pub stream: bool,
    /// The client asked for the final usage chunk of a stream (`stream_options.include_usage`).
    pub include_usage: bool,
    /// `max_completion_tokens`, or the older `max_tokens`.
    pub max_tokens: Option<i64>,
    pub estimated_input_tokens: i64,
}

impl ChatRequest {
    pub fn parse(bytes: &[u8]) -> DpResult<Self> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            DataPlaneError::bad_request(None, format!("The body is not valid JSON: {e}"))
        })?;
        Self::from_value(value)
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
            body,
            model,
            stream,
            include_usage,
            max_tokens,
            estimated_input_tokens,
        })
    }

    pub fn messages(&self) -> &[Value] {
        self.body
            .get("messages")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
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
        assert_eq!(ok.body["temperature"], json!(0.2));
    }
}
