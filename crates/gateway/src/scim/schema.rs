//! What the server tells providers about itself: `ServiceProviderConfig`, `ResourceTypes` and
//! `Schemas`, declaring exactly the attributes Gatehouse keeps. A provider (and scim2-cli) builds
//! its model from these, so an attribute declared here is one the server stores and answers
//! unchanged; anything else a provider sends is left alone.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{LIST_SCHEMA, ScimError, ScimResult, base_url, scim_response};
use crate::AppState;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn attribute(name: &str, kind: &str, required: bool, case_exact: bool) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "required": required,
        "caseExact": case_exact,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
        "description": "",
    })
}

fn user_schema() -> Value {
    let mut user_name = attribute("userName", "string", true, false);
    user_name["uniqueness"] = json!("server");
    user_name["description"] =
        json!("The provider's login for the person; the e-mail unless `emails` says otherwise.");
    let mut name = attribute("name", "complex", false, false);
    name["subAttributes"] = json!([
        attribute("givenName", "string", false, false),
        attribute("familyName", "string", false, false),
    ]);
    let mut email_value = attribute("value", "string", true, false);
    email_value["description"] = json!("The address Gatehouse knows the person by.");
    let mut emails = attribute("emails", "complex", true, false);
    emails["multiValued"] = json!(true);
    emails["description"] =
        json!("The account's one address: of several sent, the primary (or work, or first) one.");
    emails["subAttributes"] = json!([email_value]);
    // Required as an account is always active or suspended, never neither; a provider that
    // leaves it out gets an active account, or keeps the one it has.
    let mut active = attribute("active", "boolean", true, false);
    active["description"] = json!("false suspends the account: sign-in, tokens and API keys stop.");
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A Gatehouse account",
        "attributes": [user_name, name, emails, active],
    })
}

fn group_schema() -> Value {
    let mut display_name = attribute("displayName", "string", true, false);
    display_name["uniqueness"] = json!("server");
    let mut value = attribute("value", "string", false, true);
    value["mutability"] = json!("immutable");
    let mut reference = attribute("$ref", "reference", false, true);
    reference["referenceTypes"] = json!(["User"]);
    reference["mutability"] = json!("immutable");
    let mut kind = attribute("type", "string", false, false);
    kind["canonicalValues"] = json!(["User"]);
    kind["mutability"] = json!("immutable");
    let mut members = attribute("members", "complex", false, false);
    members["multiValued"] = json!(true);
    members["description"] = json!("The group's users (groups do not nest).");
    members["subAttributes"] = json!([value, reference, kind]);
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": GROUP_SCHEMA,
        "name": "Group",
        "description": "A Gatehouse group",
        "attributes": [display_name, members],
    })
}

fn with_meta(mut doc: Value, kind: &str, location: String) -> Value {
    doc["meta"] = json!({ "resourceType": kind, "location": location });
    doc
}

fn all_schemas(base: &str) -> Vec<Value> {
    [user_schema(), group_schema()]
        .into_iter()
        .map(|s| {
            let id = s["id"].as_str().unwrap_or_default().to_owned();
            with_meta(s, "Schema", format!("{base}/Schemas/{id}"))
        })
        .collect()
}

fn all_resource_types(base: &str) -> Vec<Value> {
    [
        ("User", "/Users", USER_SCHEMA),
        ("Group", "/Groups", GROUP_SCHEMA),
    ]
    .into_iter()
    .map(|(id, endpoint, schema)| {
        with_meta(
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": id,
                "name": id,
                "endpoint": endpoint,
                "description": format!("Gatehouse {}s", id.to_lowercase()),
                "schema": schema,
                "schemaExtensions": [],
            }),
            "ResourceType",
            format!("{base}/ResourceTypes/{id}"),
        )
    })
    .collect()
}

fn list(items: Vec<Value>) -> Response {
    scim_response(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": items.len(),
            "startIndex": 1,
            "itemsPerPage": items.len(),
            "Resources": items,
        }),
        None,
    )
}

pub async fn service_provider_config(State(state): State<AppState>) -> Response {
    let base = base_url(&state);
    let doc = with_meta(
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": { "supported": true },
            "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
            "filter": { "supported": true, "maxResults": super::MAX_COUNT },
            "changePassword": { "supported": false },
            "sort": { "supported": true },
            "etag": { "supported": true },
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "SCIM token",
                "description": "A bearer token an admin makes under Settings → Identity.",
                "primary": true,
            }],
        }),
        "ServiceProviderConfig",
        format!("{base}/ServiceProviderConfig"),
    );
    scim_response(StatusCode::OK, &doc, None)
}

pub async fn resource_types(State(state): State<AppState>) -> Response {
    list(all_resource_types(&base_url(&state)))
}

pub async fn resource_type(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ScimResult<Response> {
    all_resource_types(&base_url(&state))
        .into_iter()
        .find(|t| t["id"] == json!(id))
        .map(|t| scim_response(StatusCode::OK, &t, None))
        .ok_or_else(|| ScimError::not_found("resource type"))
}

pub async fn schemas(State(state): State<AppState>) -> Response {
    list(all_schemas(&base_url(&state)))
}

pub async fn schema(State(state): State<AppState>, Path(id): Path<String>) -> ScimResult<Response> {
    all_schemas(&base_url(&state))
        .into_iter()
        .find(|s| s["id"] == json!(id))
        .map(|s| scim_response(StatusCode::OK, &s, None))
        .ok_or_else(|| ScimError::not_found("schema"))
}

/// An attribute path a provider wrote (`name.givenName`, or with its schema's URN in front) as
/// the lower-case attribute and sub-attribute.
pub fn attribute_path(path: &str) -> (String, Option<String>) {
    let path = [USER_SCHEMA, GROUP_SCHEMA]
        .iter()
        .find_map(|urn| {
            path.get(..urn.len() + 1)
                .filter(|head| head.eq_ignore_ascii_case(&format!("{urn}:")))
                .map(|_| &path[urn.len() + 1..])
        })
        .unwrap_or(path);
    match path.split_once('.') {
        Some((a, s)) => (a.to_lowercase(), Some(s.to_lowercase())),
        None => (path.to_lowercase(), None),
    }
}

/// The key of `object` named `name` case-insensitively (attribute names are, RFC 7643 §2.1).
pub fn key_of(object: &Map<String, Value>, name: &str) -> Option<String> {
    object
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
}

/// The attribute `name` of `object`, matched case-insensitively.
pub fn field<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    object.get(&key_of(object, name)?)
}

/// `resource` with only the attributes `attributes` names (plus `schemas` and `id`, always
/// returned), or without those `excluded` names.
pub fn project(
    resource: Value,
    attributes: Option<&[String]>,
    excluded: Option<&[String]>,
) -> Value {
    let Value::Object(mut map) = resource else {
        return resource;
    };
    let always = |k: &str| k == "schemas" || k == "id";
    if let Some(wanted) = attributes.filter(|a| !a.is_empty()) {
        let paths: Vec<(String, Option<String>)> =
            wanted.iter().map(|a| attribute_path(a)).collect();
        let keys: Vec<String> = map.keys().cloned().collect();
        for key in keys {
            if always(&key) {
                continue;
            }
            let lower = key.to_lowercase();
            let whole = paths.iter().any(|(a, s)| *a == lower && s.is_none());
            let subs: Vec<&String> = paths
                .iter()
                .filter(|(a, _)| *a == lower)
                .filter_map(|(_, s)| s.as_ref())
                .collect();
            if whole {
                continue;
            }
            if subs.is_empty() {
                map.remove(&key);
                continue;
            }
            keep_sub_attributes(map.get_mut(&key), &subs);
        }
    }
    if let Some(excluded) = excluded {
        for name in excluded {
            let (a, s) = attribute_path(name);
            let Some(key) = key_of(&map, &a) else {
                continue;
            };
            if always(&key) {
                continue;
            }
            match s {
                None => {
                    map.remove(&key);
                }
                Some(sub) => drop_sub_attribute(map.get_mut(&key), &sub),
            }
        }
    }
    Value::Object(map)
}

fn keep_sub_attributes(value: Option<&mut Value>, subs: &[&String]) {
    let keep = |o: &mut Map<String, Value>| {
        o.retain(|k, _| subs.iter().any(|s| k.eq_ignore_ascii_case(s)));
    };
    match value {
        Some(Value::Object(o)) => keep(o),
        Some(Value::Array(items)) => items.iter_mut().for_each(|i| {
            if let Value::Object(o) = i {
                keep(o);
            }
        }),
        _ => {}
    }
}

fn drop_sub_attribute(value: Option<&mut Value>, sub: &str) {
    let drop = |o: &mut Map<String, Value>| o.retain(|k, _| !k.eq_ignore_ascii_case(sub));
    match value {
        Some(Value::Object(o)) => drop(o),
        Some(Value::Array(items)) => items.iter_mut().for_each(|i| {
            if let Value::Object(o) = i {
                drop(o);
            }
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA], "id": "u1", "externalId": "x", "userName": "ann",
            "name": { "givenName": "Ann", "familyName": "Lee" },
            "emails": [{ "value": "ann@a.example", "type": "work" }],
        })
    }

    #[test]
    fn attributes_keep_only_what_is_named_and_always_id_and_schemas() {
        let out = project(
            user(),
            Some(&["externalId".into(), "name.familyName".into()]),
            None,
        );
        assert_eq!(
            out,
            json!({ "schemas": [USER_SCHEMA], "id": "u1", "externalId": "x",
                    "name": { "familyName": "Lee" } })
        );
        let urn = format!("{USER_SCHEMA}:userName");
        let out = project(user(), Some(&[urn]), None);
        assert_eq!(
            out,
            json!({ "schemas": [USER_SCHEMA], "id": "u1", "userName": "ann" })
        );
    }

    #[test]
    fn excluded_attributes_go_and_id_stays() {
        let out = project(
            user(),
            None,
            Some(&["NAME".into(), "id".into(), "emails.type".into()]),
        );
        assert_eq!(
            out,
            json!({ "schemas": [USER_SCHEMA], "id": "u1", "externalId": "x", "userName": "ann",
                    "emails": [{ "value": "ann@a.example" }] })
        );
    }
}
