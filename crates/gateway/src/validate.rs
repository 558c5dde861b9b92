//! Field checks shared by the handlers. Each returns `validation_failed` naming the field.

use crate::error::{ApiError, ApiResult};
use gatehouse_api::looks_like_email;

/// A trimmed text of `min..=max` characters without control or direction-changing characters.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> ApiResult<String> {
    let value = value.trim();
    let count = value.chars().count();
    if count < min || count > max {
        return Err(ApiError::invalid(
            field,
            format!("must be {min} to {max} characters"),
        ));
    }
    if let Some(problem) = unsafe_characters(value) {
        return Err(ApiError::invalid(field, problem));
    }
    Ok(value.to_owned())
}

/// Why `value` may not be shown as a name, if it may not: control characters, and the
/// characters that change the direction of the text around them (U+202E turns
/// "invoice\u{202E}fdp.exe" into what reads as "invoiceexe.pdf"), which would let a name spoof
/// what the console shows beside it.
pub fn unsafe_characters(value: &str) -> Option<&'static str> {
    if value.chars().any(char::is_control) {
        return Some("must not contain control characters");
    }
    if value.chars().any(is_bidi_control) {
        return Some("must not contain characters that change the direction of text");
    }
    None
}

/// The Unicode bidirectional formatting characters (UAX #9: embeddings, overrides, isolates
/// and the implicit marks).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
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

#[cfg(test)]
mod tests {
    use super::{text, unsafe_characters};

    #[test]
    fn names_refuse_control_and_direction_characters() {
        assert_eq!(text("name", "  Zoë Ng ", 1, 100).unwrap(), "Zoë Ng");
        for spoof in [
            "invoice\u{202E}fdp.exe",
            "a\u{2066}b",
            "\u{200F}admin",
            "x\u{061C}",
        ] {
            assert_eq!(
                unsafe_characters(spoof),
                Some("must not contain characters that change the direction of text"),
                "{spoof:?}"
            );
            assert!(text("name", spoof, 1, 100).is_err());
        }
        assert!(text("name", "tab\there", 1, 100).is_err());
        // Right-to-left scripts themselves are names like any other.
        assert_eq!(text("name", "שלום", 1, 100).unwrap(), "שלום");
    }
}
