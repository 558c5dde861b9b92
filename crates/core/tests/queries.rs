//! The screens' queries read a cache filled by a real sync of the demo gateway, and agree with
//! what the gateway itself answers.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::{Duration, Utc};
use gatehouse_api::{
    Budget, BulkInviteResult, BulkOutcome, EffectivePolicy, Group, Invitation, InvitationStatus,
    Limits, Page, Secret, SubjectKind, UsageDaily, User, Workspace, periods,
};
use gatehouse_core::cache::Cache;
use gatehouse_core::client::AdminClient;
use gatehouse_core::ipc::{
    AuditFilter, BulkPreviewKind, InvitationFilter, SpendSubject, UsageFilter, UsageGroupBy,
    UserFilter, UserSort,
};
use gatehouse_core::{CoreError, sync};
use gatehouse_gateway::{RunningGateway, demo};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A demo gateway on loopback, a plain HTTP client of its admin API, and a cache synced from it
/// after `prepare` has changed the gateway.
struct Synced {
    _dir: tempfile::TempDir,
    gateway: RunningGateway,
    http: reqwest::Client,
    url: String,
    token: Secret,
    cache: Cache,
    cache_path: std::path::PathBuf,
    seal: gatehouse_core::seal::Seal,
}

impl Synced {
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

    async fn send(&self, method: reqwest::Method, path: &str, body: Value) {
        let res = self
            .http
            .request(method.clone(), format!("{}{path}", self.url))
            .bearer_auth(self.token.expose())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "{method} {path}: {}",
            res.status()
        );
    }

    /// Every item of a paged list.
    async fn all<T: DeserializeOwned>(&self, path: &str) -> Vec<T> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let page: Page<T> = self
                .get(&match &cursor {
                    Some(c) => format!("{path}{sep}limit=1000&cursor={c}"),
                    None => format!("{path}{sep}limit=1000"),
                })
                .await;
            items.extend(page.items);
            cursor = page.next_cursor;
            if cursor.is_none() {
                return items;
            }
        }
    }

    async fn sync(&self) {
        let client = AdminClient::new(&self.url, self.token.clone()).unwrap();
        sync::sync(&client, &self.cache, |_| {}).await.unwrap();
    }
}

async fn start() -> Synced {
    let dir = tempfile::tempdir().unwrap();
    let (gateway, token) = gatehouse_core::embedded::start(&dir.path().join("gw.db"))
        .await
        .unwrap();
    let cache_path = dir.path().join("cache.sqlite");
    let seal = gatehouse_core::seal::Seal::generate().0;
    let cache = Cache::open(&cache_path, seal.clone()).await.unwrap();
    Synced {
        cache_path,
        seal,
        url: gateway.url(),
        _dir: dir,
        gateway,
        http: reqwest::Client::new(),
        token,
        cache,
    }
}

async fn groups_by_name(s: &Synced) -> HashMap<String, Group> {
    s.all::<Group>("/admin/v1/groups")
        .await
        .into_iter()
        .map(|g| (g.name.clone(), g))
        .collect()
}

async fn members_of(s: &Synced, group: &str) -> Vec<User> {
    s.all(&format!("/admin/v1/users?group_id={group}")).await
}

/// A key's effective policy from the cache is the gateway's (one rule, one level below the
/// user's), and usage charts by key and for one key add up to the gateway's rows.
#[tokio::test]
async fn key_policy_and_usage_per_key_from_the_cache_are_the_gateways() {
    let s = start().await;
    let groups = groups_by_name(&s).await;
    let data = members_of(&s, &groups["Data science"].id).await;
    let user = &data[0].id;
    let owner: EffectivePolicy = s.get(&format!("/admin/v1/users/{user}/effective")).await;
    let model = owner.grants[0].model_id.clone();
    s.send(
        reqwest::Method::POST,
        &format!("/admin/v1/users/{user}/keys"),
        json!({ "name": "narrow", "model_ids": [model], "limits": { "requests_per_min": 1 },
                "budget": { "monthly_usd": 0.5 } }),
    )
    .await;
    s.sync().await;

    let detail = s.cache.user_detail(user).await.unwrap();
    assert!(detail.api_keys.len() >= 2, "the demo's key and the new one");
    for key in &detail.api_keys {
        let expected: EffectivePolicy =
            s.get(&format!("/admin/v1/keys/{}/effective", key.id)).await;
        assert_eq!(detail.key_effective[&key.id], expected, "key {}", key.id);
    }
    let narrow = detail.api_keys.iter().find(|k| k.name == "narrow").unwrap();
    let e = &detail.key_effective[&narrow.id];
    assert_eq!(e.grants.len(), 1);
    assert_eq!(e.limits.requests_per_min.source.as_deref(), Some("key"));
    assert_eq!(e.budget.monthly_usd.value, Some(0.5));

    // Usage: the demo's requests were metered to its keys.
    let today = Utc::now().date_naive();
    let filter = UsageFilter {
        from: today - Duration::days(89),
        to: today,
        group_by: UsageGroupBy::Key,
        top: 50,
        user_id: None,
        group_id: None,
        model_id: None,
        workspace_id: None,
        key_id: None,
    };
    let by_key = s.cache.usage_chart(&filter).await.unwrap();
    let by_user = s
        .cache
        .usage_chart(&UsageFilter {
            group_by: UsageGroupBy::User,
            ..filter.clone()
        })
        .await
        .unwrap();
    assert_eq!(by_key.total, by_user.total);
    let top = by_key.series[0].key.clone().expect("a key");
    assert_ne!(top, "", "the demo's usage has its keys");
    let rows: Vec<UsageDaily> = s
        .all(&format!(
            "/admin/v1/usage/daily?from={}&to={today}&key_id={top}",
            filter.from
        ))
        .await;
    let one = s
        .cache
        .usage_chart(&UsageFilter {
            key_id: Some(top.clone()),
            ..filter.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        one.total.requests,
        rows.iter().map(|r| r.requests).sum::<i64>()
    );
    let spend = s.cache.user_detail(&rows[0].user_id).await.unwrap();
    let month: f64 = rows
        .iter()
        .filter(|r| r.day.format("%Y-%m").to_string() == today.format("%Y-%m").to_string())
        .map(|r| r.cost_usd)
        .sum();
    let cached = spend.key_spend_mtd_usd.get(&top).copied().unwrap_or(0.0);
    assert!((cached - month).abs() < 1e-6, "{cached} vs {month}");
}

/// A group's editors start from the cache: its own grants, limits and budget are the gateway's,
/// and a group that sets nothing reads as no grants, no limits and no caps.
#[tokio::test]
async fn a_groups_own_policy_from_the_cache_is_the_gateways() {
    let s = start().await;
    let groups = groups_by_name(&s).await;
    let data = &groups["Data science"].id;
    s.send(
        reqwest::Method::PUT,
        &format!("/admin/v1/groups/{data}/grants/gpt-4o"),
        json!({}),
    )
    .await;
    s.send(
        reqwest::Method::PUT,
        &format!("/admin/v1/groups/{data}/limits"),
        json!({"requests_per_min": 45, "input_tokens_per_min": null, "output_tokens_per_min": 7000, "max_concurrent": 3}),
    )
    .await;
    s.send(
        reqwest::Method::PUT,
        &format!("/admin/v1/groups/{data}/budget"),
        json!({"daily_usd": null, "weekly_usd": 40.25, "monthly_usd": 150, "alert_thresholds": [25, 75]}),
    )
    .await;
    s.sync().await;

    for group in groups.values() {
        let id = &group.id;
        let own = s.cache.group_policy(id).await.unwrap();
        let limits: Limits = s.get(&format!("/admin/v1/groups/{id}/limits")).await;
        let budget: Budget = s.get(&format!("/admin/v1/groups/{id}/budget")).await;
        assert_eq!(own.limits, limits, "{}", group.name);
        assert_eq!(own.budget, budget, "{}", group.name);
    }
    let own = s.cache.group_policy(data).await.unwrap();
    assert!(
        own.grants.contains(&"gpt-4o".to_owned()),
        "{:?}",
        own.grants
    );
    assert_eq!(own.limits.max_concurrent, Some(3));
    assert_eq!(own.budget.weekly_usd, Some(40.25));
    assert_eq!(own.budget.alert_thresholds, [25, 75]);

    let none = s.cache.group_policy("grp_nobody").await.unwrap();
    assert!(none.grants.is_empty());
    assert_eq!(none.limits, Limits::default());
    assert_eq!(none.budget, Budget::default());
}

#[tokio::test]
async fn effective_policy_from_the_cache_is_the_gateways() {
    let s = start().await;
    let groups = groups_by_name(&s).await;
    let interns = members_of(&s, &groups["Interns"].id).await;
    let data = members_of(&s, &groups["Data science"].id).await;
    // An intern with their own limits: one tie with the group (the user wins it), one
    // stricter, one looser; their own grant and budget.
    let intern = &interns[1].id;
    s.send(
        reqwest::Method::PUT,
        &format!("/admin/v1/users/{intern}/limits"),
        json!({"requests_per_min": 30, "input_tokens_per_min": 1000, "output_tokens_per_min": 99999, "max_concurrent": null}),
    )
    .await;
    s.send(
        reqwest::Method::PUT,
        &format!("/admin/v1/users/{intern}/budget"),
        json!({"daily_usd": 5.0, "weekly_usd": 12.5, "monthly_usd": null}),
    )
    .await;
    s.send(
        reqwest::Method::PUT,
        &format!("/admin/v1/users/{intern}/grants/gpt-4o"),
        json!({}),
    )
    .await;
    // A data scientist who is an intern too: two groups' values compete.
    s.send(
        reqwest::Method::PUT,
        &format!(
            "/admin/v1/groups/{}/members/{}",
            groups["Interns"].id, data[2].id
        ),
        json!({"role": "member"}),
    )
    .await;
    s.sync().await;

    let me: Value = s.get("/admin/v1/me").await;
    let admin = me["user"]["id"].as_str().unwrap().to_owned();
    let users = [
        intern.clone(),
        interns[0].id.clone(),
        data[2].id.clone(),
        data[0].id.clone(),
        admin.clone(),
    ];
    for id in &users {
        let expected: EffectivePolicy = s.get(&format!("/admin/v1/users/{id}/effective")).await;
        let detail = s.cache.user_detail(id).await.unwrap();
        assert_eq!(detail.effective, expected, "user {id}");
    }
    let detail = s.cache.user_detail(intern).await.unwrap();
    let e = &detail.effective;
    assert_eq!(e.limits.requests_per_min.source.as_deref(), Some("user"));
    assert_eq!(e.limits.input_tokens_per_min.value, Some(1000));
    assert_eq!(
        e.limits.output_tokens_per_min.source.as_deref(),
        Some(groups["Interns"].id.as_str())
    );
    assert_eq!(e.budget.daily_usd.value, Some(2.0));
    assert_eq!(e.budget.weekly_usd.value, Some(12.5));
    assert_eq!(detail.budget.daily_usd, Some(5.0));
    assert_eq!(detail.limits.requests_per_min, Some(30));
    assert_eq!(
        detail
            .grants
            .iter()
            .map(|g| g.model_id.as_str())
            .collect::<Vec<_>>(),
        ["gpt-4o"]
    );
    assert_eq!(detail.groups.len(), 1);
    assert_eq!(detail.groups[0].name, "Interns");
    let actions: Vec<&str> = detail.audit.iter().map(|a| a.action.as_str()).collect();
    for action in ["limits.set", "budget.set", "grant.set"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(detail.audit.windows(2).all(|w| w[0].at >= w[1].at));
    // The trail names its people: the admin who set the budget, and the user it is about.
    let budget_set = detail
        .audit
        .iter()
        .find(|a| a.action == "budget.set")
        .unwrap();
    assert_eq!(budget_set.target_id, format!("user:{}", detail.user.id));
    let actor = budget_set.actor_id.as_ref().unwrap();
    assert_eq!(detail.audit_names[actor], "Avery Quinn");
    assert_eq!(
        detail.audit_names[&detail.user.id],
        format!("{} {}", detail.user.first_name, detail.user.last_name)
    );

    let two = s.cache.user_detail(&data[2].id).await.unwrap();
    assert_eq!(two.groups.len(), 2);
    let admin_detail = s.cache.user_detail(&admin).await.unwrap();
    assert_eq!(admin_detail.workspaces.len(), 4);
    let file = std::fs::read(s._dir.path().join("cache.sqlite")).unwrap();
    assert!(!String::from_utf8_lossy(&file).contains(s.token.expose()));

    let err = s.cache.user_detail("usr_nobody").await.unwrap_err();
    assert!(matches!(err, CoreError::Invalid(_)), "{err:?}");
}

#[tokio::test]
async fn users_are_searched_filtered_by_group_and_show_their_spend() {
    let s = start().await;
    let groups = groups_by_name(&s).await;
    let interns = members_of(&s, &groups["Interns"].id).await;
    // A name a spreadsheet would run as a formula.
    s.send(
        reqwest::Method::PATCH,
        &format!("/admin/v1/users/{}", interns[3].id),
        json!({"first_name": "=HYPERLINK(\"http://evil.example\")"}),
    )
    .await;
    s.sync().await;

    let rows = s
        .cache
        .users(&UserFilter {
            group_id: Some(groups["Interns"].id.clone()),
            sort: UserSort::Email,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut expected: Vec<&str> = interns.iter().map(|u| u.email.as_str()).collect();
    expected.sort();
    assert_eq!(
        rows.rows
            .iter()
            .map(|u| u.email.as_str())
            .collect::<Vec<_>>(),
        expected
    );
    assert_eq!(rows.total as usize, interns.len());
    assert!(rows.rows.iter().all(|u| u.groups == ["Interns"]));

    // Month-to-date spend, as the gateway's usage rows add up in the org's time zone.
    let org: Value = s.get("/admin/v1/org").await;
    let tz = periods::zone(org["time_zone"].as_str().unwrap());
    let today = Utc::now().with_timezone(&tz).date_naive();
    let first = today - Duration::days(i64::from(chrono::Datelike::day0(&today)));
    for row in &rows.rows {
        let usage: Vec<UsageDaily> = s
            .all(&format!(
                "/admin/v1/usage/daily?user_id={}&from={first}&to={today}",
                row.id
            ))
            .await;
        let micros: i64 = usage
            .iter()
            .map(|u| (u.cost_usd * 1e6).round() as i64)
            .sum();
        assert_eq!(
            (row.spend_mtd_usd * 1e6).round() as i64,
            micros,
            "{}",
            row.email
        );
    }
    assert!(rows.rows.iter().any(|u| u.spend_mtd_usd > 0.0));

    // Substring of a name or an e-mail, any case, with filters; LIKE wildcards are plain.
    let quinn = s
        .cache
        .users(&UserFilter {
            query: "QUINN@".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(quinn.total >= 1);
    assert_eq!(quinn.total as usize, quinn.rows.len());
    assert!(quinn.rows.iter().all(|u| u.email.contains("quinn@")));
    assert!(quinn.rows.iter().any(|u| u.email == demo::DEMO_ADMIN_EMAIL));
    let north = s
        .cache
        .users(&UserFilter {
            query: "Northwind.Example".into(),
            status: Some(gatehouse_api::UserStatus::Active),
            limit: 5,
            offset: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(north.rows.len(), 5);
    assert!(north.total > 10);
    assert!(
        s.cache
            .users(&UserFilter {
                query: "%".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .total
            == 0
    );
    let err = s
        .cache
        .users(&UserFilter {
            limit: 5000,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Invalid(_)));
    let err = UserSort::from_str("shoe_size").unwrap_err();
    assert!(err.to_string().contains("shoe_size"), "{err}");
    assert_eq!(
        UserSort::from_str("last_active_at").unwrap(),
        UserSort::LastActiveAt
    );

    // The CSV export: every match, quoted, formulas defused.
    let path = s._dir.path().join("users.csv");
    let n = s
        .cache
        .export_users_csv(
            &UserFilter {
                group_id: Some(groups["Interns"].id.clone()),
                limit: 1,
                ..Default::default()
            },
            &path,
        )
        .await
        .unwrap();
    assert_eq!(n as usize, interns.len());
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), interns.len() + 1);
    assert!(text.starts_with("id,name,email,role,"));
    assert!(
        text.contains("\"'=HYPERLINK(\"\"http://evil.example\"\")"),
        "{text}"
    );
}

#[tokio::test]
async fn invitations_usage_budgets_overview_audit_and_lists() {
    let s = start().await;
    s.sync().await;

    // Invitations: each status as the gateway lists it, links unsealed.
    for status in [
        InvitationStatus::Pending,
        InvitationStatus::Expired,
        InvitationStatus::Revoked,
        InvitationStatus::Accepted,
    ] {
        let on_gateway: Vec<Invitation> = s
            .all(&format!("/admin/v1/invitations?status={}", status.as_str()))
            .await;
        let cached = s
            .cache
            .invitations(&InvitationFilter {
                status: Some(status),
                ..Default::default()
            })
            .await
            .unwrap();
        let mut a: Vec<_> = on_gateway
            .iter()
            .map(|i| (i.id.clone(), i.status, i.link.clone()))
            .collect();
        let mut b = Vec::new();
        for r in &cached.rows {
            assert_eq!(r.invitation.link, None, "a list never carries a link");
            if r.invitation.status == InvitationStatus::Pending {
                assert!(r.has_link, "a pending invitation's link is copyable");
            }
            let link = s.cache.invite_link(&r.invitation.id).await.ok();
            assert_eq!(r.has_link, link.is_some());
            b.push((
                r.invitation.id.clone(),
                r.invitation.status,
                link.map(|l| l.expose().to_owned()),
            ));
        }
        a.sort_by(|x, y| x.0.cmp(&y.0));
        b.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(a, b, "{status:?}");
        assert_eq!(cached.total as usize, on_gateway.len());
        for r in &cached.rows {
            assert_eq!(
                r.seconds_left.is_some(),
                status == InvitationStatus::Pending
            );
            assert!(r.seconds_left.is_none_or(|s| s > 0));
        }
    }
    // A pending invitation is expired once its time is up.
    let pending = s
        .cache
        .invitations(&InvitationFilter::default())
        .await
        .unwrap();
    let later = pending
        .rows
        .iter()
        .filter_map(|r| r.seconds_left)
        .max()
        .unwrap();
    let all_expired = s
        .cache
        .invitations_at(
            &InvitationFilter {
                status: Some(InvitationStatus::Expired),
                ..Default::default()
            },
            Utc::now() + Duration::seconds(later + 60),
        )
        .await
        .unwrap();
    assert_eq!(all_expired.total, 5, "four pending and one expired");
    assert!(pending.rows.iter().any(|r| r.has_link));
    assert_eq!(
        s.cache
            .invite_link("inv_nonesuch")
            .await
            .unwrap_err()
            .code(),
        "invalid"
    );

    // Usage: the chart adds up to the gateway's rows, top users first, then "other".
    let to = Utc::now().date_naive();
    let from = to - Duration::days(29);
    let rows: Vec<UsageDaily> = s
        .all(&format!("/admin/v1/usage/daily?from={from}&to={to}"))
        .await;
    let mut by_user: BTreeMap<String, i64> = BTreeMap::new();
    for r in &rows {
        *by_user.entry(r.user_id.clone()).or_default() += (r.cost_usd * 1e6).round() as i64;
    }
    let mut ranked: Vec<(String, i64)> = by_user.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let filter = UsageFilter {
        from,
        to,
        group_by: UsageGroupBy::User,
        top: 5,
        user_id: None,
        group_id: None,
        model_id: None,
        workspace_id: None,
        key_id: None,
    };
    let chart = s.cache.usage_chart(&filter).await.unwrap();
    assert_eq!(chart.days.len(), 30);
    assert_eq!(chart.series.len(), 6);
    assert_eq!(
        chart.series[..5]
            .iter()
            .map(|x| x.key.clone().unwrap())
            .collect::<Vec<_>>(),
        ranked[..5].iter().map(|x| x.0.clone()).collect::<Vec<_>>()
    );
    assert!(chart.series[5].key.is_none());
    let total: i64 = ranked.iter().map(|x| x.1).sum();
    assert_eq!((chart.total.cost_usd * 1e6).round() as i64, total);
    assert_eq!(
        chart.total.requests,
        rows.iter().map(|r| r.requests).sum::<i64>()
    );
    for day in &chart.days {
        let sum: i64 = day.values.iter().map(|v| v.requests).sum();
        assert_eq!(sum, day.total.requests, "{}", day.day);
    }
    // Narrowed to a model, by workspace: the same sums as the gateway's rows.
    let narrowed = s
        .cache
        .usage_chart(&UsageFilter {
            group_by: UsageGroupBy::Workspace,
            model_id: Some("gpt-4o".into()),
            ..filter.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        narrowed.total.requests,
        rows.iter()
            .filter(|r| r.model_id == "gpt-4o")
            .map(|r| r.requests)
            .sum::<i64>()
    );
    let inverted = s
        .cache
        .usage_chart(&UsageFilter {
            from: to,
            to: from,
            ..filter.clone()
        })
        .await
        .unwrap_err();
    assert!(matches!(inverted, CoreError::Invalid(_)));
    assert!(inverted.to_string().contains("before it starts"));
    let path = s._dir.path().join("usage.csv");
    let n = s.cache.export_usage_csv(&filter, &path).await.unwrap();
    assert_eq!(n as usize, rows.len());

    // Budgets: a group's spend in each capped period, its month day by day.
    let groups = groups_by_name(&s).await;
    let interns = &groups["Interns"];
    let status = s
        .cache
        .budget_status(&SpendSubject {
            kind: Some(SubjectKind::Group),
            id: Some(interns.id.clone()),
        })
        .await
        .unwrap();
    let periods: Vec<_> = status.periods.iter().map(|p| p.period).collect();
    assert_eq!(
        periods,
        [
            gatehouse_api::BudgetPeriod::Daily,
            gatehouse_api::BudgetPeriod::Monthly
        ]
    );
    let monthly = &status.periods[1];
    assert_eq!(monthly.cap_usd, Some(30.0));
    let month_total = status.month.last().unwrap().cumulative_usd;
    assert!((monthly.spent_usd - month_total).abs() < 1e-9);
    let members = members_of(&s, &interns.id).await;
    let tz = periods::zone(&status.time_zone);
    let first = monthly.start.with_timezone(&tz).date_naive();
    let today = Utc::now().with_timezone(&tz).date_naive();
    let mut spent = 0;
    for m in &members {
        let usage: Vec<UsageDaily> = s
            .all(&format!(
                "/admin/v1/usage/daily?user_id={}&from={first}&to={today}",
                m.id
            ))
            .await;
        spent += usage
            .iter()
            .map(|u| (u.cost_usd * 1e6).round() as i64)
            .sum::<i64>();
    }
    assert_eq!((monthly.spent_usd * 1e6).round() as i64, spent);
    assert_eq!(
        monthly.crossed,
        monthly
            .thresholds
            .iter()
            .copied()
            .filter(|t| monthly.percent.unwrap() >= f64::from(*t))
            .collect::<Vec<_>>()
    );
    let org = s
        .cache
        .budget_status(&SpendSubject::default())
        .await
        .unwrap();
    assert_eq!(org.periods.len(), 3);
    assert!(org.periods.iter().all(|p| p.cap_usd.is_none()));
    assert!(
        s.cache
            .budget_status(&SpendSubject {
                kind: Some(SubjectKind::User),
                id: None
            })
            .await
            .is_err()
    );

    // Overview.
    let overview = s.cache.overview().await.unwrap();
    assert_eq!(overview.total_users as usize, demo::DEMO_USERS);
    assert_eq!(overview.pending_invitations, 4);
    assert_eq!(overview.org_name, demo::DEMO_ORG);
    assert!(overview.seat_limit >= overview.seats_used && overview.seats_used > 0);
    let org_month = org.periods[2].spent_usd;
    assert!((overview.spend_mtd_usd - org_month).abs() < 1e-9);

    // Audit: filters, newest first, paging, and a bad range.
    let all = s.cache.audit(&AuditFilter::default()).await.unwrap();
    assert!(all.total > 0);
    // Every actor the cache knows reads as the person's name.
    let mut named = 0;
    for actor in all.rows.iter().filter_map(|a| a.actor_id.as_ref()) {
        if let Ok(person) = s.cache.user_detail(actor).await {
            let u = &person.user;
            assert_eq!(
                all.names[actor],
                format!("{} {}", u.first_name, u.last_name)
            );
            named += 1;
        }
    }
    assert!(named > 0);
    assert!(all.rows.windows(2).all(|w| w[0].at >= w[1].at));
    let action = all.rows[0].action.clone();
    let only = s
        .cache
        .audit(&AuditFilter {
            action: Some(action.clone()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(only.rows.len(), 1);
    assert!(only.rows.iter().all(|a| a.action == action));
    let now = Utc::now();
    let err = s
        .cache
        .audit(&AuditFilter {
            from: Some(now),
            to: Some(now - Duration::days(1)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Invalid(_)));
    // A category holds the actions that start with it and a dot, as the gateway counts them.
    let categories = s.cache.audit_categories().await.unwrap();
    assert!(!categories.is_empty());
    assert!(categories.windows(2).all(|w| w[0] < w[1]));
    for category in &categories {
        let cached = s
            .cache
            .audit(&AuditFilter {
                category: Some(category.clone()),
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap();
        let served: Vec<gatehouse_api::AuditEntry> =
            s.all(&format!("/admin/v1/audit?category={category}")).await;
        assert_eq!(cached.total as usize, served.len(), "{category}");
        assert!(cached.total > 0);
        let prefix = format!("{category}.");
        assert!(cached.rows.iter().all(|e| e.action.starts_with(&prefix)));
    }

    // Lists.
    let workspaces: Vec<Workspace> = s.all("/admin/v1/workspaces").await;
    let cached = s.cache.workspaces().await.unwrap();
    assert_eq!(cached.len(), workspaces.len());
    for w in &workspaces {
        let c = cached.iter().find(|c| c.id == w.id).unwrap();
        assert_eq!(c.member_count as i64, w.member_count, "{}", w.name);
    }
    let cached_groups = s.cache.groups().await.unwrap();
    assert_eq!(cached_groups.len(), 3);
    for g in &cached_groups {
        assert_eq!(g.managers.len(), 1, "{}", g.name);
        assert_eq!(g.member_count as i64, groups[&g.name].member_count);
    }
    assert_eq!(s.cache.models().await.unwrap().len(), 5);
}

/// The in-memory search answers exactly what SQL over the cached rows answers, for every sort,
/// both directions, substrings and filters; and it sees a change as soon as a sync brings it.
#[tokio::test]
async fn in_memory_search_matches_sql_for_every_sort_and_filter() {
    let s = start().await;
    s.sync().await;
    let workspace: String = sqlx::query_scalar("SELECT workspace_id FROM memberships LIMIT 1")
        .fetch_one(s.cache.pool())
        .await
        .unwrap();
    let sorts = [
        (UserSort::Name, "name COLLATE NOCASE"),
        (UserSort::Email, "email"),
        (UserSort::Role, "role"),
        (UserSort::Status, "status"),
        (UserSort::CreatedAt, "created_at"),
        (UserSort::LastActiveAt, "last_active_at"),
    ];
    let filters = [
        UserFilter::default(),
        UserFilter {
            query: "  AN ".into(),
            ..Default::default()
        },
        UserFilter {
            query: "northwind".into(),
            role: Some(gatehouse_api::Role::Member),
            ..Default::default()
        },
        UserFilter {
            workspace_id: Some(workspace.clone()),
            status: Some(gatehouse_api::UserStatus::Active),
            ..Default::default()
        },
        UserFilter {
            query: "zzz-no-such-person".into(),
            ..Default::default()
        },
    ];
    for filter in &filters {
        for (sort, column) in sorts {
            for descending in [false, true] {
                let filter = UserFilter {
                    sort,
                    descending,
                    limit: 1000,
                    ..filter.clone()
                };
                let dir = if descending { "DESC" } else { "ASC" };
                let expected: Vec<String> = sqlx::query_scalar(&format!(
                    "SELECT id FROM users WHERE instr(search_text, $1) > 0 \
                     AND ($2 IS NULL OR role = $2) AND ($3 IS NULL OR status = $3) \
                     AND ($4 IS NULL OR id IN (SELECT user_id FROM memberships WHERE workspace_id = $4)) \
                     ORDER BY {column} {dir}, id {dir}"
                ))
                .bind(filter.query.trim().to_lowercase())
                .bind(filter.role.map(|r| r.as_str()))
                .bind(filter.status.map(|r| r.as_str()))
                .bind(filter.workspace_id.as_deref())
                .fetch_all(s.cache.pool())
                .await
                .unwrap();
                let got = s.cache.users(&filter).await.unwrap();
                let ids: Vec<String> = got.rows.into_iter().map(|r| r.id).collect();
                assert_eq!(got.total as usize, expected.len(), "{filter:?}");
                assert_eq!(ids, expected, "{filter:?}");
                // A page further on is the same slice.
                let page = s
                    .cache
                    .users(&UserFilter {
                        offset: 3,
                        limit: 5,
                        ..filter.clone()
                    })
                    .await
                    .unwrap();
                let ids: Vec<String> = page.rows.into_iter().map(|r| r.id).collect();
                assert_eq!(
                    ids,
                    expected.iter().skip(3).take(5).cloned().collect::<Vec<_>>()
                );
            }
        }
    }

    // A user renamed on the gateway is found under the new name after the next sync.
    let someone = s.cache.users(&UserFilter::default()).await.unwrap().rows[5].clone();
    let renamed = s
        .http
        .patch(format!("{}/admin/v1/users/{}", s.url, someone.id))
        .bearer_auth(s.token.expose())
        .json(&serde_json::json!({ "last_name": "Quetzalcoatl" }))
        .send()
        .await
        .unwrap();
    assert!(renamed.status().is_success());
    let query = UserFilter {
        query: "quetzal".into(),
        ..Default::default()
    };
    assert_eq!(s.cache.users(&query).await.unwrap().total, 0);
    s.sync().await;
    let found = s.cache.users(&query).await.unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.rows[0].id, someone.id);
}

/// The console's first page, read with SQL while the in-memory index is still being built (a
/// cache just opened has none), is the page that index then gives: the same users in the same
/// order, with the same workspaces, groups and spend, and the same total.
#[tokio::test]
async fn the_first_page_before_the_index_is_built_is_the_one_after() {
    let s = start().await;
    s.sync().await;
    for descending in [false, true] {
        for (offset, limit) in [(0, 100), (7, 20)] {
            let filter = UserFilter {
                descending,
                offset,
                limit,
                ..Default::default()
            };
            let opened = Cache::open(&s.cache_path, s.seal.clone()).await.unwrap();
            let before = opened.users(&filter).await.unwrap();
            // Every e-mail holds an "@": this search is every user, and needs the index.
            let indexed = UserFilter {
                query: "@".into(),
                ..filter.clone()
            };
            let after = opened.users(&indexed).await.unwrap();
            assert_eq!(before, after, "{filter:?}");
            let users = before.total as usize;
            assert!(users > 50, "the demo's users: {users}");
            assert_eq!(
                before.rows.len(),
                (users - offset as usize).min(limit as usize)
            );
            if offset == 0 {
                // The whole organisation: some are in workspaces and groups.
                assert!(before.rows.iter().any(|r| !r.workspaces.is_empty()));
                assert!(before.rows.iter().any(|r| !r.groups.is_empty()));
            }
            opened.close().await;
        }
    }
}

/// After the first sync's whole rebuild, a sync bringing a little new usage brings the roll-ups
/// up to date day by day: the chart's totals for the days touched are the raw rows' sums.
#[tokio::test]
async fn new_usage_after_the_first_sync_reaches_the_charts() {
    let s = start().await;
    s.sync().await;
    let today = Utc::now().date_naive();
    let filter = UsageFilter {
        from: today - Duration::days(3),
        to: today,
        group_by: UsageGroupBy::User,
        top: 5,
        user_id: None,
        group_id: None,
        model_id: None,
        workspace_id: None,
        key_id: None,
    };
    let before = s.cache.usage_chart(&filter).await.unwrap();
    let user = s.cache.users(&UserFilter::default()).await.unwrap().rows[0]
        .id
        .clone();
    // The same day, user and model twice: the second time the gateway updates the row, and the
    // cache replaces it, which must take the first amounts out of the roll-ups before adding.
    for round in 1..=2 {
        let mut tx = s.gateway.state.db.begin_write().await.unwrap();
        gatehouse_gateway::usage::add_daily(
            &mut tx,
            &[gatehouse_gateway::usage::DailyRow {
                day: today - Duration::days(1),
                user_id: user.clone(),
                model_id: "echo".into(),
                workspace_id: String::new(),
                key_id: String::new(),
                requests: 7,
                input_tokens: 700,
                output_tokens: 70,
                cost_micros: 1_234_567,
            }],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        s.sync().await;
        let after = s.cache.usage_chart(&filter).await.unwrap();
        assert_eq!(after.total.requests, before.total.requests + 7 * round);
        assert_eq!(
            after.total.input_tokens,
            before.total.input_tokens + 700 * round
        );
        let added = 1.234567 * round as f64;
        assert!((after.total.cost_usd - before.total.cost_usd - added).abs() < 1e-6);
        let by_model = s
            .cache
            .usage_chart(&UsageFilter {
                group_by: UsageGroupBy::Model,
                ..filter.clone()
            })
            .await
            .unwrap();
        assert_eq!(by_model.total, after.total);
    }
    let after = s.cache.usage_chart(&filter).await.unwrap();
    // The rolled-up days agree with the raw rows.
    let raw: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(requests), 0) AS INTEGER) FROM usage_daily WHERE day >= $1 AND day <= $2",
    )
    .bind(filter.from.to_string())
    .bind(filter.to.to_string())
    .fetch_one(s.cache.pool())
    .await
    .unwrap();
    assert_eq!(after.total.requests, raw);
}

#[tokio::test]
async fn seats_in_use_match_the_gateway_after_invitations_and_users_change() {
    let s = start().await;
    s.sync().await;
    let seats = |org: &Value| org["seats_used"].as_i64().unwrap();
    let before: Value = s.get("/admin/v1/org").await;
    assert_eq!(s.cache.overview().await.unwrap().seats_used, seats(&before));

    // Invitations and a direct add change no org row, yet take seats.
    for n in 0..3 {
        s.send(
            reqwest::Method::POST,
            "/admin/v1/invitations",
            json!({ "email": format!("seat{n}@acme.example"), "role": "member" }),
        )
        .await;
    }
    s.send(
        reqwest::Method::POST,
        "/admin/v1/users",
        json!({
            "email": "direct@acme.example", "first_name": "Dee", "last_name": "Rect",
            "role": "member", "workspace_ids": [], "password": "a long enough passphrase 1"
        }),
    )
    .await;
    s.sync().await;
    let after: Value = s.get("/admin/v1/org").await;
    assert_eq!(seats(&after), seats(&before) + 4);
    assert_eq!(s.cache.overview().await.unwrap().seats_used, seats(&after));
}

#[tokio::test]
async fn a_users_chart_draws_the_effective_caps_with_the_group_they_come_from() {
    let s = start().await;
    s.send(
        reqwest::Method::POST,
        "/admin/v1/groups",
        json!({ "name": "Tight budget" }),
    )
    .await;
    let groups: Vec<Value> = s.all("/admin/v1/groups").await;
    let group = groups
        .iter()
        .find(|g| g["name"] == "Tight budget")
        .and_then(|g| g["id"].as_str())
        .unwrap()
        .to_owned();
    s.send(
        reqwest::Method::PUT,
        &format!("/admin/v1/groups/{group}/budget"),
        json!({ "daily_usd": null, "weekly_usd": null, "monthly_usd": 150.0 }),
    )
    .await;
    let mut ids = Vec::new();
    for who in ["loose", "none"] {
        let email = format!("{who}@caps.example");
        s.send(
            reqwest::Method::POST,
            "/admin/v1/users",
            json!({
                "email": email, "first_name": who, "last_name": "Caps", "role": "member",
                "workspace_ids": [], "password": "a long enough passphrase 1"
            }),
        )
        .await;
        let users: Vec<Value> = s.all(&format!("/admin/v1/users?query={who}%40caps")).await;
        let id = users[0]["id"].as_str().unwrap().to_owned();
        s.send(
            reqwest::Method::PUT,
            &format!("/admin/v1/groups/{group}/members/{id}"),
            json!({ "role": "member" }),
        )
        .await;
        ids.push(id);
    }
    // One has a looser cap of their own and a daily one; the other none at all.
    s.send(
        reqwest::Method::PUT,
        &format!("/admin/v1/users/{}/budget", ids[0]),
        json!({ "daily_usd": 20.0, "weekly_usd": null, "monthly_usd": 1200.0 }),
    )
    .await;
    s.sync().await;

    let status = |id: &str| SpendSubject {
        kind: Some(SubjectKind::User),
        id: Some(id.to_owned()),
    };
    let loose = s.cache.budget_status(&status(&ids[0])).await.unwrap();
    assert_eq!(loose.monthly_cap_usd, Some(150.0));
    assert_eq!(loose.monthly_cap_group.as_deref(), Some("Tight budget"));
    assert_eq!(loose.daily_cap_usd, Some(20.0));
    assert_eq!(loose.daily_cap_group, None);
    let none = s.cache.budget_status(&status(&ids[1])).await.unwrap();
    assert_eq!(none.monthly_cap_usd, Some(150.0));
    assert_eq!(none.monthly_cap_group.as_deref(), Some("Tight budget"));
    assert_eq!(none.daily_cap_usd, None);
    // As the gateway's effective policy says.
    let effective: Value = s
        .get(&format!("/admin/v1/users/{}/effective", ids[0]))
        .await;
    assert_eq!(effective["budget"]["monthly_usd"]["value"], 150.0);
    assert_eq!(effective["budget"]["monthly_usd"]["source"], group.as_str());
}

#[tokio::test]
async fn the_bulk_preview_says_what_the_gateway_then_does_with_each_entry() {
    let s = start().await;
    s.send(
        reqwest::Method::POST,
        "/admin/v1/invitations",
        json!({ "email": "pending@bulk.example", "role": "member" }),
    )
    .await;
    s.sync().await;
    let users: Page<Value> = s.get("/admin/v1/users?limit=1").await;
    let member = users.items[0]["email"].as_str().unwrap().to_owned();
    let text = format!(
        "Some Member <{member}>\npending@bulk.example\n\
         Nia Park <nia@bulk.example>, NIA@bulk.example\nnot-an-address"
    );

    let preview = s.cache.bulk_preview(&text).await.unwrap();
    let kinds: Vec<(String, BulkPreviewKind)> =
        preview.iter().map(|p| (p.text.clone(), p.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (member.clone(), BulkPreviewKind::AlreadyMember),
            (
                "pending@bulk.example".into(),
                BulkPreviewKind::AlreadyInvited
            ),
            ("nia@bulk.example".into(), BulkPreviewKind::ToInvite),
            ("nia@bulk.example".into(), BulkPreviewKind::Duplicate),
            ("not-an-address".into(), BulkPreviewKind::Invalid),
        ]
    );
    assert_eq!(
        (
            preview[2].first_name.as_str(),
            preview[2].last_name.as_str()
        ),
        ("Nia", "Park")
    );

    // The gateway, given the same text, does what the preview said, entry by entry.
    let res = s
        .http
        .post(format!("{}/admin/v1/invitations/bulk", s.url))
        .bearer_auth(s.token.expose())
        .json(&json!({ "text": text, "role": "member" }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let result: BulkInviteResult = res.json().await.unwrap();
    let outcomes: Vec<BulkOutcome> = result.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            BulkOutcome::AlreadyMember,
            BulkOutcome::AlreadyInvited,
            BulkOutcome::Invited,
            BulkOutcome::Duplicate,
            BulkOutcome::Invalid,
        ]
    );

    // After the sync the new invitation's link can be copied with the others'.
    s.sync().await;
    let id = result.results[2].invitation.as_ref().unwrap().id.clone();
    let one = s.cache.invite_link(&id).await.unwrap();
    let all = s
        .cache
        .invite_links(&[id.clone(), "inv_none".into()])
        .await
        .unwrap();
    assert_eq!(
        all.expose(),
        format!("nia@bulk.example\t{}\n", one.expose())
    );
    assert!(s.cache.invite_links(&["inv_none".into()]).await.is_err());
}
