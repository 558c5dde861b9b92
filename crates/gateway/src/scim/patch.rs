//! SCIM PATCH (RFC 7644 §3.5.2) on a resource in its SCIM form, in the shapes providers send:
//! op names in any case (Entra writes `Replace`), operations without a path whose value holds
//! the attributes, value-selection paths such as `members[value eq "…"]` and
//! `emails[type eq "work"].value`, and Entra's removal of members listed in the value. The caller
//! writes the patched document like a PUT.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value};

use super::filter::val_matches;
use super::schema::{field, key_of};
use super::{PATCH_SCHEMA, ScimError, ScimResult};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Applies the PatchOp `request` to `resource`.
pub fn apply(resource: &mut Value, request: &Value) -> ScimResult<()> {
    let body = request
        .as_object()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "The PATCH body is not an object."))?;
    if let Some(schemas) = body.get(&key_of(body, "schemas").unwrap_or_default())
        && !schemas
            .as_array()
            .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(PATCH_SCHEMA)))
    {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!("A PATCH body's schemas must name {PATCH_SCHEMA}."),
        ));
    }
    let operations = key_of(body, "Operations")
        .and_then(|k| body.get(&k))
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::bad("invalidSyntax", "The PATCH body has no Operations."))?;
    let object = resource
        .as_object_mut()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "The resource is not an object."))?;
    for operation in operations {
        apply_one(object, operation)?;
    }
    Ok(())
}

fn apply_one(resource: &mut Map<String, Value>, operation: &Value) -> ScimResult<()> {
    let o = operation
        .as_object()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "A PATCH operation is not an object."))?;
    let op = match field(o, "op")
        .and_then(Value::as_str)
        .map(str::to_lowercase)
        .as_deref()
    {
        Some("add") => Op::Add,
        Some("replace") => Op::Replace,
        Some("remove") => Op::Remove,
        _ => {
            return Err(ScimError::bad(
                "invalidSyntax",
                "A PATCH operation's op must be add, replace or remove.",
            ));
        }
    };
    let value = field(o, "value").cloned();
    let path = field(o, "path")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let Some(path) = path else {
        if op == Op::Remove {
            return Err(ScimError::bad(
                "noTarget",
                "A remove operation needs a path.",
            ));
        }
        let Some(Value::Object(attributes)) = value else {
            return Err(ScimError::bad(
                "invalidValue",
                "An operation without a path needs an object of attributes as its value.",
            ));
        };
        for (name, v) in attributes {
            // Entra writes sub-attributes here too: `{"name.givenName": "Ann"}`.
            let path = parse_path(&name)?;
            apply_at(resource, op, &path, Some(v))?;
        }
        return Ok(());
    };
    let path = parse_path(path)?;
    if op != Op::Remove && value.is_none() {
        return Err(ScimError::bad(
            "invalidValue",
            "An add or replace needs a value.",
        ));
    }
    apply_at(resource, op, &path, value)
}

fn parse_path(path: &str) -> ScimResult<PatchPath> {
    path.parse::<PatchPath>().map_err(|e| {
        ScimError::bad(
            "invalidPath",
            format!("The path {path:?} cannot be read: {e}"),
        )
    })
}

/// The key `path.name` has in `resource`, or the name as written for a new attribute.
fn key_for(resource: &Map<String, Value>, path: &AttrPath) -> String {
    key_of(resource, &path.name).unwrap_or_else(|| path.name.clone())
}

fn apply_at(
    resource: &mut Map<String, Value>,
    op: Op,
    path: &PatchPath,
    value: Option<Value>,
) -> ScimResult<()> {
    match path {
        PatchPath::Attr(attr) => {
            let key = key_for(resource, attr);
            match (&attr.sub_attr, op) {
                (None, Op::Remove) => remove_attribute(resource, &key, value.as_ref()),
                (None, Op::Add) => add_attribute(resource, &key, value.unwrap_or(Value::Null)),
                (None, Op::Replace) => {
                    resource.insert(key, value.unwrap_or(Value::Null));
                }
                (Some(sub), op) => {
                    let parent = resource
                        .entry(key)
                        .or_insert_with(|| Value::Object(Map::new()));
                    let targets: Vec<&mut Map<String, Value>> = match parent {
                        Value::Object(o) => vec![o],
                        Value::Array(items) => {
                            items.iter_mut().filter_map(Value::as_object_mut).collect()
                        }
                        other => {
                            *other = Value::Object(Map::new());
                            other.as_object_mut().into_iter().collect()
                        }
                    };
                    for target in targets {
                        set_sub(target, sub, op, value.clone());
                    }
                }
            }
        }
        PatchPath::Value(vp) => {
            let key = key_for(resource, &vp.attr);
            let parent = vp.attr.name.clone();
            let items = resource
                .entry(key.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if !items.is_array() {
                *items = Value::Array(vec![items.take()]);
            }
            let items = items.as_array_mut().expect("made an array above");
            let matching: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, e)| val_matches(&vp.filter, e, &parent))
                .map(|(i, _)| i)
                .collect();
            match (op, &vp.sub_attr) {
                (Op::Remove, None) => {
                    for i in matching.into_iter().rev() {
                        items.remove(i);
                    }
                }
                (op, Some(sub)) if !matching.is_empty() => {
                    for i in matching {
                        if let Some(o) = items[i].as_object_mut() {
                            set_sub(o, sub, op, value.clone());
                        }
                    }
                }
                (Op::Remove, Some(_)) => {}
                (_, None) if !matching.is_empty() => {
                    for i in matching {
                        match (&mut items[i], value.clone()) {
                            (Value::Object(o), Some(Value::Object(new))) => {
                                for (k, v) in new {
                                    let k = key_of(o, &k).unwrap_or(k);
                                    o.insert(k, v);
                                }
                            }
                            (slot, Some(v)) => *slot = v,
                            (_, None) => {}
                        }
                    }
                }
                // Nothing matched: the element the filter describes is made (what Entra
                // expects of `emails[type eq "work"].value` on an account with no such address).
                (_, sub) => {
                    let mut element = equalities(&vp.filter);
                    match (sub, value) {
                        (Some(sub), Some(v)) => {
                            element.insert(sub.clone(), v);
                        }
                        (None, Some(Value::Object(new))) => element.extend(new),
                        _ => {}
                    }
                    items.push(Value::Object(element));
                }
            }
            if items.is_empty() {
                resource.remove(&key);
            }
        }
    }
    Ok(())
}

/// The `attr eq value` terms of a value filter, as the attributes of a new element.
fn equalities(filter: &ValFilter) -> Map<String, Value> {
    let mut out = Map::new();
    let mut visit = |f: &ValFilter| {
        if let ValFilter::Attr(AttrExp::Comparison(path, CompareOp::Eq, v)) = f {
            let v = match v {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::True => Value::Bool(true),
                CompValue::False => Value::Bool(false),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => Value::Null,
            };
            out.insert(path.name.clone(), v);
        }
    };
    match filter {
        ValFilter::And(items) => items.as_slice().iter().for_each(&mut visit),
        other => visit(other),
    }
    out
}

fn set_sub(target: &mut Map<String, Value>, sub: &str, op: Op, value: Option<Value>) {
    let key = key_of(target, sub).unwrap_or_else(|| sub.to_owned());
    match (op, value) {
        (Op::Remove, _) | (_, None) => {
            target.remove(&key);
        }
        (_, Some(v)) => {
            target.insert(key, v);
        }
    }
}

/// `add`: a multi-valued attribute gains the new values (each once), a complex one the new
/// sub-attributes; anything else is set.
fn add_attribute(resource: &mut Map<String, Value>, key: &str, value: Value) {
    match (resource.get_mut(key), value) {
        (Some(Value::Array(have)), Value::Array(new)) => {
            for v in new {
                if !have.contains(&v) {
                    have.push(v);
                }
            }
        }
        (Some(Value::Object(have)), Value::Object(new)) => {
            for (k, v) in new {
                let k = key_of(have, &k).unwrap_or(k);
                have.insert(k, v);
            }
        }
        (_, value) => {
            resource.insert(key.to_owned(), value);
        }
    }
}

/// `remove` of a whole attribute, or (as Entra sends to take members out of a group) of the
/// elements of a multi-valued one whose `value` the operation's value lists.
fn remove_attribute(resource: &mut Map<String, Value>, key: &str, value: Option<&Value>) {
    let listed: Option<Vec<&Value>> = value.and_then(Value::as_array).map(|items| {
        items
            .iter()
            .filter_map(|i| i.as_object().and_then(|o| field(o, "value")))
            .collect()
    });
    match (resource.get_mut(key), listed) {
        (Some(Value::Array(have)), Some(listed)) if !listed.is_empty() => {
            have.retain(|e| {
                let v = e.as_object().and_then(|o| field(o, "value"));
                !v.is_some_and(|v| listed.contains(&v))
            });
            if have.is_empty() {
                resource.remove(key);
            }
        }
        _ => {
            resource.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(resource: Value, operations: Value) -> ScimResult<Value> {
        let mut resource = resource;
        apply(
            &mut resource,
            &json!({ "schemas": [PATCH_SCHEMA], "Operations": operations }),
        )?;
        Ok(resource)
    }

    #[test]
    fn entra_user_updates_apply() {
        let user = json!({ "userName": "ann@a.example", "active": true,
                           "emails": [{ "value": "ann@a.example", "type": "work", "primary": true }] });
        let out = patch(user.clone(), json!([
            { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ann.lee@a.example" },
            { "op": "Replace", "value": { "active": "False", "name.givenName": "Ann" } },
            { "op": "Add", "path": "name.familyName", "value": "Lee" },
        ]))
        .unwrap();
        assert_eq!(
            out["emails"],
            json!([{ "value": "ann.lee@a.example", "type": "work", "primary": true }])
        );
        assert_eq!(out["active"], json!("False"));
        assert_eq!(
            out["name"],
            json!({ "givenName": "Ann", "familyName": "Lee" })
        );
        // No work address yet: the filter's element is made.
        let out = patch(json!({ "userName": "bo" }), json!([
            { "op": "replace", "path": "emails[type eq \"work\"].value", "value": "bo@a.example" },
        ]))
        .unwrap();
        assert_eq!(
            out["emails"],
            json!([{ "type": "work", "value": "bo@a.example" }])
        );
    }

    #[test]
    fn member_changes_in_okta_and_entra_shapes() {
        let group =
            json!({ "displayName": "Eng", "members": [{ "value": "u1" }, { "value": "u2" }] });
        let out = patch(
            group.clone(),
            json!([
                { "op": "add", "path": "members", "value": [{ "value": "u3" }, { "value": "u1" }] },
                { "op": "remove", "path": "members[value eq \"u2\"]" },
            ]),
        )
        .unwrap();
        assert_eq!(
            out["members"],
            json!([{ "value": "u1" }, { "value": "u3" }])
        );
        // Entra: remove with the members in the value.
        let out = patch(
            group.clone(),
            json!([
                { "op": "Remove", "path": "members", "value": [{ "value": "u1" }] },
            ]),
        )
        .unwrap();
        assert_eq!(out["members"], json!([{ "value": "u2" }]));
        // Okta: replace the whole list, and rename.
        let out = patch(
            group,
            json!([
                { "op": "replace", "value": { "id": "ignored", "displayName": "Platform" } },
                { "op": "replace", "path": "members", "value": [] },
            ]),
        )
        .unwrap();
        assert_eq!(out["displayName"], json!("Platform"));
        assert_eq!(out["members"], json!([]));
    }

    #[test]
    fn bad_operations_are_refused_with_their_scim_type() {
        let bad = |ops: Value| patch(json!({}), ops).unwrap_err().scim_type;
        assert_eq!(bad(json!([{ "op": "remove" }])), Some("noTarget"));
        assert_eq!(
            bad(json!([{ "op": "move", "path": "a" }])),
            Some("invalidSyntax")
        );
        assert_eq!(
            bad(json!([{ "op": "add", "path": "a[b eq" , "value": 1 }])),
            Some("invalidPath")
        );
        assert_eq!(
            bad(json!([{ "op": "add", "path": "a" }])),
            Some("invalidValue")
        );
        let mut doc = json!({});
        let wrong = apply(&mut doc, &json!({ "schemas": ["x"], "Operations": [] }));
        assert_eq!(wrong.unwrap_err().scim_type, Some("invalidSyntax"));
    }
}
