use super::*;

const LAB: &str = r#"
defaults: {rate: 100, duration: 15s, fault_at: 5s, recover_at: 10s, post_share: 0.2, timeout: 1s,
           slow: 400ms, budgets: {failed_writes: 3}}
scenarios:
  - name: app-kill
    fault: "deploy/lab kill app1"
    recover: "deploy/lab start app1"
    budgets: {failed_reads: 0}
    settle: "deploy/lab wait-ready"
  - name: baseline
    duration: 5s
  - name: slow
    fault: "deploy/lab pause app2"
    recover: "deploy/lab resume app2"
    fault_at: 2s
    recover_at: 4s
    rate: 50
    slow: 250ms
    budgets: {failed_writes: 0, takeover_window: 2s, takeover_stall: 1s, failback_stall_le_takeover: true}
"#;

fn errors(text: &str) -> String {
    let suite = match parse(text) {
        Ok(suite) => suite,
        Err(e) => return e,
    };
    configs(&suite, &[], "X-Tandem-Node").unwrap_err().join("\n")
}

#[test]
fn scenarios_inherit_defaults_and_override_them() {
    let configs = configs(&parse(LAB).unwrap(), &[], "X-Node").unwrap();
    assert_eq!(configs.len(), 3);
    let kill = &configs[0];
    assert_eq!(kill.fault.as_ref().map(|f| f.at), Some(Duration::from_secs(5)));
    assert_eq!(kill.recover.as_ref().map(|f| f.command.as_str()), Some("deploy/lab start app1"));
    assert_eq!(kill.settle.as_deref(), Some("deploy/lab wait-ready"));
    assert_eq!((kill.budgets.failed_reads, kill.budgets.failed_writes), (Some(0), Some(3)));
    assert_eq!(kill.lb_header, "X-Node");
    let slow = &configs[2];
    assert_eq!(slow.rate, 50.0);
    assert_eq!(slow.fault.as_ref().map(|f| f.at), Some(Duration::from_secs(2)));
    assert_eq!(slow.budgets.failed_writes, Some(0));
    assert_eq!((kill.slow, slow.slow), (Duration::from_millis(400), Duration::from_millis(250)));
    assert_eq!(slow.budgets.takeover_stall, Some("1s".parse().unwrap()));
    assert_eq!(slow.budgets.failback_stall_le_takeover, Some(true));
}

#[test]
fn a_scenario_without_a_fault_inherits_no_fault_time() {
    let configs = configs(&parse(LAB).unwrap(), &[], "X").unwrap();
    let baseline = &configs[1];
    assert_eq!((baseline.fault.as_ref(), baseline.recover.as_ref()), (None, None));
    assert_eq!(baseline.duration, Duration::from_secs(5));
}

#[test]
fn only_keeps_the_named_scenarios_in_file_order() {
    let only = vec!["slow".to_string(), "app-kill".to_string()];
    let names: Vec<String> = configs(&parse(LAB).unwrap(), &only, "X").unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["app-kill", "slow"]);
    let err = configs(&parse(LAB).unwrap(), &["nope".to_string()], "X").unwrap_err().join("\n");
    assert!(err.contains("--only: no scenario named `nope` (have: app-kill, baseline, slow)"), "{err}");
}

#[test]
fn an_unknown_key_names_its_path() {
    let err = errors("scenarios:\n  - name: a\n    faultt: x\n");
    assert!(err.contains("scenarios[0]") && err.contains("unknown field `faultt`"), "{err}");
    let err = errors("defaults: {rat: 1}\nscenarios: []\n");
    assert!(err.starts_with("defaults") && err.contains("unknown field `rat`"), "{err}");
    let err = errors("scenarios:\n  - name: a\n    budgets: {failed_raeds: 0}\n");
    assert!(err.contains("scenarios[0].budgets") && err.contains("unknown field `failed_raeds`"), "{err}");
    let err = errors("scenario: []\n");
    assert!(err.contains("unknown field `scenario`"), "{err}");
}

#[test]
fn bad_values_name_their_path() {
    let err = errors("scenarios:\n  - name: a\n    duration: 15\n");
    assert!(err.contains("scenarios[0].duration") && err.contains("needs a unit"), "{err}");
    let err = errors("scenarios:\n  - name: a\n    budgets: {recover: 2}\n");
    assert!(err.contains("scenarios[0].budgets.recover"), "{err}");
    let err = errors("scenarios:\n  - name: a\n    slow: 500\n");
    assert!(err.contains("scenarios[0].slow") && err.contains("needs a unit"), "{err}");
    let err = errors("defaults: {timeout: 1s}\nscenarios:\n  - name: a\n    slow: 1s\n");
    assert!(err.contains("scenarios[0] (a): slow 1s: must be above 0 and below the timeout"), "{err}");
}

#[test]
fn scenario_rules_are_checked_with_the_scenario_named() {
    let err = errors("scenarios:\n  - name: a\n    recover: x\n    recover_at: 2s\n");
    assert!(err.contains("scenarios[0] (a): recover is set without a fault"), "{err}");
    let err = errors("scenarios:\n  - name: a\n    fault: x\n");
    assert!(err.contains("scenarios[0] (a): fault is set but fault_at"), "{err}");
    let err = errors("scenarios:\n  - name: a\n  - name: a\n");
    assert!(err.contains("scenarios[1].name: `a` is used twice"), "{err}");
    assert!(errors("scenarios: []\n").contains("the list is empty"));
    assert!(errors("defaults: {}\n").contains("missing field `scenarios`"));
}

#[test]
fn the_shipped_lab_suite_is_valid() {
    let text = include_str!("../../suites/lab.yaml");
    let configs = configs(&parse(text).unwrap(), &[], "X-Tandem-Node").unwrap();
    let names: Vec<&str> = configs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "app-kill",
            "app-pause",
            "lb-tandem-kill",
            "lb-keepalived-kill",
            "lb-cut",
            "lb-pause",
            "lb-stop",
            "redis-master-kill",
            "mysql-master-kill"
        ]
    );
    assert!(configs.iter().all(|c| c.fault.is_some() && c.recover.is_some() && c.settle.is_some()));
}

const SOAK: &str = r#"
defaults:
  duration: 60s
  warmup: 20s
  repeat:
    - {name: reload, run: "deploy/lab reload lb1", every: 10s}
    - {name: app-kill, run: "deploy/lab kill app1", at: 2s, every: 20s, undo: "deploy/lab start app1", undo_after: 4s}
  watch: [{name: lb1/tandem, pid: "deploy/lab pid lb1/tandem"}]
  budgets: {failed_reads: 0, rss_growth: 10%, fd_growth: 10%}
scenarios:
  - name: soak-60s
  - name: soak
    duration: 10m
    warmup: 1m
"#;

#[test]
fn a_soak_scenario_takes_repeats_watches_and_growth_budgets_from_the_defaults() {
    let configs = configs(&parse(SOAK).unwrap(), &[], "X-Tandem-Node").unwrap();
    let short = &configs[0];
    assert_eq!(short.repeat.len(), 2);
    assert_eq!(short.repeat[1].undo_after, Some(Dur(Duration::from_secs(4))));
    assert_eq!(short.watch[0].pid, "deploy/lab pid lb1/tandem");
    // The window defaults to the longest `every`.
    assert_eq!(short.effective_window(), Duration::from_secs(20));
    assert_eq!(short.budgets.rss_growth.map(|p| p.0), Some(10.0));
    assert_eq!((configs[1].duration, configs[1].warmup), (Duration::from_secs(600), Duration::from_secs(60)));
}

#[test]
fn a_soak_too_short_to_compare_two_windows_or_an_undo_that_outlasts_its_cycle_is_refused() {
    let text = SOAK.replace("undo_after: 4s", "undo_after: 20s").replace("duration: 60s", "duration: 50s");
    let all = errors(&text);
    assert!(all.contains("undo_after 20s: must be shorter than every (20s)"), "{all}");
    assert!(all.contains("leaves fewer than two windows of 20s after the warm-up (20s)"), "{all}");
    let all = errors(&SOAK.replace("rss_growth: 10%", "rss_growth: 0.1"));
    assert!(all.contains("needs its sign"), "{all}");
    let all = errors(&SOAK.replace("  watch: [{name: lb1/tandem, pid: \"deploy/lab pid lb1/tandem\"}]\n", ""));
    assert!(all.contains("need a process to watch"), "{all}");
}
