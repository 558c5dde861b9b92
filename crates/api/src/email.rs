//! What counts as an e-mail address wherever one is typed or pasted, and who is in a pasted list:
//! one rule for the gateway that refuses or invites and the app that previews.

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

/// One entry of a pasted list of people: an address (with the name written beside it, if any),
/// or a line that holds none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitee {
    /// As pasted: the address word, or the whole line when it holds no address.
    pub text: String,
    /// Lower-cased, when `text` is an address.
    pub email: Option<String>,
    pub first_name: String,
    pub last_name: String,
    /// The same address appears earlier in the list.
    pub repeat: bool,
}

/// Characters that never occur in an address and that people paste between addresses and names.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || ",;<>()[]{}\"'|".contains(c)
}

/// Names are cut at this many characters, the gateway's limit for a name.
const NAME_MAX: usize = 100;

/// Everyone in `text` (a spreadsheet column or rows, an e-mail's To: line, a list of
/// `Name <address>`), in order. Each line is read on its own:
/// - every word with an `@` is an address entry (a `mailto:` and a sentence's final full stop or
///   colon removed), valid or not;
/// - the words before an address, back to the previous one, are its name: `Alice Smith
///   <alice@…>`; cells split by commas or tabs are first and last name (`Carol, Jones,
///   carol@…`), except in quotes, where a comma is the `"Last, First"` of address books; a
///   leading `To:`-like label is not a name;
/// - when nothing precedes the line's only address, cells after it are its name
///   (`carol@…, Carol, Jones`);
/// - a line without any `@` is one entry that is not an address, so nothing pasted is dropped
///   silently.
pub fn extract_invitees(text: &str) -> Vec<Invitee> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let words = address_words(line);
        if words.is_empty() {
            out.push(Invitee {
                text: line.to_owned(),
                email: None,
                first_name: String::new(),
                last_name: String::new(),
                repeat: false,
            });
            continue;
        }
        let mut previous_end = 0;
        for (i, &(start, end)) in words.iter().enumerate() {
            let word = &line[start..end];
            let address = word
                .strip_prefix("mailto:")
                .unwrap_or(word)
                .trim_end_matches(['.', ':']);
            let mut name = split_name(&line[previous_end..start], true);
            if name.is_none() && words.len() == 1 && i == 0 {
                let after = &line[end..];
                if after.trim_start().starts_with([',', '\t', ';']) {
                    name = split_name(after, false);
                }
            }
            previous_end = end;
            let lower = address.to_lowercase();
            let email = (lower.len() <= 254 && looks_like_email(&lower)).then_some(lower);
            let repeat = email.as_ref().is_some_and(|e| !seen.insert(e.clone()));
            let (first_name, last_name) = name.unwrap_or_default();
            out.push(Invitee {
                text: address.to_owned(),
                email,
                first_name,
                last_name,
                repeat,
            });
        }
    }
    out
}

/// The byte spans of the words of `line` that contain an `@`.
fn address_words(line: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices().chain([(line.len(), ' ')]) {
        match (is_separator(c), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                if line[s..i].contains('@') {
                    spans.push((s, i));
                }
                start = None;
            }
            _ => {}
        }
    }
    spans
}

/// First and last name from the text beside an address, if it holds one. `before`: the text
/// precedes the address, so a leading label (`To:`) and a trailing separator are dropped.
fn split_name(text: &str, before: bool) -> Option<(String, String)> {
    let quoted = text.contains('"');
    let mut text = text.trim_matches(|c: char| is_separator(c) && c != '\t');
    if before
        && let Some((label, rest)) = text.split_once(':')
        && !label.contains(char::is_whitespace)
    {
        text = rest;
    }
    let clean = |s: &str| -> String {
        let s: String = s
            .chars()
            .filter(|c| !c.is_control() && !"<>\"'()[]{}|".contains(*c))
            .collect();
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        s.chars().take(NAME_MAX).collect()
    };
    let cells: Vec<String> = text
        .split([',', '\t', ';'])
        .map(clean)
        .filter(|c| !c.is_empty())
        .collect();
    let (first, last) = match cells.as_slice() {
        [] => return None,
        [one] => match one.split_once(' ') {
            Some((first, last)) => (first.to_owned(), last.to_owned()),
            None => (one.clone(), String::new()),
        },
        [last, first] if quoted => (first.clone(), last.clone()),
        [first, rest @ ..] => (first.clone(), rest.join(" ")),
    };
    Some((first, last))
}

#[cfg(test)]
mod tests {
    use super::{Invitee, extract_invitees, looks_like_email};

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

    /// (text, email, first, last, repeat) of each entry.
    fn entries(text: &str) -> Vec<(String, Option<String>, String, String, bool)> {
        extract_invitees(text)
            .into_iter()
            .map(
                |Invitee {
                     text,
                     email,
                     first_name,
                     last_name,
                     repeat,
                 }| { (text, email, first_name, last_name, repeat) },
            )
            .collect()
    }

    fn e(
        text: &str,
        email: Option<&str>,
        first: &str,
        last: &str,
        repeat: bool,
    ) -> (String, Option<String>, String, String, bool) {
        (
            text.into(),
            email.map(Into::into),
            first.into(),
            last.into(),
            repeat,
        )
    }

    #[test]
    fn names_written_beside_addresses_are_kept() {
        let text = "To: Alice Smith <Alice@Acme.example>, bo@acme.example; \"Jones, Carol\" <carol@acme.example>\n\
                    Dan, Brown, dan@acme.example\n\
                    eve@acme.example, Eve, Stone\n\
                    mailto:fay@acme.example. Notes about fay";
        assert_eq!(
            entries(text),
            vec![
                e(
                    "Alice@Acme.example",
                    Some("alice@acme.example"),
                    "Alice",
                    "Smith",
                    false
                ),
                e("bo@acme.example", Some("bo@acme.example"), "", "", false),
                e(
                    "carol@acme.example",
                    Some("carol@acme.example"),
                    "Carol",
                    "Jones",
                    false
                ),
                e(
                    "dan@acme.example",
                    Some("dan@acme.example"),
                    "Dan",
                    "Brown",
                    false
                ),
                e(
                    "eve@acme.example",
                    Some("eve@acme.example"),
                    "Eve",
                    "Stone",
                    false
                ),
                e("fay@acme.example", Some("fay@acme.example"), "", "", false),
            ]
        );
    }

    #[test]
    fn nothing_pasted_is_dropped_silently() {
        assert_eq!(
            entries("not-an-address\n\n  x@y  \nok@x.example OK@x.example\t\nCarol, Jones"),
            vec![
                e("not-an-address", None, "", "", false),
                e("x@y", None, "", "", false),
                e("ok@x.example", Some("ok@x.example"), "", "", false),
                e("OK@x.example", Some("ok@x.example"), "", "", true),
                e("Carol, Jones", None, "", "", false),
            ]
        );
    }

    #[test]
    fn names_are_cut_and_cleaned() {
        let long = "A".repeat(300);
        let got = extract_invitees(&format!("{long} <a@x.example>"));
        assert_eq!(got[0].first_name.chars().count(), 100);
        let got = extract_invitees("Ann\u{7} Lee <ann@x.example>");
        assert_eq!(
            (got[0].first_name.as_str(), got[0].last_name.as_str()),
            ("Ann", "Lee")
        );
    }
}
