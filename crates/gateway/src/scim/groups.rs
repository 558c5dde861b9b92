//! `/scim/v2/Groups`: Gatehouse groups as SCIM groups, `displayName` their name and `members`
//! their users. A provider's member joins as a plain member; one it takes out leaves with the
//! grants a manager gave them through the group, as from the console; a manager the console made
//! stays a manager while the provider keeps them in.

use std::collections::{BTreeSet, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_api::{Group, GroupRole};
use gatehouse_store::groups as store;
use serde_json::{Value, json};

use super::schema::{GROUP_SCHEMA, field};
use super::{
    ListParams, ProjectionParams, ScimCaller, ScimError, ScimQuery, ScimResult, base_url,
    check_if_match, list_response, parse_body, resource_response, search_params, version,
};
use crate::AppState;
use crate::db::Tx;

/// A group as read for SCIM: the group, its external id, its members' ids and the latest
/// revision of it and its memberships (its version).
struct Read {
    group: Group,
    external_id: Option<String>,
    members: Vec<String>,
    revision: i64,
}

fn document(read: &Read, base: &str) -> Value {
    let mut doc = json!({
        "schemas": [GROUP_SCHEMA],
        "id": read.group.id,
        "displayName": read.group.name,
        "meta": {
            "resourceType": "Group",
            "created": read.group.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "location": format!("{base}/Groups/{}", read.group.id),
            "version": version(read.revision),
        },
    });
    if let Some(external) = &read.external_id {
        doc["externalId"] = json!(external);
    }
    if !read.members.is_empty() {
        doc["members"] = read
            .members
            .iter()
            .map(|m| json!({ "value": m, "$ref": format!("{base}/Users/{m}"), "type": "User" }))
            .collect();
    }
    doc
}

/// Every group (or just `only`), its members and versions, in a handful of queries.
async fn read_all(tx: &mut Tx, only: Option<&str>) -> ScimResult<Vec<Read>> {
    let groups: Vec<Group> = match only {
        Some(id) => store::get_in(tx, id).await?.into_iter().collect(),
        None => store::all_in(tx).await?,
    };
    let external = gatehouse_store::scim::group_external_ids(tx).await?;
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT group_id, user_id, revision FROM group_members ORDER BY user_id")
            .fetch_all(&mut **tx)
            .await?;
    let mut members: HashMap<String, (Vec<String>, i64)> = HashMap::new();
    for (group, user, revision) in rows {
        let entry = members.entry(group).or_default();
        entry.0.push(user);
        entry.1 = entry.1.max(revision);
    }
    Ok(groups
        .into_iter()
        .map(|group| {
            let (ids, latest) = members.remove(&group.id).unwrap_or_default();
            Read {
                external_id: external.get(&group.id).cloned().flatten(),
                revision: group.revision.max(latest),
                members: ids,
                group,
            }
        })
        .collect())
}

async fn read_one(tx: &mut Tx, id: &str) -> ScimResult<Read> {
    read_all(tx, Some(id))
        .await?
        .pop()
        .ok_or_else(|| ScimError::not_found("group"))
}

pub async fn all(state: &AppState, base: &str) -> ScimResult<Vec<Value>> {
    let mut tx = state.db.begin_read().await?;
    let all = read_all(&mut tx, None).await?;
    Ok(all.iter().map(|r| document(r, base)).collect())
}

/// What a provider's document asks the group to be.
struct Desired {
    name: String,
    external_id: Option<String>,
    members: BTreeSet<String>,
}

fn desired(doc: &Value) -> ScimResult<Desired> {
    let o = doc
        .as_object()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "A group must be a JSON object."))?;
    let name = match field(o, "displayName") {
        Some(Value::String(s)) => crate::validate::text("displayName", s, 1, 100)?,
        _ => return Err(ScimError::bad("invalidValue", "displayName is required.")),
    };
    let external_id = match field(o, "externalId") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        None | Some(Value::Null) | Some(Value::String(_)) => None,
        Some(_) => {
            return Err(ScimError::bad(
                "invalidValue",
                "externalId must be a string.",
            ));
        }
    };
    let mut members = BTreeSet::new();
    match field(o, "members") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let m = item.as_object().ok_or_else(|| {
                    ScimError::bad(
                        "invalidValue",
                        "Each member must be an object with a value.",
                    )
                })?;
                if field(m, "type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| !t.eq_ignore_ascii_case("User"))
                {
                    return Err(ScimError::bad(
                        "invalidValue",
                        "A group's members are users; groups do not nest.",
                    ));
                }
                let value = field(m, "value").and_then(Value::as_str).ok_or_else(|| {
                    ScimError::bad(
                        "invalidValue",
                        "Each member needs the user's id as its value.",
                    )
                })?;
                members.insert(value.to_owned());
            }
        }
        Some(_) => return Err(ScimError::bad("invalidValue", "members must be a list.")),
    }
    Ok(Desired {
        name,
        external_id,
        members,
    })
}

/// Writes `want` onto group `id` (just made, or as read in `before`); returns the members
/// added and removed.
async fn apply(
    tx: &mut Tx,
    id: &str,
    want: &Desired,
    before: Option<&Read>,
) -> ScimResult<(Vec<String>, Vec<String>)> {
    if store::name_taken(tx, &want.name, id).await? {
        return Err(ScimError::uniqueness(format!(
            "A group named {:?} exists.",
            want.name
        )));
    }
    for user in &want.members {
        if !gatehouse_store::users::exists(tx, user).await? {
            return Err(ScimError::bad(
                "invalidValue",
                format!("No user has the id {user}."),
            ));
        }
    }
    if let Some(before) = before
        && before.group.name != want.name
    {
        store::update(tx, id, &want.name, &before.group.description).await?;
    }
    gatehouse_store::scim::set_group(tx, id, want.external_id.as_deref()).await?;
    let had: BTreeSet<String> = before
        .map(|b| b.members.iter().cloned().collect())
        .unwrap_or_default();
    let added: Vec<String> = want.members.difference(&had).cloned().collect();
    let removed: Vec<String> = had.difference(&want.members).cloned().collect();
    for user in &added {
        store::put_member(tx, id, user, GroupRole::Member).await?;
    }
    for user in &removed {
        crate::groups::remove_member(tx, id, user).await?;
    }
    Ok((added, removed))
}

pub async fn create(
    State(state): State<AppState>,
    caller: ScimCaller,
    body: Bytes,
) -> ScimResult<Response> {
    let want = desired(&parse_body(&body)?)?;
    let mut tx = state.db.begin_write().await?;
    if store::name_taken(&mut tx, &want.name, "").await? {
        return Err(ScimError::uniqueness(format!(
            "A group named {:?} exists.",
            want.name
        )));
    }
    let id = store::insert(&mut tx, &want.name, "").await?;
    let (added, _) = apply(&mut tx, &id, &want, None).await?;
    let read = read_one(&mut tx, &id).await?;
    let mut summary = caller.via();
    summary["after"] = json!(read.group);
    summary["members_added"] = json!(added);
    crate::audit::record(
        &mut tx,
        Some(&caller.token_id),
        "group.created",
        "group",
        &id,
        summary,
    )
    .await?;
    tx.commit().await?;
    let doc = document(&read, &base_url(&state));
    Ok(super::created_response(&doc))
}

pub async fn show(
    State(state): State<AppState>,
    _caller: ScimCaller,
    Path(id): Path<String>,
    ScimQuery(projection): ScimQuery<ProjectionParams>,
) -> ScimResult<Response> {
    let mut tx = state.db.begin_read().await?;
    let read = read_one(&mut tx, &id).await?;
    Ok(resource_response(
        StatusCode::OK,
        &projection.apply(document(&read, &base_url(&state))),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    _caller: ScimCaller,
    ScimQuery(params): ScimQuery<ListParams>,
) -> ScimResult<Response> {
    list_response(all(&state, &base_url(&state)).await?, &params)
}

pub async fn search(
    State(state): State<AppState>,
    _caller: ScimCaller,
    body: Bytes,
) -> ScimResult<Response> {
    let params = search_params(&body)?;
    list_response(all(&state, &base_url(&state)).await?, &params)
}

async fn write(
    state: &AppState,
    caller: &ScimCaller,
    id: &str,
    headers: &HeaderMap,
    edit: super::Edit,
) -> ScimResult<Response> {
    let base = base_url(state);
    let mut tx = state.db.begin_write().await?;
    let before = read_one(&mut tx, id).await?;
    check_if_match(headers, &version(before.revision))?;
    let want = desired(&edit.apply(document(&before, &base))?)?;
    let (added, removed) = apply(&mut tx, id, &want, Some(&before)).await?;
    let after = read_one(&mut tx, id).await?;
    let mut summary = caller.via();
    summary["before"] = json!(before.group);
    summary["after"] = json!(after.group);
    summary["members_added"] = json!(added);
    summary["members_removed"] = json!(removed);
    crate::audit::record(
        &mut tx,
        Some(&caller.token_id),
        "group.updated",
        "group",
        id,
        summary,
    )
    .await?;
    tx.commit().await?;
    Ok(resource_response(StatusCode::OK, &document(&after, &base)))
}

/// PUT (the whole resource) and PATCH (operations on it).
pub async fn update(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> ScimResult<Response> {
    let edit = super::Edit::from_request(&method, &body)?;
    write(&state, &caller, &id, &headers, edit).await
}

pub async fn delete(
    State(state): State<AppState>,
    caller: ScimCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ScimResult<Response> {
    let mut tx = state.db.begin_write().await?;
    let before = read_one(&mut tx, &id).await?;
    check_if_match(&headers, &version(before.revision))?;
    crate::groups::remove_group(&mut tx, &id).await?;
    let mut summary = caller.via();
    summary["before"] = json!(before.group);
    crate::audit::record(
        &mut tx,
        Some(&caller.token_id),
        "group.deleted",
        "group",
        &id,
        summary,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
