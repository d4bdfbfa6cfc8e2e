//! What `POST api/runs {"input": "<path>"}` may load: the server's own `--input`, or a
//! file or folder inside a folder the operator allowed (`--allow-input DIR`, by default
//! the `--watch` inbox). Anything else is refused before the file system is asked about
//! it, so the API can neither read a file the server happens to see nor tell whether it
//! exists.
//!
//! The check runs in two steps. First lexically, with no I/O at all: no `..`, and an
//! absolute path must lie under an allowed folder (a relative one is taken inside the
//! first). Only a path that passes is canonicalized, and the real path is checked again,
//! so that a symlink inside an allowed folder cannot lead out of it; for a folder, each
//! `*.csv` in it is checked the same way. Every refusal has the same text, whatever the
//! file system holds.

use std::path::{Component, Path, PathBuf};

use super::error::clip;

/// How much of a refused path the refusal quotes.
const QUOTED_PATH_CHARS: usize = 120;

#[derive(Debug, thiserror::Error)]
pub enum InputPolicyError {
    #[error("--allow-input {0}: not a folder the server can read ({1}); create it or pass another")]
    BadFolder(PathBuf, std::io::Error),
}

/// A request for an input that is not allowed, or does not exist (the two are not told
/// apart on purpose).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the run API loads only this server's --input or files inside the folders it allows \
     (--allow-input DIR; by default the --watch inbox): `{0}` is not one of them, or does not exist"
)]
pub struct Refused(String);

impl Refused {
    fn of(requested: &Path) -> Self {
        Self(clip(&requested.to_string_lossy(), QUOTED_PATH_CHARS))
    }
}

/// The inputs a run started over the API may load.
#[derive(Clone, Debug, Default)]
pub struct AllowedInputs {
    /// The server's `--input`, as given and made absolute (neither is checked on disk:
    /// it may only appear later, and the operator chose it).
    configured: Option<(PathBuf, PathBuf)>,
    /// Each allowed folder as given (made absolute) and canonical.
    folders: Vec<(PathBuf, PathBuf)>,
}

impl AllowedInputs {
    /// Only `configured` (or nothing) may be loaded.
    pub fn only(configured: Option<PathBuf>) -> Self {
        Self {
            configured: configured.map(|c| {
                let abs = absolute(&c);
                (c, abs)
            }),
            folders: Vec::new(),
        }
    }

    /// `configured` and anything inside `folders`, which must exist (checked now, once:
    /// they are the operator's, not a request's).
    pub fn new(configured: Option<PathBuf>, folders: &[PathBuf]) -> Result<Self, InputPolicyError> {
        let mut allowed = Self::only(configured);
        for folder in folders {
            let canonical = folder
                .canonicalize()
                .and_then(|c| {
                    if c.is_dir() {
                        Ok(c)
                    } else {
                        Err(std::io::Error::other("not a directory"))
                    }
                })
                .map_err(|e| InputPolicyError::BadFolder(folder.clone(), e))?;
            allowed.folders.push((absolute(folder), canonical));
        }
        Ok(allowed)
    }

    /// The folders requests may name files in (canonical), for the log.
    pub fn folders(&self) -> impl Iterator<Item = &Path> {
        self.folders.iter().map(|(_, c)| c.as_path())
    }

    /// What to load for `requested`, or why not.
    pub fn resolve(&self, requested: &Path) -> Result<PathBuf, Refused> {
        let refused = || Refused::of(requested);
        // Lexical checks first: nothing below touches the file system until they pass.
        if requested.as_os_str().is_empty()
            || requested
                .components()
                .any(|c| matches!(c, Component::ParentDir | Component::Prefix(_)))
        {
            return Err(refused());
        }
        if let Some((given, abs)) = &self.configured
            && (same(requested, given) || same(requested, abs))
        {
            return Ok(given.clone());
        }
        let candidate = if requested.is_absolute() {
            let inside = self.folders.iter().any(|(abs, canonical)| {
                requested.starts_with(abs) || requested.starts_with(canonical)
            });
            if !inside {
                return Err(refused());
            }
            requested.to_path_buf()
        } else {
            match self.folders.first() {
                Some((_, canonical)) => canonical.join(requested),
                None => return Err(refused()),
            }
        };
        // Now the real path: a symlink may point anywhere.
        let real = candidate.canonicalize().map_err(|_| refused())?;
        if !self.inside(&real) {
            return Err(refused());
        }
        if real.is_dir() {
            // The pipeline loads every `*.csv` of a folder: each must stay inside too.
            let entries = std::fs::read_dir(&real).map_err(|_| refused())?;
            for entry in entries.flatten() {
                let path = entry.path();
                let csv = path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
                if csv
                    && let Ok(target) = path.canonicalize()
                    && !self.inside(&target)
                {
                    return Err(refused());
                }
            }
        }
        Ok(real)
    }

    fn inside(&self, real: &Path) -> bool {
        self.folders.iter().any(|(_, c)| real.starts_with(c))
    }
}

/// `path` made absolute against the working directory, without touching the file itself.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The same path once `.` components are dropped (`Path` equality already ignores a
/// trailing `/` and doubled separators).
fn same(a: &Path, b: &Path) -> bool {
    let strip = |p: &Path| -> PathBuf {
        p.components()
            .filter(|c| !matches!(c, Component::CurDir))
            .collect()
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, AllowedInputs) {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir_all(inbox.join("batch")).unwrap();
        std::fs::write(inbox.join("a.csv"), "x\n").unwrap();
        std::fs::write(inbox.join("batch/b.csv"), "x\n").unwrap();
        std::fs::write(dir.path().join("secret.csv"), "x\n").unwrap();
        let allowed = AllowedInputs::new(Some(PathBuf::from("events.csv")), &[inbox]).unwrap();
        (dir, allowed)
    }

    #[test]
    fn the_configured_input_and_files_inside_allowed_folders_resolve() {
        let (dir, allowed) = setup();
        let inbox = dir.path().join("inbox").canonicalize().unwrap();
        assert_eq!(
            allowed.resolve(Path::new("events.csv")),
            Ok(PathBuf::from("events.csv"))
        );
        assert_eq!(
            allowed.resolve(Path::new("./events.csv")),
            Ok(PathBuf::from("events.csv"))
        );
        assert_eq!(allowed.resolve(Path::new("a.csv")), Ok(inbox.join("a.csv")));
        assert_eq!(
            allowed.resolve(&dir.path().join("inbox/batch/b.csv")),
            Ok(inbox.join("batch/b.csv"))
        );
        assert_eq!(allowed.resolve(Path::new("batch")), Ok(inbox.join("batch")));
    }

    #[test]
    fn everything_else_is_refused_with_one_message() {
        let (dir, allowed) = setup();
        let secret = dir.path().join("secret.csv");
        let missing = dir.path().join("missing.csv");
        // The text around the quoted path (which is the request's own).
        let message = |p: &Path| {
            let text = allowed.resolve(p).unwrap_err().to_string();
            let parts: Vec<&str> = text.split('`').collect();
            assert_eq!(parts[1], &*p.to_string_lossy());
            format!("{}{}", parts[0], parts[2])
        };
        let expected = message(&secret);
        for path in [
            missing.clone(),
            PathBuf::from("/etc/shadow"),
            PathBuf::from("/proc/self/environ"),
            PathBuf::from("../secret.csv"),
            PathBuf::from("batch/../../secret.csv"),
            dir.path().join("inbox/../secret.csv"),
            PathBuf::from("nope.csv"),
            PathBuf::from(""),
        ] {
            assert_eq!(message(&path), expected, "{}", path.display());
        }
        // The refused path is quoted short and escaped.
        let long = PathBuf::from(format!("/x/{}\n", "y".repeat(5000)));
        let text = allowed.resolve(&long).unwrap_err().to_string();
        assert!(text.len() < 500 && !text.contains('\n'), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_cannot_lead_out_of_an_allowed_folder() {
        let (dir, allowed) = setup();
        let inbox = dir.path().join("inbox");
        std::os::unix::fs::symlink(dir.path().join("secret.csv"), inbox.join("link.csv")).unwrap();
        assert!(allowed.resolve(Path::new("link.csv")).is_err());
        // Nor a folder holding such a link, which the pipeline would read as part of it.
        std::fs::create_dir(inbox.join("mixed")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.csv"), inbox.join("mixed/evil.csv"))
            .unwrap();
        assert!(allowed.resolve(Path::new("mixed")).is_err());
        // A link to a folder outside.
        std::os::unix::fs::symlink(dir.path(), inbox.join("up")).unwrap();
        assert!(allowed.resolve(Path::new("up/secret.csv")).is_err());
    }

    #[test]
    fn without_allowed_folders_only_the_configured_input_resolves() {
        let allowed = AllowedInputs::only(None);
        assert!(allowed.resolve(Path::new("events.csv")).is_err());
        let allowed = AllowedInputs::only(Some(PathBuf::from("/data/events.csv")));
        assert!(allowed.resolve(Path::new("/data/events.csv")).is_ok());
        assert!(allowed.resolve(Path::new("/data/other.csv")).is_err());
    }

    #[test]
    fn an_allowed_folder_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        assert!(AllowedInputs::new(None, &[dir.path().join("nope")]).is_err());
    }
}
