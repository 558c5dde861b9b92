//! Evaluating a SCIM filter (RFC 7644 §3.4.2.2), parsed by the `scim_v2` crate, against a
//! resource in its SCIM form. Attribute names match case-insensitively; string values too, but
//! for the case-exact attributes (ids and references), as RFC 7643 declares them.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::Value;

use super::schema::key_of;

/// Whether `resource` matches `filter`.
pub fn matches(filter: &Filter, resource: &Value) -> bool {
    match filter {
        Filter::Attr(exp) => attr_matches(exp, resource, None),
        Filter::ValuePath(vp) => values_at(resource, &vp.attr.name, None)
            .into_iter()
            .any(|element| val_matches(&vp.filter, element, &vp.attr.name)),
        Filter::Not(inner) => !matches(inner, resource),
        Filter::And(items) => items.as_slice().iter().all(|f| matches(f, resource)),
        Filter::Or(items) => items.as_slice().iter().any(|f| matches(f, resource)),
    }
}

/// Whether `element`, one value of the multi-valued attribute `parent`, matches `filter`.
pub fn val_matches(filter: &ValFilter, element: &Value, parent: &str) -> bool {
    match filter {
        ValFilter::Attr(exp) => attr_matches(exp, element, Some(parent)),
        ValFilter::Not(inner) => !val_matches(inner, element, parent),
        ValFilter::And(items) => items
            .as_slice()
            .iter()
            .all(|f| val_matches(f, element, parent)),
        ValFilter::Or(items) => items
            .as_slice()
            .iter()
            .any(|f| val_matches(f, element, parent)),
    }
}

/// The attribute `name` of `value` (an object), each element when it is multi-valued; its
/// `sub` attribute of each when one is named.
fn values_at<'v>(value: &'v Value, name: &str, sub: Option<&str>) -> Vec<&'v Value> {
    let Some(object) = value.as_object() else {
        return Vec::new();
    };
    let Some(found) = key_of(object, name).and_then(|k| object.get(&k)) else {
        return Vec::new();
    };
    let elements: Vec<&Value> = match found {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    };
    match sub {
        None => elements,
        Some(sub) => elements
            .into_iter()
            .filter_map(|e| {
                let o = e.as_object()?;
                o.get(&key_of(o, sub)?)
            })
            .collect(),
    }
}

/// Ids and references compare exactly; every other string ignoring case.
fn case_exact(parent: Option<&str>, path: &AttrPath) -> bool {
    let name = path.name.to_lowercase();
    let sub = path.sub_attr.as_deref().map(str::to_lowercase);
    matches!(
        (
            parent.map(str::to_lowercase).as_deref(),
            name.as_str(),
            sub.as_deref(),
        ),
        (None, "id" | "externalid", None)
            | (None, "members", Some("value" | "$ref"))
            | (Some("members"), "value" | "$ref", None)
    )
}

fn attr_matches(exp: &AttrExp, value: &Value, parent: Option<&str>) -> bool {
    let (path, found) = match exp {
        AttrExp::Present(path) | AttrExp::Comparison(path, _, _) => {
            let mut found = values_at(value, &path.name, path.sub_attr.as_deref());
            // `emails eq "x"` means the `value` of some element (RFC 7644 §3.4.2.2).
            if path.sub_attr.is_none() && found.iter().any(|v| v.is_object()) {
                found = values_at(value, &path.name, Some("value"));
            }
            (path, found)
        }
    };
    match exp {
        AttrExp::Present(_) => found.iter().any(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        }),
        AttrExp::Comparison(_, op, wanted) => {
            let exact = case_exact(parent, path);
            match op {
                // `ne` holds when no value equals; an absent attribute equals nothing.
                CompareOp::Ne => !found
                    .iter()
                    .any(|v| compare(v, &CompareOp::Eq, wanted, exact)),
                op => found.iter().any(|v| compare(v, op, wanted, exact)),
            }
        }
    }
}

fn compare(have: &Value, op: &CompareOp, wanted: &CompValue, exact: bool) -> bool {
    use std::cmp::Ordering;
    let ordered = |ord: Option<Ordering>| match (op, ord) {
        (CompareOp::Eq, Some(o)) => o == Ordering::Equal,
        (CompareOp::Gt, Some(o)) => o == Ordering::Greater,
        (CompareOp::Ge, Some(o)) => o != Ordering::Less,
        (CompareOp::Lt, Some(o)) => o == Ordering::Less,
        (CompareOp::Le, Some(o)) => o != Ordering::Greater,
        _ => false,
    };
    match (have, wanted) {
        (Value::String(h), CompValue::Str(w)) => {
            let (h, w) = if exact {
                (h.clone(), w.clone())
            } else {
                (h.to_lowercase(), w.to_lowercase())
            };
            match op {
                CompareOp::Co => h.contains(&w),
                CompareOp::Sw => h.starts_with(&w),
                CompareOp::Ew => h.ends_with(&w),
                _ => ordered(Some(h.cmp(&w))),
            }
        }
        (Value::Bool(h), CompValue::True) => matches!(op, CompareOp::Eq) && *h,
        (Value::Bool(h), CompValue::False) => matches!(op, CompareOp::Eq) && !*h,
        // Some providers (Entra among them) write booleans as strings.
        (Value::Bool(h), CompValue::Str(w)) => {
            matches!(op, CompareOp::Eq) && w.eq_ignore_ascii_case(if *h { "true" } else { "false" })
        }
        (Value::Number(h), CompValue::Number(w)) => ordered(
            h.as_f64()
                .zip(w.as_f64())
                .and_then(|(h, w)| h.partial_cmp(&w)),
        ),
        (Value::Null, CompValue::Null) => matches!(op, CompareOp::Eq),
        _ => false,
    }
}

/// What `resource` sorts by for `sortBy` (absent values first), ignoring case.
pub fn sort_key(resource: &Value, by: &str) -> String {
    let (name, sub) = super::schema::attribute_path(by);
    let mut values = values_at(resource, &name, sub.as_deref());
    if sub.is_none() && values.iter().any(|v| v.is_object()) {
        values = values_at(resource, &name, Some("value"));
    }
    values
        .first()
        .map(|v| match v {
            Value::String(s) => s.to_lowercase(),
            other => other.to_string(),
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "id": "usr_1", "externalId": "AbC", "userName": "Ann.Lee@Acme.example",
            "name": { "givenName": "Ann", "familyName": "Lee" },
            "emails": [{ "value": "ann@acme.example", "type": "work", "primary": true }],
            "active": true,
        })
    }

    fn check(filter: &str) -> bool {
        matches(&filter.parse().expect(filter), &user())
    }

    #[test]
    fn the_filters_providers_send_find_the_user() {
        assert!(check(r#"userName eq "ann.lee@acme.example""#));
        assert!(check(r#"USERNAME Eq "ANN.LEE@ACME.EXAMPLE""#));
        assert!(check(r#"externalId eq "AbC""#));
        assert!(!check(r#"externalId eq "abc""#), "externalId is case-exact");
        assert!(check(
            r#"emails[type eq "work" and value eq "ann@acme.example"]"#
        ));
        assert!(check(r#"emails eq "ann@acme.example""#));
        assert!(check(r#"emails.value sw "ann@""#));
        assert!(check(r#"name.familyName co "e" and active eq true"#));
        assert!(check(r#"not (active eq false)"#));
        assert!(check(r#"title pr or userName pr"#));
        assert!(!check(r#"title pr"#));
        assert!(check(r#"title ne "x""#));
        assert!(!check(
            r#"userName eq "bob@acme.example" or externalId eq "zzz""#
        ));
    }

    #[test]
    fn sorting_reads_the_attribute_and_ignores_case() {
        assert_eq!(sort_key(&user(), "userName"), "ann.lee@acme.example");
        assert_eq!(sort_key(&user(), "name.givenName"), "ann");
        assert_eq!(sort_key(&user(), "emails"), "ann@acme.example");
        assert_eq!(sort_key(&user(), "nothing"), "");
    }
}
