//! What the app may touch: the paths the user granted, and names that must stay names.
//!
//! The webview is untrusted input (a page script can call any command with any argument),
//! so a path from the UI is accepted only if it lies under a root the user granted by a
//! gesture the page cannot forge: a drop on the window (the native drag-drop handler in
//! Rust), a native dialog opened from Rust, or what the person starting the app set up
//! (the app's data folder, `$MEDLENS_EXPORT_DIR`). Roots and candidates are compared after
//! resolving symbolic links, so a link inside a granted folder cannot lead out of it, and
//! `..` and relative paths are refused outright rather than interpreted.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use crate::lock;

/// Why a path or a name from the UI was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("{}: not a file or folder you chose (drop it on the window or choose it in a dialog first)", .path.display())]
    NotGranted { path: PathBuf },
    #[error("{}: a relative path is not accepted (give the whole path)", .path.display())]
    Relative { path: PathBuf },
    #[error("{}: `..` is not accepted in a path", .path.display())]
    ParentDir { path: PathBuf },
    #[error("{name:?}: not a plain name ({reason})")]
    BadName { name: String, reason: &'static str },
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

impl From<AccessError> for String {
    fn from(e: AccessError) -> String {
        e.to_string()
    }
}

/// The roots the user granted this run, resolved.
#[derive(Default)]
pub struct Grants {
    roots: Mutex<Vec<PathBuf>>,
}

impl Grants {
    /// Grants `path` and everything under it. A path that cannot be resolved is not granted
    /// (it could not be read anyway), and returns why.
    pub fn grant(&self, path: &Path) -> Result<PathBuf, AccessError> {
        let p = resolve(path)?;
        let mut roots = lock(&self.roots);
        if !roots.contains(&p) {
            roots.push(p.clone());
        }
        Ok(p)
    }

    /// `path` resolved, if it lies under a granted root.
    pub fn check(&self, path: &Path) -> Result<PathBuf, AccessError> {
        let resolved = resolve(path)?;
        if lock(&self.roots).iter().any(|r| resolved.starts_with(r)) {
            Ok(resolved)
        } else {
            Err(AccessError::NotGranted { path: path.to_path_buf() })
        }
    }
}

/// `path` absolute with symbolic links resolved. Relative paths and `..` are refused. The
/// longest existing ancestor is resolved and the rest appended, so a folder an export is
/// about to create can be checked before it exists.
pub fn resolve(path: &Path) -> Result<PathBuf, AccessError> {
    if !path.is_absolute() {
        return Err(AccessError::Relative { path: path.to_path_buf() });
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(AccessError::ParentDir { path: path.to_path_buf() });
    }
    let mut existing = path.to_path_buf();
    let mut tail: Vec<OsString> = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(mut out) => {
                out.extend(tail.iter().rev());
                return Ok(out);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match (existing.file_name(), existing.parent()) {
                (Some(name), Some(parent)) => {
                    tail.push(name.to_os_string());
                    existing = parent.to_path_buf();
                }
                _ => return Err(AccessError::Io { path: path.to_path_buf(), source: e }),
            },
            Err(e) => return Err(AccessError::Io { path: path.to_path_buf(), source: e }),
        }
    }
}

/// Names Windows reserves in every folder (with any extension). The superscript-digit
/// ports count as digits to Windows, so they are devices too.
const WINDOWS_RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "COM¹", "COM²", "COM³", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³",
];

/// `name` if it is a plain file name: one component in the folder it is joined to, on
/// every platform (no separators of either kind, no drive letter or stream `:`, not `.` or
/// `..`, no control characters, not a Windows device name, not ending in `.` or a space,
/// at most 200 bytes).
pub fn plain_name(name: &str) -> Result<&str, AccessError> {
    let bad = |reason| Err(AccessError::BadName { name: name.to_string(), reason });
    if name.trim().is_empty() {
        return bad("empty");
    }
    if name == "." || name == ".." {
        return bad("`.` and `..` name folders, not files");
    }
    if name.contains(['/', '\\']) {
        return bad("a path separator; a name is expected, not a path");
    }
    if name.contains(':') {
        return bad("`:` (a drive letter or stream on Windows)");
    }
    if name.chars().any(char::is_control) {
        return bad("control characters");
    }
    if name.len() > 200 {
        return bad("longer than 200 bytes");
    }
    // Windows strips a trailing `.` or space, so `a.` would be written as `a`.
    if name.ends_with(['.', ' ']) {
        return bad("ends in `.` or a space (Windows drops them, naming another file)");
    }
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    if WINDOWS_RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        return bad("a device name on Windows");
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("medlens-access-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d.canonicalize().unwrap()
    }

    #[test]
    fn plain_names_only() {
        for ok in ["chest", "CT chest.json", "brain 001-f1.png", "écho_2", "a..b", ".hidden"] {
            assert_eq!(plain_name(ok).unwrap(), ok);
        }
        for (bad, why) in [
            ("", "empty"),
            ("  ", "empty"),
            ("..", "`..`"),
            (".", "`..`"),
            ("../x", "separator"),
            ("a/b", "separator"),
            ("/etc/passwd", "separator"),
            ("..\\..\\x", "separator"),
            ("C:\\Windows\\x", "separator"),
            ("C:x.json", "drive letter"),
            ("d:", "drive letter"),
            ("a:stream", "drive letter"),
            ("a\nb", "control"),
            ("a\0b", "control"),
            ("CON", "device"),
            ("nul.json", "device"),
            ("Com1 .txt", "device"),
        ] {
            let e = plain_name(bad).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(&format!("{bad:?}")), "{bad:?}: {e}");
        }
        assert!(plain_name(&"x".repeat(201)).is_err());
    }

    /// The device names and the trailing-character rule of Microsoft's "Naming Files,
    /// Paths, and Namespaces": console and clock devices, the superscript ports, and
    /// names Windows would silently shorten.
    #[test]
    fn windows_devices_and_stripped_endings_refused() {
        for ok in ["COM10.txt", "console", "clock", "conin", "LPT0x", "a.b", "a b"] {
            assert_eq!(plain_name(ok).unwrap(), ok);
        }
        for (bad, why) in [
            ("CONIN$", "device"),
            ("conout$.log", "device"),
            ("Clock$", "device"),
            ("COM\u{b9}", "device"),
            ("com\u{b2}.json", "device"),
            ("COM\u{b3}", "device"),
            ("LPT\u{b9}.txt", "device"),
            ("lpt\u{b2}", "device"),
            ("LPT\u{b3}", "device"),
            ("con.txt", "device"),
            ("a.", "ends in"),
            ("a ", "ends in"),
            ("report.json.", "ends in"),
            ("x. ", "ends in"),
        ] {
            let e = plain_name(bad).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(&format!("{bad:?}")), "{bad:?}: {e}");
        }
    }

    #[test]
    fn grants_cover_their_subtree_only() {
        let root = temp("grants");
        let granted = root.join("granted");
        let other = root.join("other");
        std::fs::create_dir_all(granted.join("sub")).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(granted.join("sub/a.dcm"), b"x").unwrap();
        std::fs::write(other.join("b.dcm"), b"x").unwrap();
        let g = Grants::default();
        assert!(matches!(g.check(&granted.join("sub/a.dcm")), Err(AccessError::NotGranted { .. })));
        g.grant(&granted).unwrap();
        assert_eq!(g.check(&granted.join("sub/a.dcm")).unwrap(), granted.join("sub/a.dcm"));
        // A folder an export will create, under the root.
        assert_eq!(g.check(&granted.join("new/deeper")).unwrap(), granted.join("new/deeper"));
        let e = g.check(&other.join("b.dcm")).unwrap_err();
        assert!(matches!(e, AccessError::NotGranted { .. }) && e.to_string().contains("b.dcm"), "{e}");
        // A sibling whose name extends the root's is not under it.
        std::fs::create_dir_all(root.join("granted-not")).unwrap();
        assert!(g.check(&root.join("granted-not")).is_err());
        // `..` is refused even where it would land inside the root; relative paths too.
        let e = g.check(&granted.join("sub/../sub/a.dcm")).unwrap_err();
        assert!(matches!(e, AccessError::ParentDir { .. }), "{e}");
        assert!(matches!(g.check(&granted.join("../other/b.dcm")), Err(AccessError::ParentDir { .. })));
        assert!(matches!(g.check(Path::new("granted/sub/a.dcm")), Err(AccessError::Relative { .. })));
        std::fs::remove_dir_all(&root).ok();
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_a_granted_folder_is_refused() {
        let root = temp("links");
        let granted = root.join("granted");
        let secret = root.join("secret");
        std::fs::create_dir_all(&granted).unwrap();
        std::fs::create_dir_all(&secret).unwrap();
        std::fs::write(secret.join("key"), b"x").unwrap();
        std::os::unix::fs::symlink(&secret, granted.join("link")).unwrap();
        let g = Grants::default();
        g.grant(&granted).unwrap();
        assert!(matches!(g.check(&granted.join("link/key")), Err(AccessError::NotGranted { .. })));
        // Granting through a link grants its target, which is then reachable by either path.
        let g2 = Grants::default();
        g2.grant(&granted.join("link")).unwrap();
        assert_eq!(g2.check(&secret.join("key")).unwrap(), secret.join("key"));
        std::fs::remove_dir_all(&root).ok();
    }
}
