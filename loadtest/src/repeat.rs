//! Commands repeated during the load: a soak's reloads every 10 s, a fault
//! and its undo once a cycle. Each repeat runs in its own task, its runs one
//! after another: a run that overruns delays the next, never overlaps it.
//! A stop (Ctrl-C) ends the schedule; a run already made is still undone.

use std::path::Path;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::command::{self, CommandRun};
use crate::config::Repeat;
use crate::load;

/// When the runs of `repeat` start, from the start of a load of `duration`.
pub fn starts(repeat: &Repeat, duration: Duration) -> Vec<Duration> {
    let first = repeat.at.0;
    match repeat.every.map(|e| e.0).filter(|e| !e.is_zero()) {
        None if first < duration => vec![first],
        None => Vec::new(),
        Some(every) => (0..).map(|k| first + every * k).take_while(|at| *at < duration).collect(),
    }
}

/// Runs every repeat on its schedule; output files go to `dir`, named after
/// the run (`reload.3.stdout`, `app-kill.2.undo.stderr`). Returns every run,
/// in start order.
pub async fn run_all(
    repeats: &[Repeat],
    duration: Duration,
    dir: &Path,
    t0: Instant,
    limit: Duration,
    stop: watch::Receiver<bool>,
) -> Vec<CommandRun> {
    if repeats.is_empty() {
        return Vec::new();
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("drill: {}: {e}", dir.display());
    }
    let mut tasks = tokio::task::JoinSet::new();
    for repeat in repeats {
        let (repeat, dir, stop) = (repeat.clone(), dir.to_path_buf(), stop.clone());
        tasks.spawn(async move { run_one(&repeat, duration, &dir, t0, limit, stop).await });
    }
    let mut runs = Vec::new();
    while let Some(result) = tasks.join_next().await {
        runs.extend(result.unwrap_or_default());
    }
    runs.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
    runs
}

async fn run_one(
    repeat: &Repeat,
    duration: Duration,
    dir: &Path,
    t0: Instant,
    limit: Duration,
    mut stop: watch::Receiver<bool>,
) -> Vec<CommandRun> {
    let mut runs = Vec::new();
    for (k, at) in starts(repeat, duration).into_iter().enumerate() {
        if !wait_until(t0 + at, &mut stop).await {
            break;
        }
        let label = format!("{}.{}", repeat.name, k + 1);
        runs.push(command::run(&label, &repeat.run, dir, t0, limit).await);
        if let (Some(undo), Some(after)) = (&repeat.undo, repeat.undo_after) {
            // Undone on time, or at once when stopped: never left in place.
            wait_until(t0 + at + after.0, &mut stop).await;
            runs.push(command::run(&format!("{label}.undo"), undo, dir, t0, limit).await);
        }
    }
    runs
}

/// Sleeps until `at`; false when `stop` came first.
async fn wait_until(at: Instant, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        _ = tokio::time::sleep_until(at) => true,
        _ = load::stopped(stop) => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::duration::Dur;

    fn repeat(at: u64, every: Option<u64>) -> Repeat {
        Repeat {
            name: "r".into(),
            run: "true".into(),
            at: Dur(Duration::from_secs(at)),
            every: every.map(|e| Dur(Duration::from_secs(e))),
            undo: None,
            undo_after: None,
        }
    }

    #[test]
    fn runs_start_at_their_offset_and_repeat_while_the_load_lasts() {
        let secs = |v: Vec<Duration>| v.into_iter().map(|d| d.as_secs()).collect::<Vec<_>>();
        assert_eq!(secs(starts(&repeat(0, Some(10)), Duration::from_secs(60))), [0, 10, 20, 30, 40, 50]);
        assert_eq!(secs(starts(&repeat(5, Some(20)), Duration::from_secs(60))), [5, 25, 45]);
        assert_eq!(secs(starts(&repeat(5, None), Duration::from_secs(60))), [5]);
        assert!(starts(&repeat(60, None), Duration::from_secs(60)).is_empty());
    }

    #[tokio::test]
    async fn each_run_is_undone_and_a_stop_undoes_at_once() {
        let dir = std::env::temp_dir().join(format!("drill-repeat-{}", std::process::id()));
        let mut cycle = repeat(0, Some(60));
        cycle.undo = Some("true".into());
        cycle.undo_after = Some(Dur(Duration::from_secs(30)));
        let (tx, stop) = watch::channel(false);
        let started = Instant::now();
        let stopper = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            tx.send(true).unwrap();
        });
        let runs = run_all(&[cycle], Duration::from_secs(120), &dir, started, Duration::from_secs(5), stop).await;
        stopper.await.unwrap();
        let labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["r.1", "r.1.undo"]);
        assert!(runs.iter().all(|r| r.ok));
        // Undone when stopped (0.3 s), not after undo_after (30 s).
        assert!(started.elapsed() < Duration::from_secs(10));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
