//! Field checks shared by the handlers. Each returns `validation_failed` naming the field.

use crate::demo::looks_like_email;
use crate::error::{ApiError, ApiResult};

/// A trimmed, non-control-character text of `min..=max` characters.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> ApiResult<String> {
    let value = value.trim();
    let count = value.chars().count();
    if count < min || count > max {
        return Err(ApiError::invalid(
            field,
            format!("must be {min} to {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

pub fn name(field: &str, value: &str) -> ApiResult<String> {
    text(field, value, 0, 100)
}

/// A lower-cased e-mail address.
pub fn email(field: &str, value: &str) -> ApiResult<String> {
    let value = value.trim().to_lowercase();
    if value.len() > 254 || !looks_like_email(&value) {
        return Err(ApiError::invalid(field, "is not an e-mail address"));
    }
    Ok(value)
}

/// Lower-case letters, digits and dashes, 1 to 64 characters.
pub fn slug(field: &str, value: &str) -> ApiResult<String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-');
    if !ok {
        return Err(ApiError::invalid(
            field,
            "must be 1 to 64 lower-case letters, digits and dashes",
        ));
    }
    Ok(value.to_owned())
}

/// A slug made from a name.
pub fn slug_from(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    let out: String = out.chars().take(64).collect();
    if out.is_empty() {
        "workspace".to_owned()
    } else {
        out
    }
}
