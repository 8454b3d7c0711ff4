//! Names of the files in a database directory (FORMAT.md, "Files").
//!
//! ```text
//! CURRENT              name of the live manifest, one line
//! LOCK                 held while the database is open
//! MANIFEST-000005      version edits (wal format)
//! 000007.log           write-ahead log
//! 000008.sst           table
//! 000009.dbtmp         a file being written, renamed into place when complete
//! ```

use std::path::{Path, PathBuf};

/// What a file in the database directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `CURRENT`.
    Current,
    /// `LOCK`.
    Lock,
    /// `MANIFEST-<n>`.
    Manifest(u64),
    /// `<n>.log`.
    Wal(u64),
    /// `<n>.sst`.
    Table(u64),
    /// `<n>.dbtmp`.
    Temp(u64),
}

/// Path of `CURRENT`.
pub fn current(dir: &Path) -> PathBuf {
    dir.join("CURRENT")
}

/// Path of `LOCK`.
pub fn lock(dir: &Path) -> PathBuf {
    dir.join("LOCK")
}

/// File name (not path) of manifest `n`.
pub fn manifest_name(n: u64) -> String {
    format!("MANIFEST-{n:06}")
}

/// Path of manifest `n`.
pub fn manifest(dir: &Path, n: u64) -> PathBuf {
    dir.join(manifest_name(n))
}

/// Path of WAL `n`.
pub fn wal(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:06}.log"))
}

/// Path of table `n`.
pub fn table(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:06}.sst"))
}

/// Path of temporary file `n`.
pub fn temp(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:06}.dbtmp"))
}

/// Classifies a file name; `None` for files that are not the engine's.
pub fn parse(name: &str) -> Option<FileKind> {
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match name {
        "CURRENT" => Some(FileKind::Current),
        "LOCK" => Some(FileKind::Lock),
        _ => {
            if let Some(n) = name.strip_prefix("MANIFEST-") {
                return number(n).map(FileKind::Manifest);
            }
            let (stem, ext) = name.rsplit_once('.')?;
            let n = number(stem)?;
            match ext {
                "log" => Some(FileKind::Wal(n)),
                "sst" => Some(FileKind::Table(n)),
                "dbtmp" => Some(FileKind::Temp(n)),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roundtrip_through_parse() {
        let dir = Path::new("/db");
        for (path, kind) in [
            (current(dir), FileKind::Current),
            (lock(dir), FileKind::Lock),
            (manifest(dir, 5), FileKind::Manifest(5)),
            (wal(dir, 7), FileKind::Wal(7)),
            (table(dir, 1_234_567), FileKind::Table(1_234_567)),
            (temp(dir, 9), FileKind::Temp(9)),
        ] {
            let name = path.file_name().unwrap().to_str().unwrap();
            assert_eq!(parse(name), Some(kind), "{name}");
        }
        for other in [
            "x.sst",
            "12.txt",
            "MANIFEST-",
            "MANIFEST-1x",
            ".log",
            "-1.log",
            "LOCKS",
        ] {
            assert_eq!(parse(other), None, "{other}");
        }
    }
}
