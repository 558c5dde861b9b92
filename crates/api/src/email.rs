//! What counts as an e-mail address wherever one is typed or pasted: one rule for the gateway
//! that refuses and the app that previews.

/// A plausibility check, not RFC 5322: one `@`, something before it, a dot after it.
pub fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::looks_like_email;

    #[test]
    fn plausible_addresses_pass_and_the_rest_do_not() {
        for ok in ["a@b.co", "maya.patel@acme.example", "x+tag@sub.example.org"] {
            assert!(looks_like_email(ok), "{ok}");
        }
        for bad in [
            "x@y",
            "@b.co",
            "a@b@c.co",
            "a@.co",
            "a@b.",
            "a b@c.co",
            "not-an-address",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }
}
