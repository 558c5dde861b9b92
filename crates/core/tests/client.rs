//! The admin-API client against a real gateway on loopback: every operation, the typed errors the
//! UI acts on, the retry policy, sign-in, and TLS with a private CA.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gatehouse_api::*;
use gatehouse_core::CoreError;
use gatehouse_core::client::{AdminApi, AdminClient, ClientOptions, Invited, RetryPolicy, Subject};
use gatehouse_gateway::invite_key::InviteKey;
use gatehouse_gateway::{Db, GatewayOptions, RunningGateway, demo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Demo {
    gateway: RunningGateway,
    client: AdminClient,
    _dir: tempfile::TempDir,
}

async fn demo_db() -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("gw.db").display()))
        .await
        .unwrap();
    (db, dir)
}

/// The demo organisation on a gateway of its own, and a client signed in as its admin.
async fn demo() -> Demo {
    let (db, dir) = demo_db().await;
    let (key, _) = InviteKey::generate();
    let token = demo::seed(&db, &key).await.unwrap();
    let options = GatewayOptions {
        invite_key: Some(key),
        ..GatewayOptions::default()
    };
    let gateway = RunningGateway::start_on_loopback_with(db, options)
        .await
        .unwrap();
    let client = AdminClient::with_options(&gateway.url(), token, fast()).unwrap();
    Demo {
        gateway,
        client,
        _dir: dir,
    }
}

/// Retries in milliseconds, so that the tests of the retry policy stay fast.
fn fast() -> ClientOptions {
    ClientOptions {
        retry: RetryPolicy {
            retries: 2,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(2),
        },
        ..ClientOptions::default()
    }
}

fn api_error(e: CoreError) -> Problem {
    match e {
        CoreError::Api(p) => p,
        other => panic!("expected a problem document, got {other:?}"),
    }
}

fn new_user(email: &str, password: Option<&str>) -> UserCreate {
    UserCreate {
        email: email.into(),
        first_name: "Casey".into(),
        last_name: "Client".into(),
        role: Role::Member,
        workspace_ids: vec![],
        password: password.map(str::to_owned),
        profile_id: None,
    }
}

async fn first_user_with(client: &AdminClient, status: UserStatus) -> Vec<User> {
    client
        .users(&UserListQuery {
            status: Some(status),
            role: Some(Role::Member),
            ..Default::default()
        })
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn org_tokens_roles_and_workspaces() {
    let d = demo().await;
    let c = &d.client;
    let me = c.me().await.unwrap();
    assert_eq!(me.user.email, demo::DEMO_ADMIN_EMAIL);

    // Personal access tokens: made, listed, usable, deleted.
    let made = c
        .create_token(&AccessTokenCreate {
            name: "scripts".into(),
            expires_in_days: Some(30),
        })
        .await
        .unwrap();
    assert!(!made.secret.is_empty());
    let listed = c.tokens(&ListQuery::default()).await.unwrap();
    assert!(listed.items.iter().any(|t| t.id == made.token.id));
    let other = AdminClient::new(&d.gateway.url(), Secret::new(made.secret)).unwrap();
    assert_eq!(other.me().await.unwrap().user.id, me.user.id);
    c.delete_token(&made.token.id).await.unwrap();
    assert!(other.me().await.unwrap_err().is_unauthorized());

    // SCIM tokens: made, listed without their secret, usable by a provider, revoked.
    let scim = c
        .create_scim_token(&ScimTokenCreate {
            name: "Okta".into(),
        })
        .await
        .unwrap();
    let listed = c.scim_tokens().await.unwrap();
    assert!(
        listed
            .iter()
            .any(|t| t.id == scim.token.id && t.name == "Okta")
    );
    assert!(!format!("{listed:?}").contains(&scim.secret));
    let provider = reqwest::Client::new();
    let scim_users = format!("{}/scim/v2/Users", d.gateway.url().trim_end_matches('/'));
    let asked = |secret: String| provider.get(&scim_users).bearer_auth(secret).send();
    assert!(
        asked(scim.secret.clone())
            .await
            .unwrap()
            .status()
            .is_success()
    );
    c.delete_scim_token(&scim.token.id).await.unwrap();
    assert_eq!(asked(scim.secret).await.unwrap().status(), 401);
    assert!(
        c.scim_tokens()
            .await
            .unwrap()
            .iter()
            .all(|t| t.id != scim.token.id)
    );

    let org = c.org().await.unwrap();
    assert_eq!(org.name, demo::DEMO_ORG);
    let patched = c
        .patch_org(&OrgPatch {
            time_zone: Some("Europe/Berlin".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(patched.time_zone, "Europe/Berlin");
    assert!(patched.revision > org.revision);
    let roles = c.roles().await.unwrap();
    assert_eq!(roles.len(), Role::ALL.len());

    let before = c
        .workspaces(&ListQuery::default())
        .await
        .unwrap()
        .items
        .len();
    let ws = c
        .create_workspace(&WorkspaceCreate {
            name: "Client Tests".into(),
            slug: None,
        })
        .await
        .unwrap();
    assert_eq!(ws.slug, "client-tests");
    assert_eq!(c.workspace(&ws.id).await.unwrap(), ws);
    let renamed = c
        .patch_workspace(
            &ws.id,
            &WorkspacePatch {
                name: Some("Client Suite".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Client Suite");
    let member = &first_user_with(c, UserStatus::Active).await[0];
    let membership = c
        .put_workspace_member(&ws.id, &member.id, Role::Operator)
        .await
        .unwrap();
    assert_eq!(membership.role, Role::Operator);
    assert_eq!(c.workspace(&ws.id).await.unwrap().member_count, 1);
    c.delete_workspace_member(&ws.id, &member.id).await.unwrap();
    assert_eq!(c.workspace(&ws.id).await.unwrap().member_count, 0);
    let all = c
        .workspaces(&ListQuery {
            limit: Some(1000),
            cursor: None,
        })
        .await
        .unwrap();
    assert_eq!(all.items.len(), before + 1);
    c.delete_workspace(&ws.id).await.unwrap();
    let gone = api_error(c.workspace(&ws.id).await.unwrap_err());
    assert_eq!(gone.code, ErrorCode::NotFound);

    // The audit trail names what was done, filtered by target.
    let audit = c
        .audit(&AuditQuery {
            target_id: Some(ws.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<_> = audit.items.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"workspace.created"), "{actions:?}");
    assert!(actions.contains(&"workspace.deleted"), "{actions:?}");
    assert!(audit.items.iter().all(|e| e.target_id == ws.id));

    let page = c.sync(0, 10).await.unwrap();
    assert_eq!(page.changes.len(), 10);
    assert!(page.has_more);
}

#[tokio::test]
async fn users_lifecycle_keys_and_policy() {
    let d = demo().await;
    let c = &d.client;
    let user = c
        .create_user(&new_user("casey.client@northwind.example", None))
        .await
        .unwrap();
    assert_eq!(c.user(&user.id).await.unwrap(), user);
    let found = c
        .users(&UserListQuery {
            query: Some("casey.client".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    let patched = c
        .patch_user(
            &user.id,
            &UserPatch {
                first_name: Some("Cassidy".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.first_name, "Cassidy");
    assert_eq!(
        c.suspend_user(&user.id, None).await.unwrap().status,
        UserStatus::Suspended
    );
    assert_eq!(
        c.reactivate_user(&user.id).await.unwrap().status,
        UserStatus::Active
    );
    c.reset_password(&user.id).await.unwrap();

    let pending = first_user_with(c, UserStatus::Pending).await;
    assert!(pending.len() >= 2, "the demo has pending sign-ups");
    assert_eq!(
        c.approve_user(&pending[0].id).await.unwrap().status,
        UserStatus::Active
    );
    c.decline_user(&pending[1].id).await.unwrap();
    assert_eq!(
        api_error(c.user(&pending[1].id).await.unwrap_err()).code,
        ErrorCode::NotFound
    );

    // Models, and a grant of one to the user.
    let model = c
        .create_model(&ModelCreate {
            id: "client-echo".into(),
            display_name: "Client echo".into(),
            provider: Provider::Echo,
            upstream_base_url: None,
            input_usd_per_mtok: 1.0,
            output_usd_per_mtok: 2.0,
        })
        .await
        .unwrap();
    assert_eq!(c.model(&model.id).await.unwrap(), model);
    let models = c.models(&ListQuery::default()).await.unwrap();
    assert!(models.items.iter().any(|m| m.id == model.id));
    let repriced = c
        .patch_model(
            &model.id,
            &ModelPatch {
                output_usd_per_mtok: Some(3.5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(repriced.output_usd_per_mtok, 3.5);
    let grant = c
        .put_grant(Subject::User(&user.id), &model.id)
        .await
        .unwrap();
    assert_eq!(
        (grant.subject_kind, grant.model_id.as_str()),
        (SubjectKind::User, "client-echo")
    );

    let limits = Limits {
        requests_per_min: Some(60),
        max_concurrent: Some(4),
        ..Default::default()
    };
    assert_eq!(
        c.put_limits(Subject::User(&user.id), &limits)
            .await
            .unwrap(),
        limits
    );
    assert_eq!(c.limits(Subject::User(&user.id)).await.unwrap(), limits);
    let budget = Budget {
        monthly_usd: Some(100.0),
        ..Default::default()
    };
    assert_eq!(
        c.put_budget(Subject::User(&user.id), &budget)
            .await
            .unwrap(),
        budget
    );
    assert_eq!(c.budget(Subject::User(&user.id)).await.unwrap(), budget);

    // A group with its own grant, limits and budget; the effective policy names the sources.
    let group = c
        .create_group(&GroupCreate {
            name: "Client testers".into(),
            description: None,
        })
        .await
        .unwrap();
    assert_eq!(c.group(&group.id).await.unwrap(), group);
    let described = c
        .patch_group(
            &group.id,
            &GroupPatch {
                description: Some("People who test the client".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(described.description, "People who test the client");
    let gm = c
        .put_group_member(&group.id, &user.id, GroupRole::Manager)
        .await
        .unwrap();
    assert_eq!(gm.role, GroupRole::Manager);
    assert!(
        c.groups(&ListQuery::default())
            .await
            .unwrap()
            .items
            .iter()
            .any(|g| g.id == group.id && g.member_count == 1)
    );
    c.put_grant(Subject::Group(&group.id), &model.id)
        .await
        .unwrap();
    let group_limits = Limits {
        requests_per_min: Some(30),
        ..Default::default()
    };
    c.put_limits(Subject::Group(&group.id), &group_limits)
        .await
        .unwrap();
    assert_eq!(
        c.limits(Subject::Group(&group.id)).await.unwrap(),
        group_limits
    );
    let group_budget = Budget {
        daily_usd: Some(5.0),
        ..Default::default()
    };
    c.put_budget(Subject::Group(&group.id), &group_budget)
        .await
        .unwrap();
    assert_eq!(
        c.budget(Subject::Group(&group.id)).await.unwrap(),
        group_budget
    );
    let effective = c.effective(&user.id).await.unwrap();
    let g = effective
        .grants
        .iter()
        .find(|g| g.model_id == model.id)
        .unwrap();
    assert!(g.sources.contains(&"user".to_owned()) && g.sources.contains(&group.id));
    assert_eq!(effective.limits.requests_per_min.value, Some(30));
    assert_eq!(
        effective.limits.requests_per_min.source.as_deref(),
        Some(group.id.as_str())
    );
    assert_eq!(effective.limits.max_concurrent.value, Some(4));
    assert_eq!(
        effective.limits.max_concurrent.source.as_deref(),
        Some("user")
    );
    assert_eq!(effective.budget.daily_usd.value, Some(5.0));
    assert_eq!(effective.budget.monthly_usd.value, Some(100.0));

    c.delete_grant(Subject::Group(&group.id), &model.id)
        .await
        .unwrap();
    c.delete_grant(Subject::User(&user.id), &model.id)
        .await
        .unwrap();
    assert!(c.effective(&user.id).await.unwrap().grants.is_empty());
    c.delete_group_member(&group.id, &user.id).await.unwrap();
    c.delete_group(&group.id).await.unwrap();
    assert_eq!(
        api_error(c.group(&group.id).await.unwrap_err()).code,
        ErrorCode::NotFound
    );
    c.delete_model(&model.id).await.unwrap();

    // API keys: the secret once, then only the prefix; revoking marks the key.
    let key = c
        .create_key(
            &user.id,
            &ApiKeyCreate {
                name: "laptop".into(),
                limits: Some(Limits {
                    requests_per_min: Some(7),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(key.secret.starts_with(&key.key.prefix));
    let keys = c.user_keys(&user.id).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].revoked_at.is_none());
    assert_eq!(keys[0].limits.requests_per_min, Some(7));
    // The key's own policy: changed, read back, and one level below the user's.
    let expiry = chrono::Utc::now() + chrono::Duration::days(30);
    let changed = c
        .update_key(
            &key.key.id,
            &ApiKeyUpdate {
                expires_at: Some(Some(expiry)),
                budget: Some(Budget {
                    daily_usd: Some(3.0),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed, c.key(&key.key.id).await.unwrap());
    assert_eq!(changed.budget.daily_usd, Some(3.0));
    assert!(changed.expires_at.is_some());
    let effective = c.key_effective(&key.key.id).await.unwrap();
    assert_eq!(effective.key_id.as_deref(), Some(key.key.id.as_str()));
    assert_eq!(effective.limits.requests_per_min.value, Some(7));
    assert_eq!(
        effective.limits.requests_per_min.source.as_deref(),
        Some("key")
    );
    let rotated = c.rotate_key(&key.key.id, 3600).await.unwrap();
    assert_ne!(rotated.secret, key.secret);
    assert!(rotated.key.previous_secret_expires_at.is_some());
    c.revoke_key(&key.key.id).await.unwrap();
    assert!(c.user_keys(&user.id).await.unwrap()[0].revoked_at.is_some());

    c.delete_user(&user.id).await.unwrap();
    assert_eq!(
        api_error(c.user(&user.id).await.unwrap_err()).code,
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn invitations_usage_export_and_alerts() {
    let d = demo().await;
    let c = &d.client;
    let invite = InvitationCreate {
        email: "robin.new@northwind.example".into(),
        first_name: Some("Robin".into()),
        last_name: None,
        role: Role::Member,
        workspace_ids: vec![],
        identity_provider: None,
        tenant_id: None,
        notification_email: None,
        profile_id: None,
    };
    let Invited::Invitation(inv) = c.invite(&invite).await.unwrap() else {
        panic!("a new address is invited");
    };
    assert!(inv.link.as_deref().is_some_and(|l| l.contains("/invite/")));
    assert_eq!(c.invitation(&inv.id).await.unwrap().email, inv.email);
    let resent = c.resend_invitation(&inv.id).await.unwrap();
    assert!(resent.sent_at >= inv.sent_at);
    let revoked = c.revoke_invitation(&inv.id).await.unwrap();
    assert_eq!(revoked.status, InvitationStatus::Revoked);
    let listed = c
        .invitations(&InvitationListQuery {
            status: Some(InvitationStatus::Revoked),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(listed.items.iter().any(|i| i.id == inv.id));

    // An address with an account is added to the workspaces instead.
    let ws = &c.workspaces(&ListQuery::default()).await.unwrap().items[0];
    let existing = first_user_with(c, UserStatus::Active)
        .await
        .into_iter()
        .find(|u| !u.workspace_ids.contains(&ws.id))
        .unwrap();
    let again = c
        .invite(&InvitationCreate {
            email: existing.email.clone(),
            workspace_ids: vec![ws.id.clone()],
            ..invite.clone()
        })
        .await
        .unwrap();
    let Invited::ExistingUser(user) = again else {
        panic!("an existing account is not invited: {again:?}");
    };
    assert!(user.workspace_ids.contains(&ws.id));

    let bulk = c
        .bulk_invite(&BulkInvite {
            text: Some(
                "a.one@northwind.example, b.two@northwind.example; a.one@northwind.example nope@"
                    .into(),
            ),
            emails: None,
            role: Role::Member,
            workspace_ids: vec![],
            profile_id: None,
        })
        .await
        .unwrap();
    let outcomes: Vec<_> = bulk.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            BulkOutcome::Invited,
            BulkOutcome::Invited,
            BulkOutcome::Duplicate,
            BulkOutcome::Invalid
        ]
    );

    // The last week of usage, paged, and the same filter exported as CSV into a file.
    let week = UsageQuery {
        from: Some(chrono::Utc::now().date_naive() - chrono::Days::new(6)),
        limit: Some(500),
        ..Default::default()
    };
    let mut rows = Vec::new();
    let mut q = week.clone();
    loop {
        let page = c.usage_daily(&q).await.unwrap();
        rows.extend(page.items);
        match page.next_cursor {
            Some(next) => q.cursor = Some(next),
            None => break,
        }
    }
    assert!(!rows.is_empty(), "the demo has usage in the last week");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.csv");
    let written = c.export_usage_csv_to_file(&week, &path).await.unwrap();
    let csv = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written as usize, csv.len());
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "day,user_id,model_id,workspace_id,requests,input_tokens,output_tokens,cost_usd,key_id"
        )
    );
    assert_eq!(lines.count(), rows.len());
    assert!(!dir.path().join("usage.csv.part").exists());

    // A budget that the latest day's spend has crossed raises alerts (the gateway checks after
    // each metered request; the demo's usage was written directly, so the check is run here).
    let latest = rows.iter().map(|r| r.day).max().unwrap();
    let spender = rows
        .iter()
        .filter(|r| r.day == latest)
        .max_by(|a, b| a.cost_usd.total_cmp(&b.cost_usd))
        .unwrap();
    let tiny = Some(0.000_001);
    let cap = Budget {
        daily_usd: tiny,
        weekly_usd: tiny,
        monthly_usd: tiny,
        ..Default::default()
    };
    c.put_budget(Subject::User(&spender.user_id), &cap)
        .await
        .unwrap();
    let mut tx = d.gateway.state.db.begin_write().await.unwrap();
    gatehouse_gateway::spend::check_alerts(&mut tx, &spender.user_id, chrono::Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let alerts = c.alerts(&ListQuery::default()).await.unwrap();
    let mine: Vec<_> = alerts
        .items
        .iter()
        .filter(|a| a.subject_id == spender.user_id)
        .collect();
    assert!(!mine.is_empty(), "{alerts:?}");
    assert!(mine.iter().all(|a| a.spent_usd > a.cap_usd));
}

#[tokio::test]
async fn identity_settings_read_set_and_refused_with_field_errors() {
    let d = demo().await;
    let c = &d.client;
    let before = c.identity_settings().await.unwrap();
    assert_eq!(before.join_mode, JoinMode::InviteOnly);
    assert!(before.providers.is_empty());
    assert!(!before.require_sso);

    let group = c
        .create_group(&GroupCreate {
            name: "Mapped".into(),
            description: None,
        })
        .await
        .unwrap();
    let admin = c.me().await.unwrap().user;
    let input = IdentitySettingsInput {
        join_mode: JoinMode::JustInTime,
        jit_domains: vec!["@Northwind.Example".into()],
        jit_role: Role::Auditor,
        microsoft_tenant: None,
        require_sso: false,
        break_glass_user_id: Some(admin.id.clone()),
        groups_claim: "groups".into(),
        role_mapping: vec![RoleMapping {
            claim_value: "gw-admins".into(),
            role: Some(Role::Admin),
            group_id: Some(group.id.clone()),
        }],
    };
    let set = c.set_identity_settings(&input).await.unwrap();
    assert_eq!(set.join_mode, JoinMode::JustInTime);
    assert_eq!(set.jit_domains, ["northwind.example"]);
    assert_eq!(set.break_glass_user_id.as_deref(), Some(admin.id.as_str()));
    assert_eq!(set.role_mapping, input.role_mapping);
    assert!(set.revision > before.revision);
    assert_eq!(c.identity_settings().await.unwrap(), set);

    // Bad input names its field; the settings stay as they were.
    let refused = api_error(
        c.set_identity_settings(&IdentitySettingsInput {
            jit_domains: vec![],
            ..input.clone()
        })
        .await
        .unwrap_err(),
    );
    assert_eq!(refused.code, ErrorCode::ValidationFailed);
    let fields: Vec<_> = refused
        .errors
        .iter()
        .flatten()
        .map(|f| f.field.as_str())
        .collect();
    assert_eq!(fields, ["jit_domains"]);
    // Requiring SSO where no provider is set up would let nobody in.
    let conflict = api_error(
        c.set_identity_settings(&IdentitySettingsInput {
            require_sso: true,
            ..input.clone()
        })
        .await
        .unwrap_err(),
    );
    assert_eq!(conflict.code, ErrorCode::Conflict);
    assert_eq!(c.identity_settings().await.unwrap(), set);
}

#[tokio::test]
async fn channels_and_the_audit_export() {
    let d = demo().await;
    let c = &d.client;
    assert!(c.channels().await.unwrap().is_empty());
    let made = c
        .create_channel(&ChannelCreate {
            name: "Ops".into(),
            url: "https://hooks.example.invalid/x".into(),
            format: Some(ChannelFormat::Slack),
            events: vec![EventType::BudgetExhausted],
            enabled: Some(false),
        })
        .await
        .unwrap();
    assert!(made.secret.starts_with("whsec_"));
    let patched = c
        .patch_channel(
            &made.channel.id,
            &ChannelPatch {
                name: Some("Ops 2".into()),
                ..ChannelPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.name, "Ops 2");
    assert_eq!(patched.format, ChannelFormat::Slack);
    let rotated = c.rotate_channel_secret(&made.channel.id).await.unwrap();
    assert_ne!(rotated.secret, made.secret);
    c.test_channel(&made.channel.id).await.unwrap();
    // A disabled channel's test event fails at its attempt, which the log shows.
    let mut log = Vec::new();
    for _ in 0..100 {
        log = c.channel_deliveries(&made.channel.id).await.unwrap();
        if !log.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].outcome, DeliveryOutcome::Failed);
    let refused = c
        .create_channel(&ChannelCreate {
            name: "Local".into(),
            url: "http://127.0.0.1:9/x".into(),
            format: None,
            events: vec![EventType::UserInvited],
            enabled: None,
        })
        .await
        .unwrap_err();
    assert_eq!(api_error(refused).code, ErrorCode::ValidationFailed);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let q = AuditExportQuery {
        format: Some(AuditExportFormat::Jsonl),
        target_id: Some(made.channel.id.clone()),
        ..AuditExportQuery::default()
    };
    let written = c.export_audit_to_file(&q, &path).await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, text.len() as u64);
    let actions: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<AuditEntry>(l).unwrap().action)
        .collect();
    assert_eq!(
        actions,
        [
            "channel.tested",
            "channel.secret_rotated",
            "channel.updated",
            "channel.created"
        ]
    );
    assert!(!text.contains(&rotated.secret) && !text.contains(&made.secret));
    c.delete_channel(&made.channel.id).await.unwrap();
    assert!(c.channels().await.unwrap().is_empty());
}

#[tokio::test]
async fn problems_arrive_typed_for_the_ui_to_act_on() {
    let d = demo().await;
    let c = &d.client;

    // 401: sign in again; the token is in neither the error nor its message.
    let wrong = AdminClient::new(&d.gateway.url(), Secret::new("gat_wrongwrong")).unwrap();
    let err = wrong.me().await.unwrap_err();
    assert!(err.is_unauthorized());
    let ipc = err.to_ipc();
    assert_eq!(ipc.code, "unauthorized");
    assert!(!format!("{err:?}{err}{ipc:?}").contains("gat_wrongwrong"));

    // 422 with the field that is wrong.
    let err = c
        .create_user(&new_user("not-an-address", None))
        .await
        .unwrap_err();
    let ipc = err.to_ipc();
    assert_eq!(ipc.code, "validation_failed");
    let fields = ipc.fields.expect("the invalid fields");
    assert_eq!(fields[0].field, "email");
    assert!(!fields[0].message.is_empty());
    assert_eq!(
        api_error(err).errors.unwrap()[0].field,
        "email",
        "the Problem keeps them too"
    );

    // 409 seat_limit_reached: the message says how many seats are used of how many.
    let org = c.org().await.unwrap();
    c.patch_org(&OrgPatch {
        seat_limit: Some(org.seats_used),
        ..Default::default()
    })
    .await
    .unwrap();
    let err = c
        .create_user(&new_user("one.too.many@northwind.example", None))
        .await
        .unwrap_err();
    let ipc = err.to_ipc();
    assert_eq!(ipc.code, "seat_limit_reached");
    assert_eq!(
        ipc.message,
        format!("{} of {} seats used.", org.seats_used, org.seats_used)
    );
    assert!(ipc.fields.is_none());

    // 404, and ids are one path segment each, whatever they hold.
    let err = c.user("usr_missing").await.unwrap_err();
    assert_eq!(err.to_ipc().code, "not_found");
    for odd in ["../org", "a/b", "x?y=1#z", "%2e%2e"] {
        let err = c.workspace(odd).await.unwrap_err();
        assert_eq!(api_error(err).code, ErrorCode::NotFound, "{odd}");
    }
    for bad in ["", ".", ".."] {
        let err = c.user(bad).await.unwrap_err();
        assert!(matches!(err, CoreError::Invalid(_)), "{bad:?}: {err:?}");
    }
}

#[tokio::test]
async fn signing_in_with_a_password_and_with_a_wrong_one() {
    let d = demo().await;
    let password = "correct horse battery staple";
    let user = d
        .client
        .create_user(&new_user("pat.password@northwind.example", Some(password)))
        .await
        .unwrap();
    let url = d.gateway.url();

    let session = AdminClient::login(&url, &user.email, &Secret::new(password), None)
        .await
        .unwrap();
    assert_eq!(session.user.id, user.id);
    assert!(session.expires_at > chrono::Utc::now());
    assert!(!format!("{session:?}").contains(session.token.expose()));
    let signed_in = AdminClient::new(&url, session.token).unwrap();
    assert_eq!(signed_in.me().await.unwrap().user.id, user.id);

    let wrong = "not the password at all";
    let err = AdminClient::login(&url, &user.email, &Secret::new(wrong), None)
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    let shown = format!("{err:?} {err} {:?}", err.to_ipc());
    assert!(!shown.contains(wrong) && !shown.contains("password at all"));
}

/// A loopback server that answers every request with `response` and counts them: a stand-in for
/// a failing network or proxy in front of the gateway.
async fn counting_server(response: String) -> (SocketAddr, Arc<AtomicUsize>) {
    let response: Arc<str> = response.into();
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let response = response.clone();
            tokio::spawn(async move {
                read_request(&mut stream).await;
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, count)
}

/// Reads one request's head and its `Content-Length` body.
async fn read_request(stream: &mut TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if buf.len() >= end + 4 + length {
            return;
        }
    }
}

/// An HTTP/1.1 response that closes the connection.
fn response(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{headers}connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn unavailable() -> String {
    let problem = Problem {
        status: 503,
        ..Problem::new(ErrorCode::Internal, "Try again later.")
    };
    response(
        "503 Service Unavailable",
        "content-type: application/problem+json\r\n",
        &serde_json::to_string(&problem).unwrap(),
    )
}

#[tokio::test]
async fn idempotent_calls_are_retried_and_posts_are_not() {
    let (addr, count) = counting_server(unavailable()).await;
    let client =
        AdminClient::with_options(&format!("http://{addr}"), Secret::new("t"), fast()).unwrap();

    let err = client.org().await.unwrap_err();
    assert_eq!(api_error(err).status, 503);
    assert_eq!(count.swap(0, Ordering::SeqCst), 3, "a GET and two retries");

    let err = client
        .put_limits(Subject::User("u"), &Limits::default())
        .await;
    assert!(err.is_err());
    assert_eq!(
        count.swap(0, Ordering::SeqCst),
        3,
        "a PUT is idempotent too"
    );

    let err = client
        .create_workspace(&WorkspaceCreate {
            name: "Once".into(),
            slug: None,
        })
        .await
        .unwrap_err();
    assert_eq!(api_error(err).status, 503);
    assert_eq!(count.swap(0, Ordering::SeqCst), 1, "a POST is sent once");
    client.suspend_user("u", None).await.unwrap_err();
    assert_eq!(count.swap(0, Ordering::SeqCst), 1);
    client.patch_org(&OrgPatch::default()).await.unwrap_err();
    assert_eq!(count.swap(0, Ordering::SeqCst), 1, "a PATCH is sent once");
}

#[tokio::test]
async fn retry_after_is_honoured_up_to_the_cap() {
    let soon = response("429 Too Many Requests", "retry-after: 0\r\n", "");
    let (addr, count) = counting_server(soon).await;
    let client =
        AdminClient::with_options(&format!("http://{addr}"), Secret::new("t"), fast()).unwrap();
    assert!(client.roles().await.is_err());
    assert_eq!(count.load(Ordering::SeqCst), 3);

    let later = response("503 Service Unavailable", "retry-after: 3600\r\n", "");
    let (addr, count) = counting_server(later).await;
    let client =
        AdminClient::with_options(&format!("http://{addr}"), Secret::new("t"), fast()).unwrap();
    let started = std::time::Instant::now();
    let err = client.roles().await.unwrap_err();
    assert!(matches!(err, CoreError::Protocol(_)), "{err:?}");
    assert_eq!(count.load(Ordering::SeqCst), 1, "an hour is past the cap");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_gateway_nobody_answers_for_is_offline_after_the_retries() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let client = AdminClient::with_options(&url, Secret::new("gat_secret"), fast()).unwrap();
    let started = std::time::Instant::now();
    let err = client.me().await.unwrap_err();
    assert!(
        matches!(&err, CoreError::Offline { url: u } if *u == url),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    let ipc = err.to_ipc();
    assert_eq!(ipc.code, "offline");
    assert!(!ipc.message.contains("gat_secret"));
}

#[test]
fn a_ca_that_is_not_pem_is_refused_clearly() {
    for bad in [
        "",
        "hello",
        "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
    ] {
        let err =
            AdminClient::with_ca("https://gw.example", Secret::new("t"), Some(bad)).unwrap_err();
        assert!(
            matches!(&err, CoreError::Invalid(m) if m.contains("CA certificate")),
            "{bad:?}: {err:?}"
        );
    }
    for bad in ["gw.example", "ftp://gw.example", "https://me:pw@gw.example"] {
        let err = AdminClient::new(bad, Secret::new("t")).unwrap_err();
        assert!(matches!(err, CoreError::Invalid(_)), "{bad}: {err:?}");
    }
}

mod tls {
    use super::*;
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    /// Accepts TCP connections and completes the TLS handshake; a client that rejects the
    /// certificate just fails its handshake.
    struct TlsListener {
        tcp: TcpListener,
        acceptor: TlsAcceptor,
    }

    impl axum::serve::Listener for TlsListener {
        type Io = tokio_rustls::server::TlsStream<TcpStream>;
        type Addr = SocketAddr;

        async fn accept(&mut self) -> (Self::Io, Self::Addr) {
            loop {
                let Ok((tcp, addr)) = self.tcp.accept().await else {
                    continue;
                };
                if let Ok(tls) = self.acceptor.accept(tcp).await {
                    return (tls, addr);
                }
            }
        }

        fn local_addr(&self) -> std::io::Result<Self::Addr> {
            self.tcp.local_addr()
        }
    }

    /// A throwaway CA and a certificate it signed for 127.0.0.1 and localhost.
    fn certificates() -> (String, ServerConfig) {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.distinguished_name
            .push(DnType::CommonName, "Gatehouse test CA");
        let ca = ca.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
        (ca.pem(), config)
    }

    #[tokio::test]
    async fn a_private_ca_in_the_profile_makes_the_gateway_trusted() {
        let (db, _dir) = demo_db().await;
        let (key, _) = InviteKey::generate();
        let token = demo::seed(&db, &key).await.unwrap();
        let (ca_pem, config) = certificates();
        let tcp = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let options = GatewayOptions {
            invite_key: Some(key),
            ..GatewayOptions::default()
        };
        let state = options.into_state(db, addr).unwrap();
        let listener = TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        };
        let server = tokio::spawn(async move {
            axum::serve(listener, gatehouse_gateway::router(state))
                .await
                .unwrap();
        });
        let url = format!("https://{addr}");

        let untrusting = AdminClient::with_options(&url, token.clone(), fast()).unwrap();
        let err = untrusting.me().await.unwrap_err();
        assert!(
            matches!(&err, CoreError::Untrusted { url: u, .. } if *u == url),
            "{err:?}"
        );
        let ipc = err.to_ipc();
        assert_eq!(ipc.code, "untrusted_certificate");
        assert!(
            ipc.message
                .contains("add that CA's certificate to the profile")
        );

        let trusting = AdminClient::with_ca(&url, token.clone(), Some(&ca_pem)).unwrap();
        assert_eq!(
            trusting.me().await.unwrap().user.email,
            demo::DEMO_ADMIN_EMAIL
        );

        // Plain HTTP to the TLS port, and TLS to a plain port, are not "untrusted".
        let plain = AdminClient::with_options(&format!("http://{addr}"), token, fast()).unwrap();
        assert!(!matches!(
            plain.me().await.unwrap_err(),
            CoreError::Untrusted { .. }
        ));
        server.abort();
    }

    #[tokio::test]
    async fn tls_to_a_plain_http_gateway_is_a_tls_error() {
        let d = demo().await;
        let url = d.gateway.url().replace("http://", "https://");
        let client = AdminClient::with_options(&url, Secret::new("t"), fast()).unwrap();
        let err = client.me().await.unwrap_err();
        assert!(matches!(err, CoreError::Tls { .. }), "{err:?}");
        assert_eq!(err.to_ipc().code, "tls");
    }
}
