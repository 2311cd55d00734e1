//! The audit log: one JSON record a line, private to the user, appended from any thread.
//!
//! It holds prompts, draft findings and the paths of patients' images, so it is created
//! with mode 0600 on Unix (and an existing log with wider permissions is narrowed). One
//! mutex serialises the appends, and each record is one `write` on a file opened for
//! appending, so records from several threads (a findings job and a labels job) are whole
//! lines in some order. Past `limit` bytes the log is renamed to `<name>.1` (replacing the
//! previous one) and a new log is started, so it cannot fill the disk. Failures are
//! returned: the caller logs them and tells the UI, a silently missing record would be worse.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::lock;

/// The default size at which the log is rotated.
pub const ROTATE_BYTES: u64 = 10 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("audit log {}: {source}", .path.display())]
pub struct AuditError {
    pub path: PathBuf,
    pub source: io::Error,
}

#[derive(Default)]
pub struct AuditLog {
    writing: Mutex<()>,
}

impl AuditLog {
    /// Appends `line` (one record, without its newline) to the log at `path`, rotating it
    /// first if the record would take it past `limit` bytes.
    pub fn append(&self, path: &Path, limit: u64, line: &str) -> Result<(), AuditError> {
        let _one = lock(&self.writing);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err(dir))?;
        }
        let mut record = Vec::with_capacity(line.len() + 1);
        record.extend_from_slice(line.as_bytes());
        record.push(b'\n');
        match std::fs::metadata(path) {
            Ok(m) if m.len() > 0 && m.len() + record.len() as u64 > limit => {
                let old = rotated(path);
                std::fs::rename(path, &old).map_err(err(path))?;
            }
            _ => {}
        }
        let mut f = open_private(path).map_err(err(path))?;
        f.write_all(&record).map_err(err(path))
    }
}

fn err(p: &Path) -> impl FnOnce(io::Error) -> AuditError + '_ {
    move |source| AuditError { path: p.to_path_buf(), source }
}

/// `audit.jsonl` → `audit.jsonl.1`.
pub fn rotated(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".1");
    path.with_file_name(name)
}

/// Opens `path` for appending, creating it readable and writable by the user alone.
fn open_private(path: &Path) -> io::Result<File> {
    let mut o = File::options();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        o.mode(0o600);
        let f = o.open(path)?;
        // A log created by an older version (or by hand) with wider permissions is narrowed.
        let mode = f.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            f.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
        }
        Ok(f)
    }
    #[cfg(not(unix))]
    {
        o.open(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("medlens-audit-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[cfg(unix)]
    #[test]
    fn the_log_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp("mode");
        let log = dir.join("audit.jsonl");
        AuditLog::default().append(&log, ROTATE_BYTES, "{}").unwrap();
        assert_eq!(std::fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o600);
        // An existing world-readable log is narrowed on the next append.
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
        AuditLog::default().append(&log, ROTATE_BYTES, "{}").unwrap();
        assert_eq!(std::fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn concurrent_appends_are_whole_lines() {
        let dir = temp("threads");
        let log = dir.join("audit.jsonl");
        let audit = AuditLog::default();
        // Records longer than a pipe buffer and a page, so torn writes would show.
        let (threads, each, len) = (8, 50, 10_000);
        std::thread::scope(|s| {
            for t in 0..threads {
                let (audit, log) = (&audit, &log);
                s.spawn(move || {
                    for i in 0..each {
                        let line = serde_json::json!({"thread": t, "i": i, "pad": "x".repeat(len)}).to_string();
                        audit.append(log, u64::MAX, &line).unwrap();
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&log).unwrap();
        let mut seen = std::collections::HashSet::new();
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("a torn line ({e}): {}…", &l[..80.min(l.len())]));
            assert_eq!(v["pad"].as_str().unwrap().len(), len);
            assert!(seen.insert((v["thread"].as_u64().unwrap(), v["i"].as_u64().unwrap())), "a record written twice");
        }
        assert_eq!(seen.len(), threads * each);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn the_log_rotates_at_its_limit() {
        let dir = temp("rotate");
        let log = dir.join("audit.jsonl");
        let audit = AuditLog::default();
        let line = "r".repeat(99); // 100 bytes with the newline
        for _ in 0..10 {
            audit.append(&log, 1000, &line).unwrap();
        }
        assert_eq!(std::fs::metadata(&log).unwrap().len(), 1000);
        assert!(!rotated(&log).exists());
        audit.append(&log, 1000, "after").unwrap();
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "after\n");
        assert_eq!(std::fs::metadata(rotated(&log)).unwrap().len(), 1000);
        // The next rotation replaces the old `.1`.
        for _ in 0..10 {
            audit.append(&log, 1000, &line).unwrap();
        }
        assert_eq!(std::fs::read_to_string(rotated(&log)).unwrap().lines().next(), Some("after"));
        assert_eq!(rotated(&log).file_name().unwrap(), "audit.jsonl.1");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn write_errors_are_returned_with_the_path() {
        let dir = temp("errors");
        std::fs::create_dir_all(&dir).unwrap();
        // The log's name is taken by a folder: the append fails and says where.
        let log = dir.join("audit.jsonl");
        std::fs::create_dir_all(&log).unwrap();
        let e = AuditLog::default().append(&log, ROTATE_BYTES, "{}").unwrap_err();
        assert!(e.to_string().starts_with(&format!("audit log {}", log.display())), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
