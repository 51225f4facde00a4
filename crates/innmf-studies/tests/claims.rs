//! Claims on units ([`innmf_studies::claims`]): one holder per unit, stale claims taken over by
//! exactly one recoverer, the heartbeat, and the removal of temporary files whose writer is gone.

use innmf::io;
use innmf_studies::claims::{
    parse_temp_name, pid_alive, remove_orphan_temps, Claim, ClaimInfo, ClaimSettings, Claims,
};
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

fn settings() -> ClaimSettings {
    ClaimSettings {
        stale_after: Duration::from_secs(60),
        poll: Duration::from_millis(10),
    }
}

#[test]
fn one_holder_per_unit_and_release() {
    let dir = tempfile::tempdir().unwrap();
    let a = Claims::open(dir.path(), settings()).unwrap();
    let b = Claims::open(dir.path(), settings()).unwrap();
    assert_eq!(a.try_claim("u").unwrap(), Claim::Acquired);
    // the holder is this live process: not stale
    assert_eq!(b.try_claim("u").unwrap(), Claim::Held);
    assert_eq!(a.try_claim("u").unwrap(), Claim::Held);
    a.release("u");
    assert!(!dir.path().join("claims/u.claim").exists());
    assert_eq!(b.try_claim("u").unwrap(), Claim::Acquired);
    // b's claim is not removed by a's release
    a.release("u");
    assert!(dir.path().join("claims/u.claim").exists());
    drop(b);
    assert!(!dir.path().join("claims/u.claim").exists());
}

fn write_claim(dir: &Path, id: &str, host: &str, pid: u32, age: Duration) {
    let info = ClaimInfo {
        unit: id.into(),
        host: host.into(),
        pid,
        started_ms: 0,
        token: format!("{host}.{pid}.0.0"),
    };
    let p = dir.join("claims").join(format!("{id}.claim"));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, serde_json::to_vec(&info).unwrap()).unwrap();
    let f = File::options().append(true).open(&p).unwrap();
    f.set_modified(SystemTime::now() - age).unwrap();
}

/// A process id that is not running: a child that has exited and been waited for.
fn dead_pid() -> u32 {
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

#[test]
fn stale_claims_are_taken_over_by_one_recoverer() {
    let dir = tempfile::tempdir().unwrap();
    let me = io::host_name();
    let c = Claims::open(dir.path(), settings()).unwrap();
    // another machine, fresh: held; old: stale
    write_claim(dir.path(), "far", "elsewhere", 1, Duration::from_secs(1));
    assert_eq!(c.try_claim("far").unwrap(), Claim::Held);
    write_claim(dir.path(), "far", "elsewhere", 1, Duration::from_secs(120));
    assert_eq!(c.try_claim("far").unwrap(), Claim::Acquired);
    if pid_alive(std::process::id()) == Some(true) && me != "unknown" {
        // this machine, a dead process: stale at once
        write_claim(dir.path(), "near", me, dead_pid(), Duration::ZERO);
        assert_eq!(c.try_claim("near").unwrap(), Claim::Acquired);
    }
    // many recoverers of one stale claim: exactly one wins
    write_claim(dir.path(), "x", "elsewhere", 1, Duration::from_secs(120));
    let wins = AtomicU64::new(0);
    let claims: Vec<Claims> = (0..8)
        .map(|_| Claims::open(dir.path(), settings()).unwrap())
        .collect();
    std::thread::scope(|s| {
        for c in &claims {
            s.spawn(|| {
                if c.try_claim("x").unwrap() == Claim::Acquired {
                    wins.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(wins.into_inner(), 1);
    assert!(std::fs::read_dir(dir.path().join("claims"))
        .unwrap()
        .all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".recover")));
}

#[test]
fn heartbeat_keeps_a_claim_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let c = Claims::open(dir.path(), settings()).unwrap();
    c.try_claim("u").unwrap();
    let p = dir.path().join("claims/u.claim");
    File::options()
        .append(true)
        .open(&p)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(600))
        .unwrap();
    c.refresh();
    let age = SystemTime::now()
        .duration_since(std::fs::metadata(&p).unwrap().modified().unwrap())
        .unwrap_or_default();
    assert!(age < Duration::from_secs(10), "{age:?}");
}

#[test]
fn temp_names_and_orphans() {
    assert_eq!(
        parse_temp_name(".a.b.json.node-1.42.tmp"),
        Some(("node-1".into(), Some(42)))
    );
    assert_eq!(parse_temp_name("a.json"), None);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let me = io::host_name();
    // a temp file of this process (alive), one of a dead process, one of another machine
    let mine = d.join(format!(".u.json.{me}.{}.tmp", std::process::id()));
    let far_new = d.join(".v.json.elsewhere.7.tmp");
    let far_old = d.join(".w.json.elsewhere.7.tmp");
    for p in [&mine, &far_new, &far_old] {
        std::fs::write(p, b"x").unwrap();
    }
    File::options()
        .append(true)
        .open(&far_old)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(120))
        .unwrap();
    let mut expect = 1;
    let dead = d.join(format!(".x.json.{me}.{}.tmp", dead_pid()));
    if pid_alive(std::process::id()) == Some(true) && me != "unknown" {
        std::fs::write(&dead, b"x").unwrap();
        expect = 2;
    }
    assert_eq!(
        remove_orphan_temps(d, Duration::from_secs(60)).unwrap(),
        expect
    );
    assert!(mine.exists() && far_new.exists());
    assert!(!far_old.exists() && !dead.exists());
    assert_eq!(
        remove_orphan_temps(&d.join("missing"), Duration::from_secs(60)).unwrap(),
        0
    );
}
