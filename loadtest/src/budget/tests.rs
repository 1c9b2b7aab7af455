use super::*;
use crate::analysis::{analyze, Context, Span, WriteVerdict, Writes};
use crate::record::tests::{fail, ok, rec};
use crate::record::{Kind, Outcome, Record};

/// 3 s at 100 req/s; the fault (1.0 s) fails 400 ms of requests, the recovery
/// (2.0 s) fails 100 ms. Successes take 2 ms, so the stalls are 410 ms (992 to
/// 1402 ms) and 110 ms (2192 to 2302 ms).
fn metrics(writes: Writes) -> Metrics {
    let records: Vec<Record> = (0..300u64)
        .map(|i| {
            let t = i as f64 * 10.0;
            if (1000.0..1400.0).contains(&t) || (2200.0..2300.0).contains(&t) {
                fail(i, t)
            } else if i % 5 == 0 {
                rec(i, t, Kind::Post, Outcome::Status(201))
            } else {
                ok(i, t)
            }
        })
        .collect();
    let context = Context {
        end_ms: 3000.0,
        fault: Some(Span { start_ms: 1000.0, end_ms: 1010.0 }),
        recovery: Some(Span { start_ms: 2000.0, end_ms: 2010.0 }),
        writes,
        slow_ms: 500.0,
    };
    analyze(&records, &context)
}

fn budgets(pairs: &[&str]) -> Budgets {
    let mut budgets = Budgets::default();
    for pair in pairs {
        budgets.set(pair).unwrap();
    }
    budgets
}

fn verdicts(checks: &[Check]) -> Vec<(&'static str, bool)> {
    checks.iter().map(|c| (c.key, c.pass)).collect()
}

#[test]
fn pairs_of_every_type_are_parsed() {
    let b = budgets(&["failed_reads=3", "error_window=500ms", "failback_le_takeover=true", "recover = 2s"]);
    assert_eq!(b.failed_reads, Some(3));
    assert_eq!(b.error_window, Some("500ms".parse().unwrap()));
    assert_eq!(b.failback_le_takeover, Some(true));
    assert_eq!(b.recover, Some("2s".parse().unwrap()));
}

#[test]
fn an_unknown_key_is_named_with_the_known_ones() {
    let err = Budgets::default().set("failed_raeds=0").unwrap_err();
    assert!(err.contains("unknown budget `failed_raeds`"), "{err}");
    assert!(err.contains("failed_reads"), "{err}");
}

#[test]
fn bad_values_name_the_key() {
    assert!(Budgets::default().set("failed=lots").unwrap_err().contains("budget failed"));
    assert!(Budgets::default().set("recover=5").unwrap_err().contains("needs a unit"));
    assert!(Budgets::default().set("failback_le_takeover=yes").is_err());
    let err = Budgets::default().set("failback_stall_le_takeover=1").unwrap_err();
    assert!(err.contains("budget failback_stall_le_takeover: `1` is not true or false"), "{err}");
    assert!(Budgets::default().set("takeover_stall=400").unwrap_err().contains("needs a unit"));
    assert!(Budgets::default().set("failed").unwrap_err().contains("KEY=VALUE"));
    assert_eq!(parse_pair("failed=0"), Ok("failed=0".to_string()));
    assert!(parse_pair("nope=0").is_err());
}

#[test]
fn every_key_is_settable() {
    let values = |key: &str| match key {
        "failback_le_takeover" | "failback_stall_le_takeover" => "true",
        k if k.contains("window") || k.contains("stall") || k == "recover" || k == "failback_slack" => "1s",
        k if k.ends_with("_growth") => "10%",
        _ => "1",
    };
    for key in KEYS {
        Budgets::default().set(&format!("{key}={}", values(key))).unwrap();
    }
}

#[test]
fn count_budgets_are_inclusive_limits() {
    let m = metrics(Writes::default());
    assert_eq!((m.failed_reads, m.failed_writes, m.failed), (50, 0, 50));
    let checks = check(&budgets(&["failed_reads=50", "failed_writes=0", "failed=49"]), &m, 0, 100.0);
    let mut got = verdicts(&checks);
    got.retain(|(k, _)| k.starts_with("failed"));
    assert_eq!(got, [("failed_reads", true), ("failed_writes", true), ("failed", false)]);
}

#[test]
fn window_budgets_compare_durations() {
    let m = metrics(Writes::default());
    let b = budgets(&["error_window=400ms", "takeover_window=399ms", "failback_window=100ms", "recover=1s"]);
    let checks = check(&b, &m, 0, 100.0);
    let got: Vec<_> = verdicts(&checks).into_iter().filter(|(k, _)| !k.ends_with("_writes")).collect();
    assert_eq!(got, [("error_window", true), ("takeover_window", false), ("failback_window", true), ("recover", true)]);
    let takeover = checks.iter().find(|c| c.key == "takeover_window").unwrap();
    assert_eq!((takeover.limit.as_str(), takeover.actual.as_str()), ("399ms", "400 ms"));
}

#[test]
fn failback_may_exceed_takeover_by_one_interval_only() {
    let m = metrics(Writes::default()); // failback 100 ms, takeover 400 ms
    let b = budgets(&["failback_le_takeover=true"]);
    assert!(check(&b, &m, 0, 100.0).iter().all(|c| c.pass));

    let mut reversed = m.clone();
    reversed.longest.takeover = m.longest.failback;
    reversed.longest.failback = m.longest.takeover;
    let failing = check(&b, &reversed, 0, 100.0);
    assert_eq!(verdicts(&failing)[0], ("failback_le_takeover", false));
    // 400 ms vs 100 ms + 1/rate: passes when one interval is 300 ms or more (3 req/s: 333 ms).
    assert!(check(&b, &reversed, 0, 3.0).iter().all(|c| c.pass));
    assert!(check(&budgets(&["failback_le_takeover=false"]), &reversed, 0, 100.0).iter().all(|c| c.pass));
}

#[test]
fn failback_slack_replaces_the_one_interval() {
    let m = metrics(Writes::default()); // failback 100 ms, takeover 400 ms
    let mut reversed = m.clone();
    reversed.longest.takeover = m.longest.failback;
    reversed.longest.failback = m.longest.takeover; // failback 400 ms vs takeover 100 ms
    let verdict = |slack: &str| {
        let checks = check(&budgets(&["failback_le_takeover=true", slack]), &reversed, 0, 100.0);
        let c = checks.iter().find(|c| c.key == "failback_le_takeover").unwrap().clone();
        (c.pass, c.limit)
    };
    assert_eq!(verdict("failback_slack=300ms"), (true, "failback <= takeover + 300 ms".to_string()));
    assert_eq!(verdict("failback_slack=299ms"), (false, "failback <= takeover + 299 ms".to_string()));
}

#[test]
fn stall_budgets_compare_durations() {
    let m = metrics(Writes::default());
    assert_eq!((m.longest_stall_ms, m.takeover_stall_ms, m.failback_stall_ms), (Some(410.0), Some(410.0), Some(110.0)));
    let b = budgets(&["stall=410ms", "takeover_stall=409ms", "failback_stall=110ms"]);
    let checks = check(&b, &m, 0, 100.0);
    let got: Vec<_> = verdicts(&checks).into_iter().filter(|(k, _)| k.contains("stall")).collect();
    assert_eq!(got, [("stall", true), ("takeover_stall", false), ("failback_stall", true)]);
    let takeover = checks.iter().find(|c| c.key == "takeover_stall").unwrap();
    assert_eq!((takeover.limit.as_str(), takeover.actual.as_str()), ("409ms", "410 ms"));
}

#[test]
fn stall_budgets_without_a_fault_see_no_takeover_or_failback_stall() {
    let records: Vec<Record> = (0..100u64).map(|i| ok(i, i as f64 * 10.0)).collect();
    let context = Context { end_ms: 1000.0, slow_ms: 500.0, ..Context::default() };
    let m = analyze(&records, &context);
    let b = budgets(&["stall=10ms", "takeover_stall=0ms", "failback_stall=0ms", "failback_stall_le_takeover=true"]);
    let checks = check(&b, &m, 0, 100.0);
    assert!(checks.iter().all(|c| c.pass), "{checks:?}");
    let takeover = checks.iter().find(|c| c.key == "takeover_stall").unwrap();
    assert_eq!(takeover.actual, "0 ms");
}

#[test]
fn failback_stall_may_exceed_takeover_stall_by_one_interval_only() {
    let m = metrics(Writes::default()); // failback stall 110 ms, takeover stall 410 ms
    let b = budgets(&["failback_stall_le_takeover=true"]);
    let passing = check(&b, &m, 0, 100.0);
    assert_eq!(
        verdicts(&passing),
        [("failback_stall_le_takeover", true), ("missing_writes", true), ("unverified_writes", true)]
    );
    assert_eq!(passing[0].limit, "failback stall <= takeover stall + 10 ms");
    assert_eq!(passing[0].actual, "failback stall 110 ms vs takeover stall 410 ms");

    let mut reversed = m.clone();
    reversed.stalls.takeover = m.stalls.failback;
    reversed.stalls.failback = m.stalls.takeover;
    let failing = check(&b, &reversed, 0, 100.0);
    assert_eq!(verdicts(&failing)[0], ("failback_stall_le_takeover", false));
    // 410 ms vs 110 ms + 1/rate: passes when one interval is 300 ms or more (3 req/s: 333 ms).
    assert!(check(&b, &reversed, 0, 3.0).iter().all(|c| c.pass));
    assert!(check(&budgets(&["failback_stall_le_takeover=false"]), &reversed, 0, 100.0).iter().all(|c| c.pass));
    // The windows' rule is separate: their failback (100 ms) is within their takeover (400 ms).
    let both = check(&budgets(&["failback_le_takeover=true", "failback_stall_le_takeover=true"]), &reversed, 0, 100.0);
    assert_eq!(verdicts(&both)[..2], [("failback_le_takeover", true), ("failback_stall_le_takeover", false)]);
}

#[test]
fn lost_or_unproven_writes_fail_by_default() {
    let writes = Writes::from_verdicts(&[(1, WriteVerdict::Present), (2, WriteVerdict::Missing)]);
    let checks = check(&Budgets::default(), &metrics(writes.clone()), 0, 100.0);
    assert_eq!(verdicts(&checks), [("missing_writes", false), ("unverified_writes", true)]);
    assert!(checks.iter().all(|c| c.implicit));
    let relaxed = check(&budgets(&["missing_writes=1"]), &metrics(writes), 0, 100.0);
    assert!(relaxed.iter().all(|c| c.pass));
    assert!(!relaxed[0].implicit);
}

#[test]
fn overload_is_checked_only_when_budgeted() {
    let m = metrics(Writes::default());
    assert!(check(&Budgets::default(), &m, 7, 100.0).iter().all(|c| c.key != "overload"));
    let checks = check(&budgets(&["overload=0"]), &m, 7, 100.0);
    assert!(verdicts(&checks).contains(&("overload", false)));
}

#[test]
fn scenario_budgets_override_defaults_key_by_key() {
    let defaults = budgets(&["failed_reads=0", "recover=2s", "takeover_stall=1s", "failback_stall_le_takeover=true"]);
    let merged = defaults.overridden_by(&budgets(&["failed_reads=5", "takeover_stall=500ms"]));
    assert_eq!(merged.failed_reads, Some(5));
    assert_eq!(merged.takeover_stall, Some("500ms".parse().unwrap()));
    assert_eq!(merged.failback_stall_le_takeover, Some(true));
    assert_eq!(merged.recover, Some("2s".parse().unwrap()));
}

#[test]
fn budgets_in_yaml_refuse_unknown_keys() {
    let err = serde_yaml::from_str::<Budgets>("failed_reads: 0\nlost: 1\n").unwrap_err().to_string();
    assert!(err.contains("unknown field `lost`"), "{err}");
    let b: Budgets = serde_yaml::from_str("takeover_window: 3s\nfailback_le_takeover: true\n").unwrap();
    assert_eq!(b.takeover_window, Some("3s".parse().unwrap()));
    let b: Budgets = serde_yaml::from_str("takeover_stall: 500ms\nfailback_stall_le_takeover: true\n").unwrap();
    assert_eq!((b.takeover_stall, b.failback_stall_le_takeover), (Some("500ms".parse().unwrap()), Some(true)));
}
