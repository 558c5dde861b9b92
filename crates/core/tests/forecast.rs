//! Forecasts, reset instants and access profiles from a cache synced from the demo gateway:
//! the desktop computes the forecast with the gateway's own rule from its cache, and it agrees
//! with the gateway's `/forecast` answers.

use chrono::Utc;
use gatehouse_api::{AccessProfile, Forecast, Group, Page, Secret, SubjectKind, User};
use gatehouse_core::cache::Cache;
use gatehouse_core::client::AdminClient;
use gatehouse_core::ipc::SpendSubject;
use gatehouse_core::sync;
use serde::de::DeserializeOwned;
use serde_json::json;

struct Synced {
    _dir: tempfile::TempDir,
    _gateway: gatehouse_gateway::RunningGateway,
    client: AdminClient,
    http: reqwest::Client,
    url: String,
    token: Secret,
    cache: Cache,
}

impl Synced {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (gateway, token) = gatehouse_core::embedded::start(&dir.path().join("gw.db"))
            .await
            .unwrap();
        let cache = Cache::open(
            &dir.path().join("cache.sqlite"),
            gatehouse_core::seal::Seal::generate().0,
        )
        .await
        .unwrap();
        let url = gateway.url();
        let client = AdminClient::new(&url, token.clone()).unwrap();
        let s = Self {
            _dir: dir,
            _gateway: gateway,
            client,
            http: reqwest::Client::new(),
            url,
            token,
            cache,
        };
        s.sync().await;
        s
    }

    async fn sync(&self) {
        sync::sync(&self.client, &self.cache, |_| {}).await.unwrap();
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> T {
        let res = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(self.token.expose())
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "GET {path}: {}", res.status());
        res.json().await.unwrap()
    }
}

/// The same forecast but for the instant it was computed at.
fn assert_same(cached: &Forecast, served: &Forecast, what: &str) {
    assert_eq!(cached.time_zone, served.time_zone, "{what}");
    assert_eq!(cached.pace_days, served.pace_days, "{what}");
    for (a, b, field) in [
        (cached.pace_usd_per_day, served.pace_usd_per_day, "pace"),
        (cached.month_to_date_usd, served.month_to_date_usd, "mtd"),
        (cached.month_end_usd, served.month_end_usd, "month end"),
    ] {
        assert!((a - b).abs() < 1e-6, "{what} {field}: {a} vs {b}");
    }
    assert_eq!(cached.periods.len(), 3);
    for (a, b) in cached.periods.iter().zip(&served.periods) {
        assert_eq!(
            (a.period, a.cap_usd, a.resets_at, a.runs_out_on),
            (b.period, b.cap_usd, b.resets_at, b.runs_out_on),
            "{what}"
        );
        assert!((a.spent_usd - b.spent_usd).abs() < 1e-6, "{what}");
    }
}

#[tokio::test]
async fn the_cache_forecasts_as_the_gateway_does_and_says_when_budgets_reset() {
    let s = Synced::start().await;
    let groups: Page<Group> = s.get("/admin/v1/groups").await;
    let interns = groups.items.iter().find(|g| g.name == "Interns").unwrap();
    let status = s
        .cache
        .budget_status(&SpendSubject {
            kind: Some(SubjectKind::Group),
            id: Some(interns.id.clone()),
        })
        .await
        .unwrap();
    for p in &status.periods {
        assert_eq!(p.resets_at, p.end);
        assert!(p.resets_at > Utc::now());
    }
    let served: Forecast = s
        .get(&format!("/admin/v1/groups/{}/forecast", interns.id))
        .await;
    assert_same(&status.forecast, &served, "Interns");
    assert!(
        status.forecast.pace_usd_per_day > 0.0,
        "the demo has recent usage"
    );

    let org = s
        .cache
        .budget_status(&SpendSubject::default())
        .await
        .unwrap();
    let served: Forecast = s.get("/admin/v1/org/forecast").await;
    assert_same(&org.forecast, &served, "org");
    assert!(org.forecast.month_end_usd >= org.forecast.month_to_date_usd);

    let users: Page<User> = s.get("/admin/v1/users?limit=20").await;
    for user in &users.items {
        let status = s
            .cache
            .budget_status(&SpendSubject {
                kind: Some(SubjectKind::User),
                id: Some(user.id.clone()),
            })
            .await
            .unwrap();
        let served: Forecast = s
            .get(&format!("/admin/v1/users/{}/forecast", user.id))
            .await;
        assert_same(&status.forecast, &served, &user.email);
    }
}

#[tokio::test]
async fn access_profiles_reach_the_cache_and_leave_it() {
    let s = Synced::start().await;
    let created: AccessProfile = s
        .client
        .create_access_profile(
            &serde_json::from_value(json!({ "name": "Starters", "grants": [] })).unwrap(),
        )
        .await
        .unwrap();
    s.sync().await;
    let cached = s.cache.access_profiles().await.unwrap();
    assert!(
        cached
            .profiles
            .iter()
            .any(|p| p.id == created.id && p.name == "Starters")
    );
    assert_eq!(cached.default_profile_id, None);
    s.client
        .patch_org(&gatehouse_api::OrgPatch {
            default_profile_id: Some(created.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    s.sync().await;
    let cached = s.cache.access_profiles().await.unwrap();
    assert_eq!(
        cached.default_profile_id.as_deref(),
        Some(created.id.as_str())
    );
    s.client.delete_access_profile(&created.id).await.unwrap();
    s.sync().await;
    let cached = s.cache.access_profiles().await.unwrap();
    assert!(cached.profiles.iter().all(|p| p.id != created.id));
    assert_eq!(
        cached.default_profile_id, None,
        "deleting the default clears it"
    );
}
