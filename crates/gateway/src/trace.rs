//! The span every log line of a request carries. tower-http's default span prints the whole
//! URI, and here URIs carry secrets: the invitation or reset token in the path of
//! `/invite/{token}…` and `/reset/{token}`, the code and state in the query of
//! `/oidc/callback`. This one prints the method and the path with those segments masked, never
//! the query.

use axum::http::Request;
use tracing::Span;

pub fn span<B>(request: &Request<B>) -> Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %redacted_path(request.uri().path()),
        version = ?request.version(),
    )
}

/// `path` with the segment after `/invite/` and `/reset/` replaced by `…`.
pub fn redacted_path(path: &str) -> String {
    let mut out = Vec::new();
    let mut secret_next = false;
    for (i, segment) in path.split('/').enumerate() {
        if secret_next && !segment.is_empty() {
            out.push("…");
        } else {
            out.push(segment);
        }
        secret_next = i == 1 && matches!(segment, "invite" | "reset");
    }
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::redacted_path;

    #[test]
    fn link_tokens_are_masked_and_other_paths_kept() {
        assert_eq!(redacted_path("/invite/abc123/signin"), "/invite/…/signin");
        assert_eq!(redacted_path("/invite/abc123"), "/invite/…");
        assert_eq!(redacted_path("/reset/abc123"), "/reset/…");
        assert_eq!(redacted_path("/oidc/callback"), "/oidc/callback");
        assert_eq!(
            redacted_path("/admin/v1/invitations/inv_1"),
            "/admin/v1/invitations/inv_1"
        );
        assert_eq!(redacted_path("/admin/invite/x"), "/admin/invite/x");
    }
}
