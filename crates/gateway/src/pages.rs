//! Server-rendered pages for people who arrive from a mail (password reset, invitations): plain
//! HTML forms, no JavaScript. Every page carries one inline stylesheet, allowed by its hash, so
//! the Content-Security-Policy can forbid everything else: scripts, frames, other origins.
//!
//! Everything interpolated into a page goes through [`escape`].

use std::net::IpAddr;
use std::sync::LazyLock;

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::{AppState, throttle};

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}\
main{max-width:28rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;\
box-shadow:0 1px 3px rgba(0,0,0,.12)}h1{font-size:1.4rem;margin-top:0}\
label{display:block;margin:1rem 0 .3rem;font-weight:600}\
input{width:100%;box-sizing:border-box;padding:.55rem;font-size:1rem;border:1px solid #b8bfcc;border-radius:4px}\
button{margin-top:1.4rem;padding:.6rem 1.2rem;font-size:1rem;border:0;border-radius:4px;background:#2354d6;color:#fff}\
input[type=checkbox]{width:auto;margin-right:.5rem}.error{color:#a4161a;background:#fde8e8;padding:.6rem;border-radius:4px}.muted{color:#5b6475}";

/// The policy every page is sent with.
pub fn content_security_policy() -> &'static str {
    static CSP: LazyLock<String> = LazyLock::new(|| {
        let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'"
        )
    });
    &CSP
}

/// `s` with `& < > " '` replaced by entities, safe in element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole document. `title` is escaped here; `body_html` must already be safe HTML.
pub fn page(title: &str, body_html: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{} · Gatehouse</title><style>{STYLE}</style></head>\
         <body><main>{body_html}</main></body></html>\n",
        escape(title)
    )
}

/// A page as a response, with the headers every page needs. Links to these pages carry
/// credentials in their path, hence no caching and no referrer.
pub fn respond(status: StatusCode, title: &str, body_html: &str) -> Response {
    let mut response = (status, page(title, body_html)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(&mut response);
    response
}

/// The headers every response of a page flow carries, pages and redirects alike.
pub fn secure_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(content_security_policy()),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// A page with a heading and one paragraph of text (both escaped).
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    respond(
        status,
        title,
        &format!("<h1>{}</h1><p>{}</p>", escape(title), escape(text)),
    )
}

/// The page for an error of a form submission: its status, its detail as the text.
pub fn error_page(error: &ApiError) -> Response {
    let problem = error.problem();
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if matches!(error, ApiError::Db(_) | ApiError::Internal(_)) {
        tracing::error!(error = %error, "page request failed");
    }
    let mut page = message(status, &problem.title, &problem.detail);
    if let ApiError::Retry {
        retry_after_secs, ..
    } = error
    {
        page.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    }
    page
}

/// Starts a post of `body` to a password-reset or invitation link from `client`, or answers a
/// client that has failed too often with 429 (problem+json or a page, as `body` came); the
/// caller settles the attempt with the outcome.
pub fn begin_link_post<'a, J, F>(
    state: &'a AppState,
    client: Option<IpAddr>,
    body: &Submitted<J, F>,
) -> Result<throttle::Attempt<'a>, Box<Response>> {
    state.sign_in_throttle.begin_link(client).map_err(|wait| {
        tracing::info!(client = ?client, "link post throttled");
        let error = ApiError::rate_limited(
            "Too many attempts with links that do not work. Wait before trying again.",
            throttle::retry_after_secs(wait),
        );
        Box::new(match body {
            Submitted::Json(_) => error.into_response(),
            Submitted::Form(_) => error_page(&error),
        })
    })
}

/// The body of a page's POST: JSON from programs (`J`), a form from browsers (`F`). The two
/// answer differently: JSON callers get JSON and problem+json, browsers get pages.
#[derive(Debug)]
pub enum Submitted<J, F> {
    Json(J),
    Form(F),
}

/// Whether a request's body is JSON, by its Content-Type.
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "application/json" || v.ends_with("+json")
        })
        .unwrap_or(false)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

impl<J, F, S> FromRequest<S> for Submitted<J, F>
where
    J: DeserializeOwned,
    F: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        if is_json(req.headers()) {
            return match ApiJson::<J>::from_request(req, state).await {
                Ok(ApiJson(body)) => Ok(Self::Json(body)),
                Err(e) => Err(e.into_response()),
            };
        }
        if !is_form(req.headers()) {
            return Err(ApiError::invalid(
                "body",
                "expected Content-Type: application/json or application/x-www-form-urlencoded",
            )
            .into_response());
        }
        match axum::Form::<F>::from_request(req, state).await {
            Ok(axum::Form(body)) => Ok(Self::Form(body)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(message(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much data",
                "The form sent more data than this page takes.",
            )),
            Err(_) => Err(message(
                StatusCode::UNPROCESSABLE_ENTITY,
                "The form could not be read",
                "Go back, fill in every field and send it again.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_element_content_and_attributes() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape("plain text"), "plain text");
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_stylesheet() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none';"));
        assert!(!csp.contains("unsafe-inline"));
        let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
        assert!(csp.contains(&format!("'sha256-{hash}'")));
        assert!(page("t", "").contains(&format!("<style>{STYLE}</style>")));
    }

    #[test]
    fn titles_are_escaped() {
        let html = page("<script>", "<p>ok</p>");
        assert!(html.contains("<title>&lt;script&gt; · Gatehouse</title>"));
        assert!(html.contains("<p>ok</p>"));
    }
}
