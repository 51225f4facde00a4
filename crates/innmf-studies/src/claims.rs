//! Claims: which process computes a unit, when several share one output folder (on one machine
//! or over a network file system), and the clean-up of what crashed processes leave behind.
//!
//! # The rules
//! - **A unit is claimed** by creating `OUT/claims/<id>.claim` exclusively (`O_CREAT|O_EXCL`,
//!   atomic on local file systems and on NFSv3+). The file holds the claimant's host
//!   ([`innmf::io::host_name`]), process id, start time and a token unique to this claim. Only the
//!   holder computes the unit; its result is written atomically (`units/<id>.json`), then the
//!   claim is removed.
//! - **A heartbeat** refreshes the modification time of every claim a process holds, every
//!   [`ClaimSettings::heartbeat`] (a fifth of the stale age), while its units run.
//! - **A claim is stale** when its holder is known to be gone (same host and its process id is
//!   not running; checked through `/proc`, so on Linux only) or when its modification time is
//!   older than [`ClaimSettings::stale_after`] (default 300 s: several heartbeats, and room for
//!   clock skew between the machines and the file server). A process on another machine, or one
//!   whose host is `unknown`, is only ever judged by age.
//! - **A stale claim is taken over** by renaming it to a name unique to the recoverer: of several
//!   recoverers that rename the same file, exactly one succeeds. The winner checks that the file
//!   it moved is the claim it judged stale (same token); if a fresh claim was created in between,
//!   it puts that one back. Then it removes the old claim and claims the unit exclusively as
//!   usual, so the unit still has one holder.
//! - **Leftover temporary files** (`.<name>.<host>.<pid>.tmp` of [`innmf::io::write_atomic`]) in
//!   `units/` and `models/` are removed at the start of every run, resume or shard when their
//!   writer is gone, by the same rule (same host and process not running, or older than the
//!   stale age).
//!
//! A unit can be computed twice only when a process judged dead by age is in fact alive (paused
//! past the stale age) or when three processes race on one stale claim within the same
//! instant; even then the two computations give the same bytes (seeds come from the unit's id)
//! and the result file is replaced atomically.

use innmf::error::{Error, Result};
use innmf::io;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How claims age.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClaimSettings {
    /// A claim not refreshed for this long is stale (default 300 s).
    pub stale_after: Duration,
    /// How often a shard waiting on another process's unit looks again (default 2 s).
    pub poll: Duration,
}

impl Default for ClaimSettings {
    fn default() -> Self {
        ClaimSettings {
            stale_after: Duration::from_secs(300),
            poll: Duration::from_secs(2),
        }
    }
}

impl ClaimSettings {
    /// How often held claims are refreshed: a fifth of the stale age.
    pub fn heartbeat(&self) -> Duration {
        self.stale_after / 5
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// A zero stale age or poll interval.
    pub fn validate(&self) -> Result<()> {
        if self.stale_after.is_zero() {
            return Err(Error::param(
                "stale_after",
                "0 s",
                "more than 0 s (the age after which a claim is taken over)",
            ));
        }
        if self.poll.is_zero() {
            return Err(Error::param("poll", "0 s", "more than 0 s"));
        }
        Ok(())
    }
}

/// What a claim file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimInfo {
    /// The unit.
    pub unit: String,
    /// Host of the claimant ([`innmf::io::host_name`]).
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// When it claimed the unit (milliseconds since the Unix epoch).
    pub started_ms: u64,
    /// Unique to this claim.
    pub token: String,
}

/// Whether process `pid` runs on this machine: `None` where that cannot be told (no `/proc`).
pub fn pid_alive(pid: u32) -> Option<bool> {
    if !Path::new("/proc/self").exists() {
        return None;
    }
    Some(Path::new("/proc").join(pid.to_string()).exists())
}

/// Whether the writer `(host, pid)` of a file last modified at `modified` is gone: same host and
/// the process is not running, or the file is older than `stale_after`.
pub fn writer_gone(
    host: &str,
    pid: Option<u32>,
    modified: SystemTime,
    stale_after: Duration,
) -> bool {
    let me = io::host_name();
    if host == me && me != "unknown" {
        if let Some(pid) = pid {
            if pid == std::process::id() {
                return false;
            }
            if pid_alive(pid) == Some(false) {
                return true;
            }
        }
    }
    SystemTime::now()
        .duration_since(modified)
        .is_ok_and(|age| age > stale_after)
}

/// The host and process id in a temporary file name `.<name>.<host>.<pid>.tmp`
/// ([`innmf::io::write_atomic`]); `None` for another name.
pub fn parse_temp_name(file_name: &str) -> Option<(String, Option<u32>)> {
    let inner = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = inner.rsplitn(3, '.');
    let pid = parts.next()?.parse::<u32>().ok();
    let host = parts.next()?.to_string();
    parts.next()?;
    Some((host, pid))
}

/// Removes the temporary files `.*.tmp` in `dir` whose writer is gone ([`writer_gone`]); returns
/// how many. A missing folder has none.
///
/// # Errors
/// An unreadable folder.
pub fn remove_orphan_temps(dir: &Path, stale_after: Duration) -> Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with('.') && name.ends_with(".tmp")) {
            continue;
        }
        let Ok(modified) = entry.metadata().and_then(|m| m.modified()) else {
            continue;
        };
        let (host, pid) = parse_temp_name(&name).unwrap_or_else(|| ("unknown".into(), None));
        if writer_gone(&host, pid, modified, stale_after)
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    Ok(removed)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The claims of one process on one output folder.
#[derive(Debug)]
pub struct Claims {
    dir: PathBuf,
    settings: ClaimSettings,
    /// Held claims: unit id → token.
    held: Mutex<HashMap<String, String>>,
    counter: AtomicU64,
}

/// What [`Claims::try_claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This process holds the unit now.
    Acquired,
    /// Another live process (or another thread of this one) holds it.
    Held,
}

impl Claims {
    /// The claims under `OUT/claims` (created).
    ///
    /// # Errors
    /// Invalid settings; a folder that cannot be created.
    pub fn open(out: &Path, settings: ClaimSettings) -> Result<Claims> {
        settings.validate()?;
        let dir = out.join("claims");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Claims {
            dir,
            settings,
            held: Mutex::new(HashMap::new()),
            counter: AtomicU64::new(0),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &ClaimSettings {
        &self.settings
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.claim"))
    }

    fn token(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            io::host_name(),
            std::process::id(),
            now_ms(),
            self.counter.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claims unit `id`: creates its claim file exclusively, taking a stale one over first.
    ///
    /// # Errors
    /// A claims folder that cannot be written.
    pub fn try_claim(&self, id: &str) -> Result<Claim> {
        if self.held().contains_key(id) {
            return Ok(Claim::Held);
        }
        let path = self.path(id);
        for _ in 0..3 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    let info = ClaimInfo {
                        unit: id.to_string(),
                        host: io::host_name().to_string(),
                        pid: std::process::id(),
                        started_ms: now_ms(),
                        token: self.token(),
                    };
                    let bytes = serde_json::to_vec(&info)
                        .map_err(|e| Error::format(&path, e.to_string()))?;
                    f.write_all(&bytes)
                        .and_then(|_| f.sync_all())
                        .map_err(|e| Error::io(&path, e))?;
                    self.held().insert(id.to_string(), info.token);
                    return Ok(Claim::Acquired);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if !self.take_over_if_stale(&path)? {
                        return Ok(Claim::Held);
                    }
                }
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Ok(Claim::Held)
    }

    /// Reads a claim file: its contents (`None` while being written or unreadable) and mtime.
    fn read(path: &Path) -> Option<(Option<ClaimInfo>, SystemTime)> {
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
        let info = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<ClaimInfo>(&b).ok());
        Some((info, modified))
    }

    fn is_stale(&self, info: &Option<ClaimInfo>, modified: SystemTime) -> bool {
        match info {
            Some(i) => writer_gone(&i.host, Some(i.pid), modified, self.settings.stale_after),
            None => writer_gone("unknown", None, modified, self.settings.stale_after),
        }
    }

    /// Takes the claim at `path` over if it is stale: true when it is gone now (taken over or
    /// released meanwhile), false when a live process holds it.
    fn take_over_if_stale(&self, path: &Path) -> Result<bool> {
        let Some((info, modified)) = Self::read(path) else {
            return Ok(true); // released meanwhile
        };
        if !self.is_stale(&info, modified) {
            return Ok(false);
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let moved = self.dir.join(format!(
            ".{}.{}.recover",
            name.unwrap_or_default(),
            self.token()
        ));
        match std::fs::rename(path, &moved) {
            Ok(()) => {}
            // another recoverer won, or the holder released it
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
            Err(e) => return Err(Error::io(path, e)),
        }
        let got = Self::read(&moved).and_then(|(i, _)| i);
        let same = match (&got, &info) {
            (Some(a), Some(b)) => a.token == b.token,
            (None, None) => true,
            _ => false,
        };
        if !same {
            // a fresh claim was created between our reading and the rename: put it back
            // (hard_link fails if yet another claim exists; then that one stands)
            let _ = std::fs::hard_link(&moved, path);
        }
        let _ = std::fs::remove_file(&moved);
        Ok(same)
    }

    /// Releases the claim on `id` (if this process holds it and the file is still its own).
    pub fn release(&self, id: &str) {
        let Some(token) = self.held().remove(id) else {
            return;
        };
        let path = self.path(id);
        if let Some((Some(info), _)) = Self::read(&path) {
            if info.token == token {
                let _ = std::fs::remove_file(&path);
            }
        }
    }

    /// Refreshes the modification time of every claim this process holds.
    pub fn refresh(&self) {
        let ids: Vec<String> = self.held().keys().cloned().collect();
        for id in ids {
            if let Ok(f) = File::options().append(true).open(self.path(&id)) {
                let _ = f.set_modified(SystemTime::now());
            }
        }
    }

    /// Removes every stale claim and every leftover of an interrupted take-over; returns how
    /// many claims were removed.
    ///
    /// # Errors
    /// An unreadable claims folder.
    pub fn sweep(&self) -> Result<usize> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.ends_with(".claim") && !name.starts_with('.') {
                if self.take_over_if_stale(&path)? {
                    removed += 1;
                }
            } else if name.starts_with('.') && name.ends_with(".recover") {
                // `.<id>.claim.<host>.<pid>.<ms>.<n>.recover`: the recoverer's own leftovers
                let Ok(modified) = entry.metadata().and_then(|m| m.modified()) else {
                    continue;
                };
                let fields: Vec<&str> = name.rsplitn(6, '.').collect();
                let (host, pid) = match fields.as_slice() {
                    [_, _, _, pid, host, _] => (host.to_string(), pid.parse().ok()),
                    _ => ("unknown".to_string(), None),
                };
                if writer_gone(&host, pid, modified, self.settings.stale_after) {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        Ok(removed)
    }
}

impl Drop for Claims {
    fn drop(&mut self) {
        let ids: Vec<String> = self.held().keys().cloned().collect();
        for id in ids {
            self.release(&id);
        }
    }
}
