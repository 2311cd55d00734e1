//! Writing outputs without losing anything: every file the CLI writes goes to a temporary
//! file in the destination's folder (same file system, so the final step is a rename) and
//! becomes the output only once complete and on disk. A run that fails or is interrupted
//! leaves the previous output (or none) and no partial file; an existing output is never
//! replaced unless the user said `--force`. Ctrl-C (SIGINT), SIGTERM and SIGHUP are taken
//! by a thread of their own ([`clean_up_on_signals`]), which removes the temporary files and
//! folders in flight before the process ends.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// Temporary files (false) and folders (true) that exist now and must not outlive the process.
static IN_FLIGHT: std::sync::Mutex<Vec<(PathBuf, bool)>> = std::sync::Mutex::new(Vec::new());

fn in_flight() -> std::sync::MutexGuard<'static, Vec<(PathBuf, bool)>> {
    IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner())
}

fn track(path: &Path, folder: bool) {
    in_flight().push((path.to_path_buf(), folder));
}

fn untrack(path: &Path) {
    in_flight().retain(|(p, _)| p != path);
}

/// Makes an interrupt end the process cleanly: SIGINT, SIGTERM and SIGHUP are blocked in
/// every thread (call this first in `main`, before any thread starts, so all inherit the
/// mask) and waited for by one thread, which removes the temporary files and staging folders
/// in flight, says so, and exits with 128 + the signal's number, as a shell expects. The
/// default action would end the process at once and leave them behind.
pub fn clean_up_on_signals() {
    #[cfg(unix)]
    // SAFETY: plain libc calls on a signal set owned here; the waiting thread only reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        let waiter = std::thread::Builder::new().name("signals".into()).spawn(move || {
            let mut sig = 0;
            if libc::sigwait(&set, &mut sig) != 0 {
                return;
            }
            for (p, folder) in in_flight().drain(..) {
                let _ = if folder { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
            }
            eprintln!("medlens: interrupted; no partial output was left");
            std::process::exit(128 + sig);
        });
        if waiter.is_err() {
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
    }
}

/// The message for an output that exists and may not be replaced.
fn exists_error(dest: &Path) -> anyhow::Error {
    anyhow::anyhow!("{}: already exists; use --force to replace it", dest.display())
}

/// Refuses an existing `dest` unless `force`: called before any work, so a long run does not
/// end in a refusal.
pub fn check_new(dest: &Path, force: bool) -> anyhow::Result<()> {
    if !force && std::fs::symlink_metadata(dest).is_ok() {
        return Err(exists_error(dest));
    }
    Ok(())
}

/// An output being written: a temporary file beside `dest`, removed when dropped unless
/// [`AtomicFile::commit`]ted.
pub struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    file: Option<File>,
    force: bool,
}

impl AtomicFile {
    /// Starts writing `dest` (refused at once if it exists and not `force`).
    pub fn create(dest: &Path, force: bool) -> anyhow::Result<Self> {
        check_new(dest, force)?;
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = dest.file_name().with_context(|| format!("{}: not a file name", dest.display()))?;
        for i in 0u32..1000 {
            let tmp = dir.join(format!(".{}.{}.{i}.tmp", name.to_string_lossy(), std::process::id()));
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(f) => {
                    track(&tmp, false);
                    return Ok(Self { tmp, dest: dest.into(), file: Some(f), force });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).with_context(|| format!("{}: cannot create a file here", dir.display())),
            }
        }
        bail!("{}: no free temporary name", dir.display())
    }

    /// The temporary file, to write the output into.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("present until commit")
    }

    /// Flushes the file to disk and puts it in place. Without `force` the final step links
    /// the file to its name, which fails if the name appeared meanwhile (a rename would
    /// replace it); with `force` it renames over the old output in one step.
    pub fn commit(mut self) -> anyhow::Result<PathBuf> {
        // For the interrupt test (tests/cli.rs): a window in which the output is half made.
        #[cfg(debug_assertions)]
        if let Some(ms) = std::env::var("MEDLENS_TEST_HOLD_OUTPUT_MS").ok().and_then(|v| v.parse().ok()) {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        let f = self.file.take().expect("present until commit");
        f.sync_all().with_context(|| format!("{}: writing", self.dest.display()))?;
        drop(f);
        if self.force {
            std::fs::rename(&self.tmp, &self.dest).with_context(|| format!("{}: writing", self.dest.display()))?;
        } else {
            match std::fs::hard_link(&self.tmp, &self.dest) {
                Ok(()) => {
                    let _ = std::fs::remove_file(&self.tmp);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(exists_error(&self.dest)),
                // File systems without hard links: check, then rename.
                Err(_) => {
                    check_new(&self.dest, false)?;
                    std::fs::rename(&self.tmp, &self.dest).with_context(|| format!("{}: writing", self.dest.display()))?;
                }
            }
        }
        untrack(&self.tmp);
        self.tmp = PathBuf::new();
        Ok(self.dest.clone())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.file.take();
            let _ = std::fs::remove_file(&self.tmp);
            untrack(&self.tmp);
        }
    }
}

/// Writes `bytes` to `dest` through an [`AtomicFile`].
pub fn write_atomic(dest: &Path, bytes: &[u8], force: bool) -> anyhow::Result<PathBuf> {
    let mut out = AtomicFile::create(dest, force)?;
    out.file().write_all(bytes).with_context(|| format!("{}: writing", dest.display()))?;
    out.commit()
}

/// A temporary folder inside `parent` (for commands whose library call writes several files
/// into a folder), removed with whatever is left in it when dropped.
pub struct StagingDir {
    path: PathBuf,
}

impl StagingDir {
    pub fn new(parent: &Path) -> anyhow::Result<Self> {
        for i in 0u32..1000 {
            let path = parent.join(format!(".medlens-staging.{}.{i}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    track(&path, true);
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).with_context(|| format!("{}: cannot create a folder here", parent.display())),
            }
        }
        bail!("{}: no free temporary name", parent.display())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        untrack(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("medlens-output-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn names(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_dropped_file_leaves_nothing_and_a_committed_one_is_complete() {
        let d = dir("drop");
        let dest = d.join("out.bin");
        {
            let mut f = AtomicFile::create(&dest, false).unwrap();
            f.file().write_all(b"half").unwrap();
            // dropped without commit: an error happened
        }
        assert!(names(&d).is_empty(), "{:?}", names(&d));
        write_atomic(&dest, b"whole", false).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"whole");
        assert_eq!(names(&d), vec!["out.bin"]);
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn an_existing_output_is_kept_unless_forced() {
        let d = dir("force");
        let dest = d.join("out.bin");
        std::fs::write(&dest, b"old").unwrap();
        let e = write_atomic(&dest, b"new", false).unwrap_err().to_string();
        assert!(e.contains("already exists") && e.contains("--force"), "{e}");
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");
        // Appearing between the start and the commit: still not replaced.
        std::fs::remove_file(&dest).unwrap();
        let mut f = AtomicFile::create(&dest, false).unwrap();
        f.file().write_all(b"new").unwrap();
        std::fs::write(&dest, b"other").unwrap();
        assert!(f.commit().is_err());
        assert_eq!(std::fs::read(&dest).unwrap(), b"other");
        assert_eq!(names(&d), vec!["out.bin"], "no temporary file left");
        write_atomic(&dest, b"new", true).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn a_staging_folder_is_removed_with_its_contents() {
        let d = dir("staging");
        {
            let s = StagingDir::new(&d).unwrap();
            std::fs::write(s.path().join("x"), b"x").unwrap();
        }
        assert!(names(&d).is_empty());
        std::fs::remove_dir_all(&d).ok();
    }
}
