//! The app's own writes (exports, label sets): complete or absent, never a half-written
//! file, and never over an existing file unless the user confirmed.
//!
//! The bytes go to a temporary file in the destination's folder (same file system, so the
//! last step is a rename or a link, not a copy), are flushed to disk, and only then appear
//! under their name. Without `overwrite`, the name is taken with a hard link, which fails
//! if the name exists (atomically, so two writers cannot both claim it); where links are
//! not supported the name is checked and the file renamed.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Why a write failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{}: already exists (confirm to replace it)", .path.display())]
    Exists { path: PathBuf },
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl From<WriteError> for String {
    fn from(e: WriteError) -> String {
        e.to_string()
    }
}

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Removes the temporary file when dropped unless `committed`: on an error and also when
/// the writer panics, so a half-written file (which may hold patient data) is not left.
struct TempGuard {
    path: PathBuf,
    committed: bool,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A temporary file beside `dest`, written by `write` and synced; removed again on error
/// or panic.
fn write_temp(dest: &Path, write: &dyn Fn(&mut dyn Write) -> io::Result<()>) -> Result<PathBuf, WriteError> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}-{}.tmp", std::process::id(), TEMP_SEQ.fetch_add(1, Ordering::Relaxed)));
    let f = File::options().write(true).create_new(true).open(&tmp).map_err(|source| WriteError::Io { path: tmp.clone(), source })?;
    let mut guard = TempGuard { path: tmp, committed: false };
    let result = (|| -> io::Result<()> {
        let mut w = io::BufWriter::new(f);
        write(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    })();
    match result {
        Ok(()) => {
            guard.committed = true;
            Ok(guard.path.clone())
        }
        Err(source) => Err(WriteError::Io { path: guard.path.clone(), source }),
    }
}

/// Gives the finished temporary file `tmp` the name `dest`, which must not exist.
fn publish_new(tmp: &Path, dest: &Path) -> Result<(), WriteError> {
    match std::fs::hard_link(tmp, dest) {
        Ok(()) => {
            let _ = std::fs::remove_file(tmp);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(WriteError::Exists { path: dest.to_path_buf() }),
        // No hard links here (some network and FAT file systems): check, then rename.
        Err(_) if dest.symlink_metadata().is_ok() => Err(WriteError::Exists { path: dest.to_path_buf() }),
        Err(_) => std::fs::rename(tmp, dest).map_err(|source| WriteError::Io { path: dest.to_path_buf(), source }),
    }
}

/// Writes `dest` through a temporary file. An existing `dest` is replaced only when
/// `overwrite` (the user confirmed); otherwise the result is `WriteError::Exists` and the
/// existing file is untouched.
pub fn write_atomic(dest: &Path, overwrite: bool, write: &dyn Fn(&mut dyn Write) -> io::Result<()>) -> Result<(), WriteError> {
    if !overwrite && dest.symlink_metadata().is_ok() {
        return Err(WriteError::Exists { path: dest.to_path_buf() });
    }
    let tmp = write_temp(dest, write)?;
    let r = if overwrite {
        std::fs::rename(&tmp, dest).map_err(|source| WriteError::Io { path: dest.to_path_buf(), source })
    } else {
        publish_new(&tmp, dest)
    };
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Writes a new file `dir/{stem}.{ext}`, or `{stem}-2.{ext}`, `-3` … when the name is
/// taken (exports named by the time must not replace an export made in the same second).
/// Returns the path written.
pub fn write_unique(dir: &Path, stem: &str, ext: &str, write: &dyn Fn(&mut dyn Write) -> io::Result<()>) -> Result<PathBuf, WriteError> {
    let name = |n: u32| if n == 1 { dir.join(format!("{stem}.{ext}")) } else { dir.join(format!("{stem}-{n}.{ext}")) };
    let tmp = write_temp(&name(1), write)?;
    for n in 1..=10_000 {
        let dest = name(n);
        match publish_new(&tmp, &dest) {
            Ok(()) => return Ok(dest),
            Err(WriteError::Exists { .. }) => continue,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        }
    }
    let _ = std::fs::remove_file(&tmp);
    Err(WriteError::Exists { path: name(10_000) })
}

/// `dir/name`, or `dir/{stem}-2.{ext}`, `-3` … : the first name not taken (for a write
/// that then refuses to replace, should another writer take the name in between).
pub fn free_name(dir: &Path, name: &str) -> PathBuf {
    free_name_except(dir, name, &HashSet::new())
}

/// `free_name`, also skipping the names in `reserved`.
fn free_name_except(dir: &Path, name: &str, reserved: &HashSet<PathBuf>) -> PathBuf {
    let p = Path::new(name);
    let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = p.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    (1..=10_000)
        .map(|n| if n == 1 { dir.join(name) } else { dir.join(format!("{stem}-{n}{ext}")) })
        .find(|p| !reserved.contains(p) && p.symlink_metadata().is_err())
        .unwrap_or_else(|| dir.join(name))
}

/// Names promised to writers that have not created their file yet (a model import picks
/// its name minutes before the importer renames over it, replacing whatever is there).
static RESERVED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// A name `free_name` picked and holds for its writer until dropped, so two writers
/// started together with the same wish get different names.
#[derive(Debug)]
pub struct Reserved(PathBuf);

impl Reserved {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        if let Some(set) = RESERVED.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            set.remove(&self.0);
        }
    }
}

/// `free_name`, skipping the names other running writers hold, and held until the result
/// is dropped (after the writer has created its file or given up).
pub fn reserve_free_name(dir: &Path, name: &str) -> Reserved {
    let mut guard = RESERVED.lock().unwrap_or_else(|e| e.into_inner());
    let set = guard.get_or_insert_with(HashSet::new);
    let p = free_name_except(dir, name, set);
    set.insert(p.clone());
    Reserved(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("medlens-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_panicking_writer_leaves_no_temporary_file() {
        let dir = temp("panic");
        for overwrite in [false, true] {
            let r = std::panic::catch_unwind(|| {
                write_atomic(&dir.join("scan.png"), overwrite, &|w| {
                    w.write_all(b"patient bytes")?;
                    w.flush()?;
                    panic!("writer fails midway")
                })
            });
            assert!(r.is_err());
            assert_eq!(entries(&dir), Vec::<String>::new());
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn reserved_names_are_not_picked_twice_until_released() {
        let dir = temp("reserve");
        std::fs::write(dir.join("m.gguf"), b"x").unwrap();
        let a = reserve_free_name(&dir, "m.gguf");
        let b = reserve_free_name(&dir, "m.gguf");
        assert_eq!(a.path(), dir.join("m-2.gguf"));
        assert_eq!(b.path(), dir.join("m-3.gguf"));
        // Plain `free_name` (no reservation) still sees only the folder.
        assert_eq!(free_name(&dir, "m.gguf"), dir.join("m-2.gguf"));
        drop(a);
        let c = reserve_free_name(&dir, "m.gguf");
        assert_eq!(c.path(), dir.join("m-2.gguf"));
        drop(b);
        drop(c);
        assert_eq!(reserve_free_name(&dir, "m.gguf").path(), dir.join("m-2.gguf"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn existing_files_are_kept_unless_confirmed() {
        let dir = temp("atomic");
        let f = dir.join("set.json");
        write_atomic(&f, false, &|w| w.write_all(b"first")).unwrap();
        let e = write_atomic(&f, false, &|w| w.write_all(b"second")).unwrap_err();
        assert!(matches!(e, WriteError::Exists { .. }) && e.to_string().contains("set.json") && e.to_string().contains("exists"), "{e}");
        assert_eq!(std::fs::read(&f).unwrap(), b"first");
        write_atomic(&f, true, &|w| w.write_all(b"second")).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"second");
        // A writer that fails leaves the old file and no temporary behind.
        let e = write_atomic(&f, true, &|w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(e.to_string().contains("disk full"), "{e}");
        assert_eq!(std::fs::read(&f).unwrap(), b"second");
        assert_eq!(entries(&dir), ["set.json"]);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn names_by_time_never_collide() {
        let dir = temp("unique");
        let paths: Vec<PathBuf> = (0..3)
            .map(|i| write_unique(&dir, "medlens-labels-20261207-041500", "csv", &|w| write!(w, "{i}")).unwrap())
            .collect();
        assert_eq!(entries(&dir), ["medlens-labels-20261207-041500-2.csv", "medlens-labels-20261207-041500-3.csv", "medlens-labels-20261207-041500.csv"]);
        for (i, p) in paths.iter().enumerate() {
            assert_eq!(std::fs::read_to_string(p).unwrap(), i.to_string());
        }
        // From several threads at once: every write gets its own file.
        let dir2 = temp("unique-threads");
        std::thread::scope(|s| {
            for i in 0..8 {
                let d = &dir2;
                s.spawn(move || write_unique(d, "x", "md", &|w| write!(w, "{i}")).unwrap());
            }
        });
        let mut got: Vec<String> = entries(&dir2).iter().map(|n| std::fs::read_to_string(dir2.join(n)).unwrap()).collect();
        got.sort();
        assert_eq!(got, (0..8).map(|i| i.to_string()).collect::<Vec<_>>());
        assert_eq!(free_name(&dir, "medlens-labels-20261207-041500.csv"), dir.join("medlens-labels-20261207-041500-4.csv"));
        assert_eq!(free_name(&dir, "brain.png"), dir.join("brain.png"));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::remove_dir_all(&dir2).ok();
    }
}
