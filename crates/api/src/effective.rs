//! The effective policy of a user, as a pure rule over the policies of the user and their
//! groups: for each limit and budget period the strictest set value (the user's own wins a tie),
//! and the union of the grants with every source. The gateway enforces it and the desktop app
//! shows it from its cache, so both call this one function. An API key is one level more
//! ([`effective_for_key`]): its own limits and budget join the strictest, and its model subset
//! narrows the user's grants.

use crate::{
    Budget, EffectiveBudget, EffectiveCount, EffectiveGrant, EffectiveLimits, EffectivePolicy,
    EffectiveUsd, Limits,
};

/// The source name of the user's own policy; a group's is the group's id.
pub const USER_SOURCE: &str = "user";

/// The source name of an API key's own limits and budget.
pub const KEY_SOURCE: &str = "key";

/// What an API key sets on top of its user's policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyPolicy {
    /// The models the key may use; none: every model its user has.
    pub model_ids: Option<Vec<String>>,
    pub limits: Limits,
    pub budget: Budget,
}

/// What one subject (the user, or one of their groups) sets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubjectPolicy {
    /// [`USER_SOURCE`] for the user, the group's id for a group.
    pub source: String,
    /// The ids of the models granted to the subject.
    pub grants: Vec<String>,
    pub limits: Limits,
    pub budget: Budget,
}

/// The strictest set value and its source; the earliest wins a tie, so the user's own (listed
/// first) wins over a group's.
pub fn strictest<T: PartialOrd + Copy>(
    values: &[(&str, Option<T>)],
) -> (Option<T>, Option<String>) {
    let mut best: Option<(T, &str)> = None;
    for (source, value) in values {
        if let Some(v) = value
            && best.is_none_or(|(b, _)| *v < b)
        {
            best = Some((*v, source));
        }
    }
    (best.map(|(v, _)| v), best.map(|(_, s)| s.to_owned()))
}

/// The effective policy of `user_id` from `subjects`: the user's own policy first, then each
/// group's in the order their sources should be listed (the gateway orders groups by id).
pub fn effective(user_id: &str, subjects: &[SubjectPolicy]) -> EffectivePolicy {
    let mut grants: Vec<EffectiveGrant> = Vec::new();
    for subject in subjects {
        let mut models: Vec<&String> = subject.grants.iter().collect();
        models.sort();
        models.dedup();
        for model in models {
            match grants.iter_mut().find(|g| &g.model_id == model) {
                Some(g) => g.sources.push(subject.source.clone()),
                None => grants.push(EffectiveGrant {
                    model_id: model.clone(),
                    sources: vec![subject.source.clone()],
                }),
            }
        }
    }
    grants.sort_by(|a, b| a.model_id.cmp(&b.model_id));
    let count = |f: fn(&Limits) -> Option<i64>| {
        let values: Vec<_> = subjects
            .iter()
            .map(|s| (s.source.as_str(), f(&s.limits)))
            .collect();
        let (value, source) = strictest(&values);
        EffectiveCount { value, source }
    };
    let usd = |f: fn(&Budget) -> Option<f64>| {
        let values: Vec<_> = subjects
            .iter()
            .map(|s| (s.source.as_str(), f(&s.budget)))
            .collect();
        let (value, source) = strictest(&values);
        EffectiveUsd { value, source }
    };
    EffectivePolicy {
        user_id: user_id.to_owned(),
        key_id: None,
        grants,
        limits: EffectiveLimits {
            requests_per_min: count(|l| l.requests_per_min),
            input_tokens_per_min: count(|l| l.input_tokens_per_min),
            output_tokens_per_min: count(|l| l.output_tokens_per_min),
            max_concurrent: count(|l| l.max_concurrent),
        },
        budget: EffectiveBudget {
            daily_usd: usd(|b| b.daily_usd),
            weekly_usd: usd(|b| b.weekly_usd),
            monthly_usd: usd(|b| b.monthly_usd),
        },
    }
}

/// The effective policy of the key `key_id` of `user_id`: the strictest of the key's own limits
/// and budget, the user's and every group's (`subjects` as for [`effective`]), each with its
/// source ([`KEY_SOURCE`] for the key's; a tie goes to the user or the group, as the key then
/// narrows nothing), and the user's grants that the key's model subset keeps.
pub fn effective_for_key(
    user_id: &str,
    key_id: &str,
    subjects: &[SubjectPolicy],
    key: &KeyPolicy,
) -> EffectivePolicy {
    let mut all = subjects.to_vec();
    all.push(SubjectPolicy {
        source: KEY_SOURCE.to_owned(),
        grants: Vec::new(),
        limits: key.limits.clone(),
        budget: key.budget.clone(),
    });
    let mut policy = effective(user_id, &all);
    if let Some(models) = &key.model_ids {
        policy.grants.retain(|g| models.contains(&g.model_id));
    }
    policy.key_id = Some(key_id.to_owned());
    policy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(
        source: &str,
        grants: &[&str],
        rpm: Option<i64>,
        daily: Option<f64>,
    ) -> SubjectPolicy {
        SubjectPolicy {
            source: source.into(),
            grants: grants.iter().map(|g| (*g).to_owned()).collect(),
            limits: Limits {
                requests_per_min: rpm,
                ..Default::default()
            },
            budget: Budget {
                daily_usd: daily,
                ..Default::default()
            },
        }
    }

    #[test]
    fn the_strictest_wins_and_the_user_wins_a_tie() {
        let policy = effective(
            "u1",
            &[
                subject(USER_SOURCE, &["b", "a"], Some(30), None),
                subject("g1", &["a", "c"], Some(30), Some(5.0)),
                subject("g2", &["a"], Some(10), Some(7.5)),
            ],
        );
        assert_eq!(policy.limits.requests_per_min.value, Some(10));
        assert_eq!(policy.limits.requests_per_min.source.as_deref(), Some("g2"));
        assert_eq!(policy.budget.daily_usd.value, Some(5.0));
        assert_eq!(policy.budget.daily_usd.source.as_deref(), Some("g1"));
        assert_eq!(
            policy.budget.monthly_usd,
            EffectiveUsd {
                value: None,
                source: None
            }
        );
        let grants: Vec<_> = policy
            .grants
            .iter()
            .map(|g| (g.model_id.as_str(), g.sources.join(",")))
            .collect();
        assert_eq!(
            grants,
            [
                ("a", "user,g1,g2".into()),
                ("b", "user".into()),
                ("c", "g1".into())
            ]
        );

        let tie = effective(
            "u1",
            &[
                subject(USER_SOURCE, &[], Some(10), None),
                subject("g1", &[], Some(10), None),
            ],
        );
        assert_eq!(
            tie.limits.requests_per_min.source.as_deref(),
            Some(USER_SOURCE)
        );
    }

    #[test]
    fn a_key_narrows_its_user_and_names_itself_where_it_is_strictest() {
        let subjects = [
            subject(USER_SOURCE, &["a", "b"], Some(30), Some(10.0)),
            subject("g1", &["c"], Some(20), None),
        ];
        let key = KeyPolicy {
            model_ids: Some(vec!["a".into(), "c".into(), "z".into()]),
            limits: Limits {
                requests_per_min: Some(5),
                max_concurrent: Some(2),
                ..Default::default()
            },
            budget: Budget {
                daily_usd: Some(20.0),
                monthly_usd: Some(50.0),
                ..Default::default()
            },
        };
        let policy = effective_for_key("u1", "key_1", &subjects, &key);
        assert_eq!(policy.key_id.as_deref(), Some("key_1"));
        // Only granted models stay: `z` is in the subset but nobody grants it.
        let models: Vec<_> = policy.grants.iter().map(|g| g.model_id.as_str()).collect();
        assert_eq!(models, ["a", "c"]);
        assert_eq!(policy.limits.requests_per_min.value, Some(5));
        assert_eq!(
            policy.limits.requests_per_min.source.as_deref(),
            Some(KEY_SOURCE)
        );
        assert_eq!(
            policy.limits.max_concurrent.source.as_deref(),
            Some(KEY_SOURCE)
        );
        // The user's daily cap is stricter than the key's; the key's monthly is the only one.
        assert_eq!(policy.budget.daily_usd.value, Some(10.0));
        assert_eq!(policy.budget.daily_usd.source.as_deref(), Some(USER_SOURCE));
        assert_eq!(
            policy.budget.monthly_usd.source.as_deref(),
            Some(KEY_SOURCE)
        );

        let everything = effective_for_key("u1", "key_1", &subjects, &KeyPolicy::default());
        assert_eq!(everything.grants.len(), 3);
        assert_eq!(everything.limits.requests_per_min.value, Some(20));

        let tie = effective_for_key(
            "u1",
            "key_1",
            &subjects,
            &KeyPolicy {
                limits: Limits {
                    requests_per_min: Some(20),
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        assert_eq!(tie.limits.requests_per_min.source.as_deref(), Some("g1"));
    }
}
