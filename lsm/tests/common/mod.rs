//! Helpers shared by the MemFs scenario tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;

use lsm::fs::{FileSystem, MemFs, WritableFile};

/// A MemFs holding a directory `db` whose own entry is durable (its parent, the root, was
/// synced), so tests of files inside it are not confounded by the directory vanishing.
pub fn fs_with_db() -> MemFs {
    let fs = MemFs::new();
    fs.create_dir_all(Path::new("db")).unwrap();
    fs.sync_dir(Path::new("")).unwrap();
    fs
}

/// Creates `path`, writes `data`, and returns the open handle.
pub fn write_file(fs: &MemFs, path: &str, data: &[u8]) -> Box<dyn WritableFile> {
    let mut f = fs.create(Path::new(path)).unwrap();
    f.write_all(data).unwrap();
    f
}

/// Creates `path`, writes `data` and syncs it (the file's data only, not its directory).
pub fn write_synced(fs: &MemFs, path: &str, data: &[u8]) {
    let mut f = write_file(fs, path, data);
    f.sync_data().unwrap();
}

/// The live contents of `path`, or `None` if it does not exist.
pub fn read(fs: &MemFs, path: &str) -> Option<Vec<u8>> {
    fs.exists(Path::new(path))
        .then(|| fs.contents(Path::new(path)).unwrap())
}

/// Deterministic non-zero bytes, different for each seed.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8 | 1
        })
        .collect()
}
