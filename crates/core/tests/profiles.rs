//! Profiles for real gateways on loopback: sign in with a password or a pasted token (the
//! credential goes to the real keychain and nowhere else), sign out, remove; offline reads from
//! the cache, changes failing fast, and sync resuming by itself when the gateway is back.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_api::Secret;
use gatehouse_api::{Role, UserStatus};
use gatehouse_core::changes::{Change, Changed};
use gatehouse_core::credentials::{CredentialStore, Keychain, Slot};
use gatehouse_core::ipc::{Phase, ProfileInput, SignIn, UserFilter};
use gatehouse_core::settings::Settings;
use gatehouse_core::{AppDirs, Console, CoreError};
use gatehouse_gateway::{Db, RunningGateway, demo};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Fixture {
    dir: tempfile::TempDir,
    db: Db,
    gateway: RunningGateway,
    admin_token: Secret,
    keychain: Arc<Keychain>,
    console: Arc<Console>,
}

async fn fixture(name: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (gateway, admin_token) = gatehouse_core::embedded::start(&dir.path().join("gw.db"))
        .await
        .unwrap();
    let db = gateway.state.db.clone();
    let (keychain, console) = console_in(dir.path(), name);
    Fixture {
        dir,
        db,
        gateway,
        admin_token,
        keychain,
        console,
    }
}

/// A console keeping its files under `dir` and its secrets under a keychain service of its own.
fn console_in(dir: &std::path::Path, name: &str) -> (Arc<Keychain>, Arc<Console>) {
    let keychain = Arc::new(Keychain::new(format!(
        "dev.gatehouse.test.{name}.{}",
        std::process::id()
    )));
    let dirs = AppDirs {
        config: dir.join("config"),
        data: dir.join("data"),
    };
    let console = Arc::new(Console::new(dirs, keychain.clone(), Arc::new(|_| {})));
    (keychain, console)
}

/// A profile for the fixture's gateway, signed in with the admin's token.
async fn signed_in_profile(f: &Fixture) -> gatehouse_core::ipc::ProfileSummary {
    let profile = f
        .console
        .add_profile(input(&f.gateway.url()))
        .await
        .unwrap();
    sign_in_as_admin(f, &profile.id).await;
    profile
}

async fn sign_in_as_admin(f: &Fixture, profile_id: &str) {
    f.console
        .sign_in(
            profile_id,
            SignIn::Token {
                token: f.admin_token.clone(),
            },
        )
        .await
        .unwrap();
}

fn input(url: &str) -> ProfileInput {
    ProfileInput {
        name: "Northwind production".into(),
        url: url.into(),
        ca_pem: None,
        insecure_http: false,
    }
}

/// Every file under `dir`, as bytes.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for path in entries.map(|e| e.unwrap().path()) {
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn assert_nowhere_on_disk(dir: &std::path::Path, secret: &str) {
    let files = files_under(dir);
    assert!(!files.is_empty());
    for (path, bytes) in files {
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("gw.db"))
        {
            continue; // the gateway's own database, not the app's
        }
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} holds a secret",
            path.display()
        );
    }
}

#[tokio::test]
async fn sign_in_with_a_password_or_a_token_then_sign_out_and_remove() {
    let f = fixture("profiles").await;
    let console = &f.console;

    // Bad input changes nothing.
    for (bad, field, why) in [
        (input("ftp://example.com"), "url", "https://"),
        (input("not a url"), "url", "not a URL"),
        (
            ProfileInput {
                ca_pem: Some("hello".into()),
                ..input("https://gw.example")
            },
            "ca_pem",
            "PEM",
        ),
        (
            ProfileInput {
                name: " ".into(),
                ..input("https://gw.example")
            },
            "name",
            "name",
        ),
    ] {
        let e = console.add_profile(bad).await.unwrap_err();
        assert_eq!(e.code(), "invalid");
        let ipc = e.to_ipc();
        assert!(ipc.message.contains(why), "{}", ipc.message);
        let fields = ipc.fields.expect("the field to point at");
        assert_eq!(fields[0].field, field);
        assert!(fields[0].message.contains(why));
    }
    assert!(console.profiles().await.unwrap().is_empty());

    // An operator with a password, made by the demo admin.
    let password = "correct horse battery staple";
    let created = reqwest::Client::new()
        .post(format!("{}/admin/v1/users", f.gateway.url()))
        .bearer_auth(f.admin_token.expose())
        .json(
            &json!({"email": "olive.op@northwind.example", "first_name": "Olive",
            "last_name": "Op", "role": "operator", "workspace_ids": [], "password": password}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    let profile = console.add_profile(input(&f.gateway.url())).await.unwrap();
    assert!(!profile.signed_in);
    assert!(profile.url.ends_with('/'));

    // A wrong password: refused, nothing kept, and the password is in no message.
    let e = console
        .sign_in(
            &profile.id,
            SignIn::Password {
                email: "olive.op@northwind.example".into(),
                password: Secret::new("wrong password"),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unauthorized");
    assert!(!format!("{e} {e:?} {:?}", e.to_ipc()).contains("wrong password"));
    assert_eq!(f.keychain.get(Slot::Token(&profile.id)).unwrap(), None);

    let status = console
        .sign_in(
            &profile.id,
            SignIn::Password {
                email: " olive.op@northwind.example ".into(),
                password: Secret::new(password),
            },
        )
        .await
        .unwrap();
    assert_eq!(status.phase, Phase::Ready, "{:?}", status.error);
    assert_eq!(status.me.unwrap().user.email, "olive.op@northwind.example");
    assert!(status.synced_at.is_some());
    assert!(status.profile.as_ref().unwrap().signed_in);
    let token = f
        .keychain
        .get(Slot::Token(&profile.id))
        .unwrap()
        .expect("the session token is in the keychain");
    assert!(console.users(&UserFilter::default()).await.unwrap().total > 0);
    assert_nowhere_on_disk(f.dir.path(), token.expose());
    assert_nowhere_on_disk(f.dir.path(), password);

    // A second profile for the same gateway, signed in with a pasted token.
    let second = console.add_profile(input(&f.gateway.url())).await.unwrap();
    let e = console
        .sign_in(
            &second.id,
            SignIn::Token {
                token: Secret::new("gat_not_a_real_token"),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unauthorized");
    assert_eq!(f.keychain.get(Slot::Token(&second.id)).unwrap(), None);
    let status = console
        .sign_in(
            &second.id,
            SignIn::Token {
                token: Secret::new(format!("  {}\n", f.admin_token.expose())),
            },
        )
        .await
        .unwrap();
    assert_eq!(status.me.unwrap().user.email, demo::DEMO_ADMIN_EMAIL);
    assert_eq!(status.profile.unwrap().id, second.id);
    assert_nowhere_on_disk(f.dir.path(), f.admin_token.expose());

    // Sign out: the credential is gone, the cache still answers.
    console.sign_out(&second.id).await.unwrap();
    assert_eq!(f.keychain.get(Slot::Token(&second.id)).unwrap(), None);
    let status = console.status().await;
    assert_eq!(status.phase, Phase::SignedOut);
    assert!(!status.profile.unwrap().signed_in);
    let cached = console.users(&UserFilter::default()).await.unwrap();
    assert!(cached.total > 0);
    assert_eq!(console.sync_now().await.unwrap_err().code(), "signed_out");

    // Remove: credential, cache key and cache files go; the other profile stays.
    let cache_file = f
        .dir
        .path()
        .join("data/cache")
        .join(format!("{}.sqlite", second.id));
    assert!(cache_file.exists());
    assert!(
        f.keychain
            .get(Slot::CacheKey(&second.id))
            .unwrap()
            .is_some()
    );
    console.remove_profile(&second.id).await.unwrap();
    assert!(!cache_file.exists());
    assert_eq!(f.keychain.get(Slot::CacheKey(&second.id)).unwrap(), None);
    let left: Vec<_> = console
        .profiles()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(left, vec![profile.id.clone()]);
    assert_eq!(
        console.remove_profile(&second.id).await.unwrap_err().code(),
        "no_profile"
    );

    // Back to the first profile: its credential was kept.
    console.activate(&profile.id).await.unwrap();
    assert_eq!(console.status().await.phase, Phase::Ready);
    console.remove_profile(&profile.id).await.unwrap();
    assert_eq!(f.keychain.get(Slot::Token(&profile.id)).unwrap(), None);
}

/// Waits (30 s at most) for the console to find its gateway again by itself.
async fn wait_until_online(console: &Console) {
    let mut waited = Duration::ZERO;
    while console.status().await.offline {
        assert!(
            waited < Duration::from_secs(30),
            "sync did not resume by itself"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
}

#[tokio::test]
async fn offline_reads_come_from_the_cache_and_sync_resumes_by_itself() {
    let f = fixture("offline").await;
    let console = f.console.clone();
    let profile = signed_in_profile(&f).await;
    let synced = console.status().await.synced_at.unwrap();
    let before = console.users(&UserFilter::default()).await.unwrap();
    assert_eq!(before.total as usize, demo::DEMO_USERS);

    let addr = f.gateway.addr;
    f.gateway.stop().await;

    let e = console.sync_now().await.unwrap_err();
    assert_eq!(e.code(), "offline");
    let status = console.status().await;
    assert!(status.offline);
    assert_eq!(status.synced_at, Some(synced), "data as of the last sync");
    assert_eq!(console.users(&UserFilter::default()).await.unwrap(), before);

    // A change fails fast with `offline`, before any network call.
    let e = console
        .change(|_client| async { Ok::<_, CoreError>(()) })
        .await
        .unwrap_err();
    assert_eq!(e.code(), "offline");

    // The default interval (5 minutes): coming back must not wait for it.
    assert_eq!(console.settings().await, Settings::default());
    let background = tokio::spawn(console.clone().run_background_sync());

    // The gateway comes back on the same address; nobody asks the console to sync.
    let back = RunningGateway::spawn(
        f.db.clone(),
        tokio::net::TcpListener::bind(addr).await.unwrap(),
    )
    .await
    .unwrap();
    wait_until_online(&console).await;
    let status = console.status().await;
    assert!(status.synced_at.unwrap() > synced);
    assert_eq!(status.phase, Phase::Ready);
    let ran = console
        .change(|_client| async { Ok::<_, CoreError>(7) })
        .await
        .unwrap();
    assert_eq!(ran, 7);

    // Gone again while the background loop sleeps through its interval: the sync that finds it
    // gone has the loop look for it every few seconds.
    back.stop().await;
    assert_eq!(console.sync_now().await.unwrap_err().code(), "offline");
    let _again = RunningGateway::spawn(
        f.db.clone(),
        tokio::net::TcpListener::bind(addr).await.unwrap(),
    )
    .await
    .unwrap();
    wait_until_online(&console).await;
    background.abort();

    // After a change the cache shows it at once: nobody syncs by hand.
    let member = console
        .users(&UserFilter {
            role: Some(Role::Member),
            status: Some(UserStatus::Active),
            ..Default::default()
        })
        .await
        .unwrap()
        .rows
        .remove(0);
    let applied = console
        .apply(Change::SuspendUser {
            id: member.id.clone(),
            reason: Some("Left the company".into()),
        })
        .await
        .unwrap();
    assert!(applied.secret.is_none());
    assert!(matches!(applied.changed, Changed::User(ref u) if u.status == UserStatus::Suspended));
    let suspended = console
        .users(&UserFilter {
            status: Some(UserStatus::Suspended),
            query: member.email.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(suspended.total, 1);
    // The reason is in the audit entry the sync brought.
    let audit = console
        .cache()
        .await
        .unwrap()
        .audit(&gatehouse_core::ipc::AuditFilter {
            target_id: Some(member.id.clone()),
            action: Some("user.suspended".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.rows[0].summary["reason"], "Left the company");

    // A refused change is the gateway's typed error, and changes nothing.
    let e = console
        .apply(Change::SuspendUser {
            id: "usr_nobody".into(),
            reason: None,
        })
        .await
        .err()
        .unwrap();
    assert_eq!(e.code(), "not_found");

    // An invitation's link is handed back apart from what the UI sees.
    let applied = console
        .apply(Change::Invite {
            invitation: serde_json::from_value(json!({
                "email": "new.hire@northwind.example", "role": "member"
            }))
            .unwrap(),
        })
        .await
        .unwrap();
    let Changed::Invitation(invitation) = &applied.changed else {
        panic!("not an invitation");
    };
    assert_eq!(invitation.link, None);
    let link = applied.secret.expect("the link");
    assert!(link.expose().contains("/invite/"));
    assert!(
        !serde_json::to_string(&applied.changed)
            .unwrap()
            .contains(link.expose())
    );
    console.remove_profile(&profile.id).await.unwrap();
}

#[tokio::test]
async fn clearing_the_cache_fills_a_new_one_and_is_refused_offline() {
    let f = fixture("clear").await;
    let console = f.console.clone();
    let profile = signed_in_profile(&f).await;
    let before = console.cache_info().await.unwrap();
    assert_eq!(before.profile_name, "Northwind production");
    assert!(before.bytes > 0, "{before:?}");
    // A row the gateway never sent: only a cache made anew is without it.
    sqlx::query(
        "INSERT INTO users (id, email, name, role, status, created_at, search_text, data, revision)
         VALUES ('stray', 'stray@example.com', 'Stray', 'member', 'active', '2026-01-01T00:00:00Z',
                 'stray stray@example.com', '{}', 1)",
    )
    .execute(console.cache().await.unwrap().pool())
    .await
    .unwrap();

    let after = console.clear_cache().await.unwrap();
    assert!(after.synced_at.unwrap() > before.synced_at.unwrap());
    assert!(after.bytes > 0);
    let users = console.users(&UserFilter::default()).await.unwrap();
    assert_eq!(users.total as usize, demo::DEMO_USERS);
    assert!(users.rows.iter().all(|u| u.id != "stray"));

    // Offline, clearing would leave nothing to read: it is refused and the cache stays.
    f.gateway.stop().await;
    assert_eq!(console.sync_now().await.unwrap_err().code(), "offline");
    assert_eq!(console.clear_cache().await.unwrap_err().code(), "offline");
    let still = console.users(&UserFilter::default()).await.unwrap();
    assert_eq!(still, users);
    assert_eq!(
        console.cache_info().await.unwrap().synced_at,
        after.synced_at
    );
    console.remove_profile(&profile.id).await.unwrap();
}

#[tokio::test]
async fn scim_tokens_are_read_from_the_gateway_and_a_new_ones_secret_is_split_off() {
    let f = fixture("scim").await;
    let console = f.console.clone();
    let profile = signed_in_profile(&f).await;
    assert!(console.scim_tokens().await.unwrap().is_empty());

    let applied = console
        .apply(Change::CreateScimToken {
            token: serde_json::from_value(json!({ "name": "Entra ID" })).unwrap(),
        })
        .await
        .unwrap();
    let Changed::ScimToken(made) = &applied.changed else {
        panic!("not a SCIM token");
    };
    assert_eq!(made.name, "Entra ID");
    let secret = applied.secret.expect("the new token's secret");
    assert!(secret.expose().starts_with("gsc_"));
    assert!(
        !serde_json::to_string(&applied.changed)
            .unwrap()
            .contains(secret.expose())
    );
    let listed = console.scim_tokens().await.unwrap();
    assert_eq!(listed.iter().map(|t| &t.id).collect::<Vec<_>>(), [&made.id]);

    let revoked = console
        .apply(Change::DeleteScimToken {
            id: made.id.clone(),
        })
        .await
        .unwrap();
    assert!(revoked.secret.is_none());
    assert!(console.scim_tokens().await.unwrap().is_empty());

    // Nothing of them is cached, so offline there is nothing to show.
    f.gateway.stop().await;
    assert_eq!(console.sync_now().await.unwrap_err().code(), "offline");
    assert_eq!(console.scim_tokens().await.unwrap_err().code(), "offline");
    console.remove_profile(&profile.id).await.unwrap();
}

#[tokio::test]
async fn identity_settings_are_read_from_the_gateway_and_set_as_a_change() {
    let f = fixture("identity").await;
    let console = f.console.clone();
    let profile = signed_in_profile(&f).await;
    let before = console.identity_settings().await.unwrap();
    assert!(!before.require_sso);

    let applied = console
        .apply(Change::SetIdentitySettings {
            settings: serde_json::from_value(json!({
                "join_mode": "just_in_time", "jit_domains": ["northwind.example"],
                "jit_role": "member", "require_sso": false, "groups_claim": "roles",
            }))
            .unwrap(),
        })
        .await
        .unwrap();
    let Changed::IdentitySettings(set) = &applied.changed else {
        panic!("not the identity settings");
    };
    assert_eq!(set.groups_claim, "roles");
    assert!(applied.secret.is_none());
    assert_eq!(&console.identity_settings().await.unwrap(), set);

    // Nothing of them is cached, so offline there is nothing to show.
    f.gateway.stop().await;
    assert_eq!(console.sync_now().await.unwrap_err().code(), "offline");
    assert_eq!(
        console.identity_settings().await.unwrap_err().code(),
        "offline"
    );
    console.remove_profile(&profile.id).await.unwrap();
}

/// A listener on loopback that keeps the head of every request it gets and answers 401: where
/// an edited profile now points.
async fn recording_listener() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head).into_owned());
            let _ = stream
                .write_all(
                    b"HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
                )
                .await;
        }
    });
    (url, seen)
}

/// A throwaway CA certificate, PEM.
fn some_ca_pem() -> String {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Gatehouse profile test CA");
    ca.self_signed(&key).unwrap().pem()
}

#[tokio::test]
async fn changing_the_address_signs_out_and_the_old_token_is_not_sent_there() {
    let f = fixture("edit-url").await;
    let console = &f.console;
    let profile = signed_in_profile(&f).await;
    assert!(console.users(&UserFilter::default()).await.unwrap().total > 0);
    let old_cache_key = f.keychain.get(Slot::CacheKey(&profile.id)).unwrap();
    assert!(old_cache_key.is_some());
    let (elsewhere, requests) = recording_listener().await;

    let edited = console
        .edit_profile(&profile.id, input(&elsewhere))
        .await
        .unwrap();
    assert_eq!(edited.url, format!("{elsewhere}/"));
    assert!(!edited.signed_in, "a new address needs a new sign-in");
    assert_eq!(f.keychain.get(Slot::Token(&profile.id)).unwrap(), None);
    let status = console.status().await;
    assert_eq!(status.phase, Phase::SignedOut);
    assert!(status.me.is_none());
    let shown = status.profile.unwrap();
    assert_eq!(shown.url, edited.url);
    assert!(!shown.signed_in);
    assert!(!console.profiles().await.unwrap()[0].signed_in);
    // What the old address's gateway sent is not shown as the new one's.
    assert_eq!(
        console.users(&UserFilter::default()).await.unwrap().total,
        0
    );
    assert_ne!(
        f.keychain.get(Slot::CacheKey(&profile.id)).unwrap(),
        old_cache_key
    );
    assert_eq!(console.sync_now().await.unwrap_err().code(), "signed_out");

    // Opened again, it stays signed out and sends nothing to the new address.
    console.activate(&profile.id).await.unwrap();
    assert_eq!(console.status().await.phase, Phase::SignedOut);
    let seen = requests.lock().unwrap().clone();
    assert!(
        seen.iter().all(|r| !r.contains(f.admin_token.expose())),
        "the old token was sent to the new address"
    );
    assert!(seen.is_empty(), "{} requests while signed out", seen.len());
    console.remove_profile(&profile.id).await.unwrap();
}

#[tokio::test]
async fn renaming_keeps_the_sign_in_and_changing_the_ca_drops_it() {
    let f = fixture("edit-ca").await;
    let console = &f.console;
    let profile = signed_in_profile(&f).await;
    let cached = console.users(&UserFilter::default()).await.unwrap().total;
    assert!(cached > 0);

    // A new name, and the same address written with a trailing slash: the same gateway.
    let renamed = console
        .edit_profile(
            &profile.id,
            ProfileInput {
                name: "Northwind (prod)".into(),
                ..input(&format!("{}/", f.gateway.url()))
            },
        )
        .await
        .unwrap();
    assert!(renamed.signed_in);
    assert_eq!(
        f.keychain.get(Slot::Token(&profile.id)).unwrap(),
        Some(f.admin_token.clone())
    );
    let status = console.status().await;
    assert_eq!(status.phase, Phase::Ready);
    assert_eq!(status.profile.unwrap().name, "Northwind (prod)");
    console.sync_now().await.unwrap();

    let edited = console
        .edit_profile(
            &profile.id,
            ProfileInput {
                ca_pem: Some(some_ca_pem()),
                ..input(&f.gateway.url())
            },
        )
        .await
        .unwrap();
    assert!(edited.custom_ca);
    assert!(!edited.signed_in, "a new CA needs a new sign-in");
    assert_eq!(f.keychain.get(Slot::Token(&profile.id)).unwrap(), None);
    let status = console.status().await;
    assert_eq!(status.phase, Phase::SignedOut);
    assert!(!status.profile.unwrap().signed_in);
    assert_eq!(console.sync_now().await.unwrap_err().code(), "signed_out");
    // The address is the same gateway's: its cache stays readable, as after signing out.
    assert_eq!(
        console.users(&UserFilter::default()).await.unwrap().total,
        cached
    );

    // Removing the CA is a change too.
    sign_in_as_admin(&f, &profile.id).await;
    let edited = console
        .edit_profile(
            &profile.id,
            ProfileInput {
                ca_pem: Some(String::new()),
                ..input(&f.gateway.url())
            },
        )
        .await
        .unwrap();
    assert!(!edited.custom_ca);
    assert!(!edited.signed_in);
    assert_eq!(f.keychain.get(Slot::Token(&profile.id)).unwrap(), None);
    console.remove_profile(&profile.id).await.unwrap();
}

#[tokio::test]
async fn plain_http_is_for_this_computer_unless_the_admin_allows_it_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let (_, console) = console_in(dir.path(), "http");
    let insecure = |url: &str| ProfileInput {
        insecure_http: true,
        ..input(url)
    };

    for url in [
        "http://gw.example.com",
        "http://10.0.0.8:8080",
        "http://[fe80::1]:8080",
        "http://localhost.evil.example",
        "http://127.0.0.1.nip.io",
    ] {
        let e = console.add_profile(input(url)).await.unwrap_err();
        assert_eq!(e.code(), "invalid", "{url}");
        let fields = e.to_ipc().fields.expect("the field to point at");
        assert_eq!(fields[0].field, "url");
        assert!(
            fields[0].message.contains("https://"),
            "{}",
            fields[0].message
        );
        assert!(
            fields[0].message.contains("insecure"),
            "{}",
            fields[0].message
        );
    }
    assert!(console.profiles().await.unwrap().is_empty());

    // This computer needs no choice, and is not marked insecure.
    for url in [
        "http://127.0.0.1:8080",
        "http://127.8.9.10",
        "http://localhost:8080",
        "http://LOCALHOST",
        "http://[::1]:8080",
    ] {
        let added = console.add_profile(input(url)).await.unwrap();
        assert!(!added.insecure_http, "{url}");
        let ticked = console.add_profile(insecure(url)).await.unwrap();
        assert!(!ticked.insecure_http, "{url} is not insecure");
    }
    // Nor is https, ticked or not.
    let https = console
        .add_profile(insecure("https://gw.example.com"))
        .await
        .unwrap();
    assert!(!https.insecure_http);

    // Another host over plain http, chosen explicitly: accepted, and marked.
    let chosen = console
        .add_profile(insecure("http://gw.example.com:8080"))
        .await
        .unwrap();
    assert!(chosen.insecure_http);
    assert!(
        console
            .profiles()
            .await
            .unwrap()
            .iter()
            .any(|p| p.id == chosen.id && p.insecure_http)
    );

    // An edit is held to the same rule, and a refused edit changes nothing.
    let e = console
        .edit_profile(&https.id, input("http://gw.example.com"))
        .await
        .unwrap_err();
    assert_eq!(e.to_ipc().fields.unwrap()[0].field, "url");
    let kept = console.profiles().await.unwrap();
    let kept = kept.iter().find(|p| p.id == https.id).unwrap();
    assert_eq!(kept.url, "https://gw.example.com/");
    let edited = console
        .edit_profile(&https.id, insecure("http://gw.example.com"))
        .await
        .unwrap();
    assert!(edited.insecure_http);
    // Unticked again, plain http to that host is refused.
    assert_eq!(
        console
            .edit_profile(&chosen.id, input("http://gw.example.com:8080"))
            .await
            .unwrap_err()
            .code(),
        "invalid"
    );
}

/// A profiles file from before plain http needed the admin's say-so (or edited by hand) may
/// hold plain http to another computer with a credential in the keychain: the credential stays
/// but is sent nowhere, and signing in is refused, until the admin allows the insecure
/// connection in the profile's form.
#[tokio::test]
async fn an_older_plain_http_profile_sends_nothing_until_the_admin_allows_it() {
    let dir = tempfile::tempdir().unwrap();
    let (keychain, console) = console_in(dir.path(), "older-http");
    let allowed = console
        .add_profile(ProfileInput {
            insecure_http: true,
            ..input("http://gw.example.com:8080")
        })
        .await
        .unwrap();
    let token = Secret::new("gh_kept_from_before");
    keychain.set(Slot::Token(&allowed.id), &token).unwrap();
    // The file as the version before the choice wrote it: no flag.
    let path = dir.path().join("config").join("profiles.json");
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for profile in file["profiles"].as_array_mut().unwrap() {
        profile.as_object_mut().unwrap().remove("insecure_http");
    }
    std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
    assert!(!console.profiles().await.unwrap()[0].insecure_http);

    console.activate(&allowed.id).await.unwrap();
    let status = console.status().await;
    assert_eq!(status.phase, Phase::SignedOut, "the token was put to use");
    assert_eq!(
        keychain.get(Slot::Token(&allowed.id)).unwrap(),
        Some(token.clone()),
        "the credential stays for when the admin allows it"
    );
    let refused = console
        .sign_in(
            &allowed.id,
            SignIn::Token {
                token: Secret::new("gh_another"),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "invalid");
    assert_eq!(refused.to_ipc().fields.unwrap()[0].field, "url");
    console.remove_profile(&allowed.id).await.unwrap();
}

#[tokio::test]
async fn the_cache_is_encrypted_and_a_lost_key_starts_it_afresh_with_a_notice() {
    let f = fixture("lost-cache-key").await;
    let profile = signed_in_profile(&f).await;
    let users = f.console.users(&UserFilter::default()).await.unwrap();
    assert_eq!(users.total as usize, demo::DEMO_USERS);
    assert_eq!(f.console.status().await.notice, None);
    // Every cached address, and the demo org's domain, is nowhere in the app's files.
    let email = users.rows[0].email.clone();
    assert_nowhere_on_disk(f.dir.path(), &email);
    assert_nowhere_on_disk(f.dir.path(), "northwind.example");

    // The keychain loses the key (reset, or the profile moved to another computer).
    f.keychain.delete(Slot::CacheKey(&profile.id)).unwrap();
    f.console.activate(&profile.id).await.unwrap();
    let status = f.console.status().await;
    assert!(
        status
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("started afresh")),
        "{status:?}"
    );
    // The sync after opening filled it again, under a new key.
    let again = f.console.users(&UserFilter::default()).await.unwrap();
    assert_eq!(again.total as usize, demo::DEMO_USERS);
    assert!(
        f.keychain
            .get(Slot::CacheKey(&profile.id))
            .unwrap()
            .is_some()
    );
    // Opened again with its key, nothing is said.
    f.console.activate(&profile.id).await.unwrap();
    assert_eq!(f.console.status().await.notice, None);
    f.console.remove_profile(&profile.id).await.unwrap();
}
