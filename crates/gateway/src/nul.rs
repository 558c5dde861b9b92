//! NUL characters never reach the database. PostgreSQL cannot store U+0000 in TEXT and fails
//! the whole statement (a 500), while SQLite stores it; no field of the API has a use for it.
//! So every request whose path, query, JSON body or form body decodes to a string holding one
//! is answered 422 here, on both backends alike, before any handler runs.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_api::ErrorCode;

use crate::error::ApiError;

const MESSAGE: &str = "must not contain NUL characters";

pub async fn reject_nul(request: Request, next: Next) -> Response {
    let uri = request.uri();
    // `%00` is the only way a URI can carry NUL (a raw one is not a valid URI).
    if uri.path().contains("%00") {
        return ApiError::invalid("path", MESSAGE).into_response();
    }
    if uri.query().is_some_and(|q| q.contains("%00")) {
        return ApiError::invalid("query", MESSAGE).into_response();
    }
    let Some(kind) = body_kind(&request) else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    // A body that fails to read for another reason (the client went away) gets this answer too;
    // nobody reads it.
    let Ok(bytes) = axum::body::to_bytes(body, crate::BODY_LIMIT).await else {
        return ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "The request body is larger than {} bytes.",
                crate::BODY_LIMIT
            ),
        )
        .into_response();
    };
    let has_nul = match kind {
        BodyKind::Json => json_has_nul(&bytes),
        BodyKind::Form => bytes.windows(3).any(|w| w == b"%00") || bytes.contains(&0),
    };
    if has_nul {
        return ApiError::invalid("body", MESSAGE).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

enum BodyKind {
    Json,
    Form,
}

fn body_kind(request: &Request) -> Option<BodyKind> {
    let content_type = request.headers().get(CONTENT_TYPE)?.to_str().ok()?;
    let essence = content_type.split(';').next()?.trim().to_ascii_lowercase();
    if essence == "application/json" || essence.ends_with("+json") {
        Some(BodyKind::Json)
    } else if essence == "application/x-www-form-urlencoded" {
        Some(BodyKind::Form)
    } else {
        None
    }
}

/// Whether a JSON text has a string (key or value) holding U+0000. JSON can only write it as the
/// escape `\u0000` inside a string (a raw control character is invalid JSON, which the JSON
/// extractor rejects anyway); an escaped backslash before `u0000` is not one.
fn json_has_nul(json: &[u8]) -> bool {
    let mut in_string = false;
    let mut i = 0;
    while i < json.len() {
        match (in_string, json[i]) {
            (false, b'"') => in_string = true,
            (true, b'"') => in_string = false,
            (true, b'\\') => {
                if json[i + 1..].starts_with(b"u0000") {
                    return true;
                }
                // Skips the escaped character, so that `\\` and `\"` end here.
                i += 1;
            }
            (true, 0) => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::json_has_nul;

    #[test]
    fn finds_escaped_nul_in_keys_and_values_only() {
        assert!(json_has_nul(br#"{"name":"a\u0000b"}"#));
        assert!(json_has_nul(br#"{"a\u0000":1}"#));
        assert!(json_has_nul(br#"["x", "\u0000"]"#));
        assert!(
            !json_has_nul(br#"{"name":"a\\u0000b"}"#),
            "an escaped backslash"
        );
        assert!(json_has_nul(br#"{"name":"a\\\u0000b"}"#));
        assert!(!json_has_nul(br#"{"name":"say \"\u0001\" u0000"}"#));
        assert!(!json_has_nul(br#"{"n":0,"s":"0000"}"#));
        assert!(!json_has_nul(br#"{"name":"ends with a backslash \\"}"#));
        assert!(!json_has_nul(b"\"\\"), "truncated input");
    }
}
