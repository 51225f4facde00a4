//! `innmf experiment` at scale, all on this machine: one small study run plainly, by four
//! `run-unit --shard i/4` processes started together on one output folder, with one of four
//! shards killed (SIGKILL) midway and rerun, and through the Slurm script's per-task commands
//! (array variables set by hand, a stand-in `sbatch` recording the submissions). The
//! `results.json` agree (same units, same values; the timings aside), no unit is computed twice
//! (each process logs `started ID` / `finished ID`), and no temporary file or claim is left.

mod common;
use common::innmf;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

const BIN: &str = env!("CARGO_BIN_EXE_innmf");

/// results.json without what depends on where and how fast it ran.
fn results(out: &Path) -> serde_json::Value {
    let mut r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let m = r.as_object_mut().unwrap();
    for k in ["wall_s", "jobs", "seconds_by_kind"] {
        assert!(m.remove(k).is_some(), "{k}");
    }
    r
}

/// A shard process writing its log (stderr) to `log`.
fn shard(out: &Path, i: usize, n: usize, log: &Path) -> Child {
    Command::new(BIN)
        .args(["--threads", "1", "experiment", "run-unit", "--out"])
        .arg(out)
        .args(["--shard", &format!("{i}/{n}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// How many times each unit was started and finished, over the logs `logs`.
fn counts(logs: &[PathBuf]) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let (mut started, mut finished) = (BTreeMap::new(), BTreeMap::new());
    for l in logs {
        for line in std::fs::read_to_string(l).unwrap().lines() {
            if let Some(id) = line.strip_prefix("started ") {
                *started.entry(id.to_string()).or_default() += 1;
            } else if let Some(rest) = line.strip_prefix("finished ") {
                let id = rest.split(" (").next().unwrap();
                *finished.entry(id.to_string()).or_default() += 1;
            }
        }
    }
    (started, finished)
}

fn plan_ids(out: &Path) -> Vec<String> {
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("plan.json")).unwrap()).unwrap();
    plan["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

/// Files of `out` (recursively) whose name marks them as left over: temporary files, claims,
/// interrupted take-overs.
fn leftovers(out: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![out.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".tmp")
                || name.ends_with(".claim")
                || name.ends_with(".recover")
            {
                found.push(p);
            }
        }
    }
    found
}

fn plan(out: &Path, data: &Path, config: &Path) {
    let (ok, _, err) = innmf(&[
        "experiment",
        "plan",
        "separation",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--pairs",
        "1",
    ]);
    assert!(ok, "{err}");
}

fn collect(out: &Path) {
    let (ok, _, err) = innmf(&["experiment", "collect", "--out", out.to_str().unwrap()]);
    assert!(ok, "{err}");
}

/// A process id that is not running: a child that has exited and been waited for.
fn dead_pid() -> u32 {
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

fn age(path: &Path, by: Duration) {
    std::fs::File::options()
        .append(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - by)
        .unwrap();
}

#[test]
fn shards_killed_shards_and_slurm_tasks_give_the_plain_results() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let data = root.join("corpus");
    assert!(
        innmf(&[
            "experiment",
            "synth-corpus",
            "--out",
            data.to_str().unwrap()
        ])
        .0
    );
    // the quick settings with longer model training, so that a shard can be killed mid-unit
    let mut cfg = serde_json::to_value(innmf_studies::ExperimentConfig::quick()).unwrap();
    cfg["innmf_steps"] = serde_json::json!(1500);
    let config = root.join("config.json");
    std::fs::write(&config, serde_json::to_vec(&cfg).unwrap()).unwrap();

    // 1. the plain run
    let plain = root.join("plain");
    let (ok, _, err) = innmf(&[
        "experiment",
        "separation",
        "--data",
        data.to_str().unwrap(),
        "--out",
        plain.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--pairs",
        "1",
    ]);
    assert!(ok, "{err}");
    let expected = results(&plain);
    assert_eq!(expected["rows"]["separation"].as_array().unwrap().len(), 4);

    // 2. four shards started together on one folder
    let sharded = root.join("sharded");
    plan(&sharded, &data, &config);
    let ids = plan_ids(&sharded);
    assert_eq!(ids.len(), 10);
    let logs: Vec<PathBuf> = (0..4).map(|i| root.join(format!("s{i}.log"))).collect();
    let children: Vec<Child> = (0..4).map(|i| shard(&sharded, i, 4, &logs[i])).collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let (started, finished) = counts(&logs);
    for id in &ids {
        assert_eq!(
            finished.get(id),
            Some(&1),
            "{id} finished once: {finished:?}"
        );
        assert_eq!(started.get(id), Some(&1), "{id} started once: {started:?}");
    }
    collect(&sharded);
    assert_eq!(results(&sharded), expected);
    assert_eq!(leftovers(&sharded), Vec::<PathBuf>::new());

    // 3. four shards, one killed while it trains a model; a temp file of a writer that is gone
    // (this machine, a dead process) and one of another machine, old, both left in the folder
    let killed = root.join("killed");
    plan(&killed, &data, &config);
    std::fs::create_dir_all(killed.join("models")).unwrap();
    let host = innmf::io::host_name();
    let orphans = [
        killed.join(format!("models/.x.safetensors.{host}.{}.tmp", dead_pid())),
        killed.join("units/.y.json.elsewhere.7.tmp"),
    ];
    std::fs::create_dir_all(killed.join("units")).unwrap();
    for o in &orphans {
        std::fs::write(o, b"partial").unwrap();
    }
    age(&orphans[1], Duration::from_secs(3600));
    let klogs: Vec<PathBuf> = (0..5).map(|i| root.join(format!("k{i}.log"))).collect();
    let mut children: Vec<Child> = (0..4).map(|i| shard(&killed, i, 4, &klogs[i])).collect();
    // shard 1's slice starts with a model (innmf-train.b; then nmf.b.512 and a separation)
    let t0 = Instant::now();
    while !std::fs::read_to_string(&klogs[1])
        .unwrap()
        .contains("started innmf-train.b")
    {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "shard 1 never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    children[1].kill().unwrap(); // SIGKILL
    children[1].wait().unwrap();
    let log1 = std::fs::read_to_string(&klogs[1]).unwrap();
    assert!(
        !log1.contains("finished innmf-train.b"),
        "killed too late: {log1}"
    );
    for (i, c) in children.iter_mut().enumerate() {
        if i != 1 {
            assert!(c.wait().unwrap().success(), "shard {i}");
        }
    }
    // the others took the dead shard's model over (they need it); its own units are left
    let (_, finished) = counts(&klogs[..4]);
    assert_eq!(finished.get("innmf-train.b"), Some(&1), "{finished:?}");
    assert!(
        finished.len() < ids.len(),
        "shard 1's own units were left: {finished:?}"
    );
    // rerun the killed shard: the study completes
    let mut rerun = shard(&killed, 1, 4, &klogs[4]);
    assert!(rerun.wait().unwrap().success());
    let (started, finished) = counts(&klogs);
    for id in &ids {
        assert_eq!(
            finished.get(id),
            Some(&1),
            "{id} finished once: {finished:?}"
        );
        // started twice only for the unit the kill interrupted
        let expect = if id == "innmf-train.b" { 2 } else { 1 };
        assert_eq!(started.get(id), Some(&expect), "{id}: {started:?}");
    }
    collect(&killed);
    assert_eq!(results(&killed), expected);
    assert_eq!(leftovers(&killed), Vec::<PathBuf>::new());

    // 4. the Slurm script: `submit` against a stand-in sbatch that records its arguments, then
    // each array task's command with the array variables set by hand
    let slurm = root.join("slurm");
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = root.join("sbatch.calls");
    let fake = bin.join("sbatch");
    std::fs::write(
        &fake,
        format!(
            "#!/usr/bin/env bash\necho \"$*\" >> '{}'\nwc -l < '{}' | tr -d ' '\n",
            calls.display(),
            calls.display()
        ),
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(&fake).status().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/slurm/study.sh");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let sh = |args: &[&str], env: &[(&str, &str)]| {
        let out = Command::new("bash")
            .arg(&script)
            .args(args)
            .env("INNMF", BIN)
            .env("INNMF_CPUS", "1")
            .env("PATH", &path)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {err}");
        err
    };
    let (d, s, c) = (
        data.to_str().unwrap(),
        slurm.to_str().unwrap(),
        config.to_str().unwrap(),
    );
    sh(
        &[
            "submit",
            "separation",
            d,
            s,
            "2",
            "--config",
            c,
            "--pairs",
            "1",
        ],
        &[],
    );
    assert_eq!(plan_ids(&slurm), ids);
    let calls = std::fs::read_to_string(&calls).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines.len(), 3, "{calls}");
    assert!(
        lines[0].contains("--array=0-1") && lines[0].contains("task models"),
        "{calls}"
    );
    assert!(
        lines[1].contains("--array=0-1")
            && lines[1].contains("--dependency=afterok:1")
            && lines[1].contains("task rest"),
        "{calls}"
    );
    assert!(
        lines[2].contains("--dependency=afterok:2") && lines[2].contains("collect"),
        "{calls}"
    );
    let mut slogs = String::new();
    for stage in ["models", "rest"] {
        for i in ["0", "1"] {
            slogs += &sh(
                &["task", stage, s],
                &[("SLURM_ARRAY_TASK_ID", i), ("SLURM_ARRAY_TASK_COUNT", "2")],
            );
        }
        if stage == "models" {
            // the models stage computes exactly the units others read
            let n = slogs.lines().filter(|l| l.starts_with("finished ")).count();
            assert_eq!(n, 6, "2 iN-NMF models, 4 NMF fits: {slogs}");
        }
    }
    let n = slogs.lines().filter(|l| l.starts_with("finished ")).count();
    assert_eq!(n, ids.len(), "{slogs}");
    sh(&["collect", s], &[]);
    assert_eq!(results(&slurm), expected);
    assert_eq!(leftovers(&slurm), Vec::<PathBuf>::new());
    // a task without the array variables says what is missing
    let out = Command::new("bash")
        .arg(&script)
        .args(["task", "rest", s])
        .env("INNMF", BIN)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SLURM_ARRAY_TASK_ID"));

    // bad --shard values are named
    for bad in ["4/4", "1", "a/2", "0/0"] {
        let (ok, _, err) = innmf(&["experiment", "run-unit", "--out", s, "--shard", bad]);
        assert!(!ok && err.contains(bad), "{bad}: {err}");
    }
}
