//! `/scim/v2/Users`: Gatehouse accounts as SCIM users. userName is kept as the provider sent it;
//! the account's e-mail is the primary (or work, or first) address of `emails`, or the userName
//! when that is an address. `active: false` suspends (sessions end; tokens and API keys are
//! refused on every node), DELETE deletes with the admin API's cleanup, and a full seat limit
//! answers 409. Provisioned accounts get the member role and no password: they sign in with
//! their company's identity provider or a password-reset link.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gatehouse_api::{Role, User, UserStatus};
use gatehouse_store::scim::{self as store, ScimUser};
use gatehouse_store::users::{NewUser, USER_COLUMNS, UserRow, attach_workspaces};
use serde_json::{Map, Value, json};

use super::schema::{USER_SCHEMA, field};
use super::{
    ListParams, ProjectionParams, ScimCaller, ScimError, ScimQuery, ScimResult, base_url,
    check_if_match, list_response, parse_body, resource_response, search_params, version,
};
use crate::AppState;
use crate::db::{self, Tx};

/// The user as a SCIM document. Its address carries `type: work` and `primary: true`, which
/// PATCH paths from Entra and Okta select by; [`public`] drops both, which the schema does not
/// declare (Gatehouse keeps one address, so they say nothing).
fn document(user: &User, scim: Option<&ScimUser>, base: &str) -> Value {
    let mut doc = json!({
        "schemas": [USER_SCHEMA],
        "id": user.id,
        "userName": scim.and_then(|s| s.scim_user_name.clone()).unwrap_or_else(|| user.email.clone()),
        "emails": [{ "value": user.email, "type": "work", "primary": true }],
        "active": user.status == UserStatus::Active,
        "meta": {
            "resourceType": "User",
            "created": user.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "lastModified": user.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "location": format!("{base}/Users/{}", user.id),
            "version": version(user.revision),
        },
    });
    if let Some(external) = scim.and_then(|s| s.scim_external_id.clone()) {
        doc["externalId"] = json!(external);
    }
    let mut name = Map::new();
    for (key, value) in [
        ("givenName", &user.first_name),
        ("familyName", &user.last_name),
    ] {
        if !value.is_empty() {
            name.insert(key.into(), json!(value));
        }
    }
    if !name.is_empty() {
        doc["name"] = Value::Object(name);
    }
    doc
}

fn public(mut doc: Value) -> Value {
    if let Some(Value::Array(emails)) = doc.get_mut("emails") {
        for e in emails.iter_mut().filter_map(Value::as_object_mut) {
            e.remove("type");
            e.remove("primary");
        }
    }
    doc
}

/// Every user in SCIM form, in creation order.
pub async fn all(state: &AppState, base: &str) -> ScimResult<Vec<Value>> {
    let rows: Vec<UserRow> =
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
            .fetch_all(&state.db.pool)
            .await?;
    let users = attach_workspaces(&state.db.pool, rows).await?;
    let scim = store::users(&state.db.pool, &[]).await?;
    Ok(users
        .iter()
        .map(|u| public(document(u, scim.get(&u.id), base)))
        .collect())
}

async fn read(tx: &mut Tx, id: &str, base: &str) -> ScimResult<(User, Value)> {
    let user = gatehouse_store::users::get_in(tx, id)
        .await?
        .ok_or_else(|| ScimError::not_found("user"))?;
    let scim = store::users(&mut **tx, &[id]).await?;
    let doc = document(&user, scim.get(id), base);
    Ok((user, doc))
}

/// What a provider's document asks the account to be.
#[derive(Debug)]
struct Desired {
    user_name: String,
    external_id: Option<String>,
    first_name: String,
    last_name: String,
    email: String,
    active: Option<bool>,
}

fn text(o: &Map<String, Value>, name: &str) -> ScimResult<Option<String>> {
    match field(o, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(ScimError::bad(
            "invalidValue",
            format!("{name} must be a string."),
        )),
    }
}

/// A boolean, or the strings Entra sends for one.
fn boolean(value: &Value, name: &str) -> ScimResult<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::bad(
            "invalidValue",
            format!("{name} must be true or false."),
        )),
    }
}

fn desired(doc: &Value) -> ScimResult<Desired> {
    let o = doc
        .as_object()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "A user must be a JSON object."))?;
    let user_name = text(o, "userName")?
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ScimError::bad("invalidValue", "userName is required."))?;
    if user_name.chars().count() > 254 || user_name.chars().any(char::is_control) {
        return Err(ScimError::bad(
            "invalidValue",
            "userName is too long or holds control characters.",
        ));
    }
    let external_id = text(o, "externalId")?.filter(|e| !e.is_empty());
    let (mut first_name, mut last_name) = (String::new(), String::new());
    if let Some(Value::Object(name)) = field(o, "name") {
        first_name = crate::validate::name(
            "name.givenName",
            &text(name, "givenName")?.unwrap_or_default(),
        )?;
        last_name = crate::validate::name(
            "name.familyName",
            &text(name, "familyName")?.unwrap_or_default(),
        )?;
    }
    let emails: Vec<&Map<String, Value>> = match field(o, "emails") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    };
    let is = |e: &&Map<String, Value>, key: &str, want: &Value| {
        field(e, key).is_some_and(|v| {
            v == want
                || v.as_str()
                    .is_some_and(|s| want.as_str().is_some_and(|w| s.eq_ignore_ascii_case(w)))
        })
    };
    let chosen = emails
        .iter()
        .find(|e| is(e, "primary", &json!(true)))
        .or_else(|| emails.iter().find(|e| is(e, "type", &json!("work"))))
        .or_else(|| emails.first())
        .and_then(|e| field(e, "value"))
        .and_then(Value::as_str);
    let email = match chosen {
        Some(address) => crate::validate::email("emails.value", address)?,
        None => crate::validate::email("userName", &user_name).map_err(|_| {
            ScimError::bad(
                "invalidValue",
                "A user needs an e-mail address: in emails, or as the userName.",
            )
        })?,
    };
    let active = field(o, "active")
        .filter(|v| !v.is_null())
        .map(|v| boolean(v, "active"))
        .transpose()?;
    Ok(Desired {
        user_name,
        external_id,
        first_name,
        last_name,
        email,
        active,
    })
}

async fn check_unique(tx: &mut Tx, want: &Desired, except: &str) -> ScimResult<()> {
    if store::email_taken(tx, &want.email, except).await? {
        return Err(ScimError::uniqueness(format!(
            "{} already has an account.",
            want.email
        )));
    }
    if store::user_name_taken(tx, &want.user_name, except).await? {
        return Err(ScimError::uniqueness(format!(
            "Another user has the userName {}.",
            want.user_name
        )));
    }
    Ok(())
}

pub async fn create(
    State(state): State<AppState>,
    caller: ScimCaller,
    body: Bytes,
) -> ScimResult<Response> {
    let want = desired(&parse_body(&body)?)?;
    let base = base_url(&state);
    let mut tx = state.db.begin_write().await?;
    check_unique(&mut tx, &want, "").await?;
    crate::org::check_seats(&mut tx, 1).await?;
    let status = if want.active == Some(false) {
        UserStatus::Suspended
    } else {
        UserStatus::Active
    };
    let id = gatehouse_store::users::insert(
        &mut tx,
        &NewUser {
            email: want.email.clone(),
            first_name: want.first_name.clone(),
            last_name: want.last_name.clone(),
            role: Role::Member,
            status,
            workspace_ids: Vec::new(),
            password_hash: None,
            created_at: db::now(),
            last_active_at: None,
        },
    )
    .await?;
    store::set_user(&mut tx, &id, want.external_id.as_deref(), &want.user_name).await?;
    let profile = crate::profiles::default_of(&mut tx).await?;
    crate::profiles::start_from(&mut tx, Some(&caller.token_id), &id, profile.as_ref()).await?;
    let (user, doc) = read(&mut tx, &id, &base).await?;
    let mut summary = caller.via();
    summary["after"] = json!(user);
    crate::audit::record(
        &mut tx,
        Some(&caller.token_id),
        "user.created",
        "user",
        &id,
        summary,
    )
    .await?;
    tx.commit().await?;
    let doc = public(doc);
    Ok(super::created_response(&doc))
}

pub async fn show(
    State(state): State<AppState>,
    _caller: ScimCaller,
    Path(id): Path<String>,
    ScimQuery(projection): ScimQuery<ProjectionParams>,
) -> ScimResult<Response> {
    let mut tx = state.db.begin_read().await?;
    let (_, doc) = read(&mut tx, &id, &base_url(&state)).await?;
    Ok(resource_response(
        StatusCode::OK,
        &projection.apply(public(doc)),
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

/// Makes user `id` what `edit` makes of its document (a PUT's whole one, or the PATCH applied).
async fn write(
    state: &AppState,
    caller: &ScimCaller,
    id: &str,
    headers: &HeaderMap,
    edit: super::Edit,
) -> ScimResult<Response> {
    let base = base_url(state);
    let mut tx = state.db.begin_write().await?;
    let (before, doc) = read(&mut tx, id, &base).await?;
    check_if_match(headers, &version(before.revision))?;
    let want = desired(&edit.apply(doc)?)?;
    check_unique(&mut tx, &want, id).await?;
    let status = match (before.status, want.active) {
        (UserStatus::Active, Some(false)) => UserStatus::Suspended,
        (UserStatus::Suspended, Some(true)) => UserStatus::Active,
        (UserStatus::Pending, Some(true)) => {
            // A pending account already holds a seat.
            crate::org::check_seats(&mut tx, 0).await?;
            UserStatus::Active
        }
        (status, _) => status,
    };
    let mut after = before.clone();
    after.email = want.email.clone();
    after.first_name = want.first_name.clone();
    after.last_name = want.last_name.clone();
    gatehouse_store::users::update(&mut tx, &after, status).await?;
    store::set_user(&mut tx, id, want.external_id.as_deref(), &want.user_name).await?;
    let mut summary = caller.via();
    if status == UserStatus::Suspended && before.status != UserStatus::Suspended {
        // As a suspension from the console: sessions end for good, so that reactivation does
        // not revive them; tokens and API keys are refused while suspended.
        let revoked = crate::auth::revoke(&mut tx, id, crate::auth::KIND_SESSION).await?;
        summary["sessions_revoked"] = json!(revoked);
    }
    let (user, doc) = read(&mut tx, id, &base).await?;
    let action = match (before.status, status) {
        (UserStatus::Active, UserStatus::Suspended) => "user.suspended",
        (UserStatus::Suspended, UserStatus::Active) => "user.reactivated",
        (UserStatus::Pending, UserStatus::Active) => "user.approved",
        _ => "user.updated",
    };
    summary["before"] = json!(before);
    summary["after"] = json!(user);
    crate::audit::record(&mut tx, Some(&caller.token_id), action, "user", id, summary).await?;
    tx.commit().await?;
    Ok(resource_response(StatusCode::OK, &public(doc)))
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
    let (before, _) = read(&mut tx, &id, &base_url(&state)).await?;
    check_if_match(&headers, &version(before.revision))?;
    crate::users::remove_account(&mut tx, &id).await?;
    let mut summary = caller.via();
    summary["before"] = json!(before);
    crate::audit::record(
        &mut tx,
        Some(&caller.token_id),
        "user.deleted",
        "user",
        &id,
        summary,
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_e_mail_is_the_primary_then_work_then_first_address_then_the_user_name() {
        let email = |doc: Value| desired(&doc).map(|d| d.email);
        assert_eq!(
            email(json!({ "userName": "ann", "emails": [
                { "value": "home@a.example", "type": "home" },
                { "value": "Work@A.example", "type": "work" },
                { "value": "main@a.example", "primary": true },
            ] }))
            .unwrap(),
            "main@a.example"
        );
        assert_eq!(
            email(json!({ "userName": "ann", "emails": [
                { "value": "home@a.example", "type": "home" },
                { "value": "Work@A.example", "type": "work" },
            ] }))
            .unwrap(),
            "work@a.example"
        );
        assert_eq!(
            email(json!({ "userName": "Ann@A.example" })).unwrap(),
            "ann@a.example"
        );
        let refused = email(json!({ "userName": "ann" })).unwrap_err();
        assert_eq!(refused.scim_type, Some("invalidValue"));
        let refused =
            email(json!({ "userName": "ann", "emails": [{ "value": "not an address" }] }));
        assert_eq!(refused.unwrap_err().status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn active_takes_booleans_and_entra_strings_and_nothing_else() {
        let active = |v: Value| {
            desired(&json!({ "userName": "a@b.example", "active": v })).map(|d| d.active)
        };
        assert_eq!(active(json!(false)).unwrap(), Some(false));
        assert_eq!(active(json!("True")).unwrap(), Some(true));
        assert_eq!(active(Value::Null).unwrap(), None);
        assert!(active(json!("maybe")).is_err());
        assert!(desired(&json!({ "userName": "" })).is_err());
        assert!(desired(&json!({ "userName": 5 })).is_err());
    }
}
