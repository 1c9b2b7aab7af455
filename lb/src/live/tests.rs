use super::*;
use crate::upstream::Outcome;

struct TempConfig {
    dir: PathBuf,
    file: PathBuf,
}

impl TempConfig {
    fn new(name: &str, text: &str) -> TempConfig {
        let dir = std::env::temp_dir().join(format!("tandem-live-{name}-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("lb.yaml");
        let t = TempConfig { dir, file };
        t.write(text);
        t
    }

    fn write(&self, text: &str) {
        std::fs::write(&self.file, text).unwrap_or_else(|e| panic!("{e}"));
    }

    fn live(&self) -> Live {
        let (config, digest) = config::load_file_with_digest(&self.file).unwrap_or_else(|e| panic!("{e}"));
        Live::new(&self.file, config, digest).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for TempConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn yaml(servers: &str) -> String {
    format!("listen: 127.0.0.1:1\nupstreams:\n  app:\n    servers:\n{servers}")
}

const A_B: &str = "      - { addr: \"127.0.0.1:11\" }\n      - { addr: \"127.0.0.1:12\" }\n";

#[test]
fn a_valid_reload_swaps_the_runtime_and_keeps_state_of_servers_that_stayed() {
    let t = TempConfig::new("valid", &yaml(A_B));
    let live = t.live();
    {
        let rt = live.runtime();
        let up = &rt.upstreams[0];
        let mut a = up.group.start(0);
        let id = up.group.pick(&mut a, b"").unwrap_or_else(|| unreachable!());
        up.group.finish(&mut a, id, Outcome::Failed);
        assert_eq!(up.server_index(id), 0);
    }
    let changes = live.subscribe();
    t.write(&yaml("      - { addr: \"127.0.0.1:11\" }\n      - { addr: \"127.0.0.1:13\" }\n"));
    let report = live.reload();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(changes.has_changed().unwrap_or(false));
    let snap = live.runtime().upstreams[0].snapshot();
    assert_eq!(snap[1].addr.port(), 13);
    assert_eq!(snap[0].peer.fails, 1, "passive state carried over");
    let state = live.config_state();
    assert_eq!(state.generation, 2);
    assert_eq!(live.reload_counts(), (1, 0));
}

#[test]
fn an_invalid_reload_changes_nothing_and_says_why() {
    let t = TempConfig::new("invalid", &yaml(A_B));
    let live = t.live();
    let before = live.config_state();
    t.write(&yaml("      - { addr: \"127.0.0.1:11\", weight: 0 }\n"));
    let report = live.reload();
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(report.errors[0].starts_with("upstreams.app.servers[0].weight: must be >= 1"), "{:?}", report.errors);
    assert_eq!(live.runtime().upstreams[0].config.servers.len(), 2, "old config still serves");
    let after = live.config_state();
    assert_eq!(after.generation, before.generation);
    assert_eq!(after.digest, before.digest);
    assert!(after.last_reload.is_some_and(|r| !r.errors.is_empty()));
    assert_eq!(live.reload_counts(), (0, 1));
}

#[test]
fn runtime_changes_apply_at_once_and_survive_a_reload() {
    let t = TempConfig::new("changes", &yaml(A_B));
    let live = t.live();
    assert_eq!(live.change_server("app", "127.0.0.1:12", ServerChange::Drain), Ok(vec![1]));
    assert_eq!(live.change_server("app", "0", ServerChange::Weight(5)), Ok(vec![0]));
    let check = |live: &Live| {
        let snap = live.runtime().upstreams[0].snapshot();
        assert_eq!(snap[1].peer.admin, AdminState::Draining);
        assert!(!snap[1].usable);
        assert_eq!(snap[0].peer.params.weight, 5);
    };
    check(&live);
    t.write(&format!("{}\n# touched\n", yaml(A_B)));
    assert!(live.reload().errors.is_empty());
    check(&live);
    assert_eq!(live.change_server("app", "127.0.0.1:12", ServerChange::Enable), Ok(vec![1]));
    assert!(live.runtime().upstreams[0].snapshot()[1].usable);
    assert_eq!(live.change_server("nope", "1", ServerChange::Enable), Err(ChangeError::NoUpstream("nope".into())));
    assert!(matches!(
        live.change_server("app", "127.0.0.1:99", ServerChange::Drain),
        Err(ChangeError::NoServer { .. })
    ));
}

#[test]
fn a_reload_that_moves_a_listener_reports_that_it_needs_an_upgrade() {
    let t = TempConfig::new("upgrade", &yaml(A_B));
    let live = t.live();
    t.write(&yaml(A_B).replace("127.0.0.1:1\n", "127.0.0.1:2\n"));
    let report = live.reload();
    assert!(report.errors.is_empty());
    assert_eq!(report.needs_upgrade, ["listen"]);
}
