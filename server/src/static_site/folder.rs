//! The static site's output folder: what may be replaced (only a previous export, marked
//! by [`MARKER`], or nothing), the files written into a staging folder beside it, and the
//! swap of the staging folder into place, so a failed export leaves the previous one whole.
//! The staging folder also keeps the size of each file it takes, so the size limits are
//! checked on what was really written before anything replaces the previous export.

use std::path::Path;

use super::size::{Part, SiteSize};
use super::{MARKER, StaticSiteError};
use crate::web::Bundle;

pub(super) fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> StaticSiteError + 'a {
    move |source| StaticSiteError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// `out` may be missing, empty, or a previous export; anything else is the user's and stays.
pub(super) fn check_output(out: &Path) -> Result<(), StaticSiteError> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(StaticSiteError::ForeignOutput(out.to_path_buf()));
    }
    let mut entries = std::fs::read_dir(out).map_err(io("reading", out))?;
    if entries.next().is_none() || out.join(MARKER).is_file() {
        return Ok(());
    }
    Err(StaticSiteError::ForeignOutput(out.to_path_buf()))
}

/// The folder the export is written to, beside `out`: deleted when dropped, so an error
/// (a refused size included) leaves nothing half-written behind.
pub(super) struct Staging {
    dir: tempfile::TempDir,
    size: SiteSize,
}

impl Staging {
    pub(super) fn new_in(parent: &Path) -> Result<Self, StaticSiteError> {
        let dir = tempfile::Builder::new()
            .prefix(".heymax-export-")
            .tempdir_in(parent)
            .map_err(io("creating a staging folder in", parent))?;
        Ok(Staging {
            dir,
            size: SiteSize::default(),
        })
    }

    /// Writes `bytes` to `rel` (a path of `contract::paths`, relative to the site) and
    /// counts it in `part`.
    pub(super) fn write(
        &mut self,
        part: Part,
        rel: &str,
        bytes: &[u8],
    ) -> Result<(), StaticSiteError> {
        let path = self.dir.path().join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
        }
        std::fs::write(&path, bytes).map_err(io("writing", &path))?;
        self.size.add(rel, part, bytes.len() as u64);
        Ok(())
    }

    pub(super) fn size(&self) -> &SiteSize {
        &self.size
    }
}

/// The browser bundle, without its `index.html` (a template the pages replace) and
/// without the `.gz` copies made for `serve` (static hosts compress themselves).
pub(super) fn copy_bundle(bundle: &Bundle, staging: &mut Staging) -> Result<(), StaticSiteError> {
    for rel in bundle.files()? {
        if rel == "index.html" || rel.ends_with(".gz") {
            continue;
        }
        let bytes = bundle.read(&rel)?;
        staging.write(Part::Bundle, &rel, &bytes)?;
    }
    Ok(())
}

/// Renames the finished staging folder to `out`; a previous `out` is moved aside first and
/// deleted after, or moved back if the rename fails.
pub(super) fn swap_into_place(
    staging: Staging,
    out: &Path,
    parent: &Path,
) -> Result<(), StaticSiteError> {
    let old = if out.exists() {
        let old = tempfile::Builder::new()
            .prefix(".heymax-export-old-")
            .tempdir_in(parent)
            .map_err(io("creating a folder in", parent))?;
        // rename(2) replaces the empty directory `old` with `out`.
        std::fs::rename(out, old.path()).map_err(io("moving aside", out))?;
        Some(old)
    } else {
        None
    };
    let staged = staging.dir.keep();
    if let Err(e) = std::fs::rename(&staged, out) {
        if let Some(old) = &old {
            let _ = std::fs::rename(old.path(), out);
        }
        let _ = std::fs::remove_dir_all(&staged);
        return Err(io("moving the export into", out)(e));
    }
    // `old` (the previous export) is deleted when dropped here.
    drop(old);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_missing_an_empty_or_a_previous_export_folder_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("site");
        assert!(check_output(&out).is_ok(), "missing");
        std::fs::create_dir(&out).unwrap();
        assert!(check_output(&out).is_ok(), "empty");
        std::fs::write(out.join("notes.txt"), "mine").unwrap();
        assert!(matches!(
            check_output(&out),
            Err(StaticSiteError::ForeignOutput(_))
        ));
        std::fs::write(out.join(MARKER), "base /\n").unwrap();
        assert!(check_output(&out).is_ok(), "a previous export");
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(check_output(&file).is_err(), "a file");
    }

    #[test]
    fn the_staging_folder_replaces_the_previous_export_whole() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("site");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("old.html"), "old").unwrap();
        let mut staging = Staging::new_in(dir.path()).unwrap();
        staging.write(Part::Marts, "data/new.json", b"[]").unwrap();
        let report = staging.size().report();
        assert_eq!((report.files, report.total), (1, 2));
        swap_into_place(staging, &out, dir.path()).unwrap();
        assert!(!out.join("old.html").exists());
        assert_eq!(std::fs::read(out.join("data/new.json")).unwrap(), b"[]");
        // Nothing is left beside it: neither the staging folder nor the old export.
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1);
    }

    #[test]
    fn a_dropped_staging_folder_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let mut staging = Staging::new_in(dir.path()).unwrap();
        staging.write(Part::Pages, "index.html", b"<p>").unwrap();
        drop(staging);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
