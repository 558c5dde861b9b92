//! Keyset pagination: a cursor is the sort key of the last row of a page, opaque to clients.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{ApiError, ApiResult};

pub fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

pub fn decode(cursor: &str) -> ApiResult<String> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        // PostgreSQL cannot compare with a NUL (see `nul`), and no key of ours holds one.
        .filter(|key| !key.contains('\0'))
        .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this server issued"))
}

pub struct Paged<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Cuts `rows` (fetched with `limit + 1`) to a page and makes the cursor from the last row kept.
pub fn paginate<T>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Paged<T> {
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode(&key(r)))
    } else {
        None
    };
    Paged {
        items: rows,
        next_cursor,
    }
}
