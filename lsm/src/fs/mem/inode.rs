//! One in-memory file's data, apart from the names that refer to it (a POSIX inode): what
//! reads see now, what would survive a power loss, and what a crash leaves of the difference.

use std::ops::Range;

use crate::fs::faults::{CrashMode, Rng};

/// A file's contents with its durable image.
///
/// Invariants:
/// 1. `durable` is exactly the contents at the last successful `sync`, or what the last crash
///    left (after a crash, what is on the "disk" is durable by definition).
/// 2. If `durable_is_prefix`, `live` starts with `durable`: the file only grew since the sync,
///    so the unsynced tail is `live[durable.len()..]`. It is false only after a truncating
///    `create` of a file whose durable image is not empty.
/// 3. `last_write`, if set, lies within `live`.
#[derive(Debug)]
pub(super) struct Inode {
    /// What reads see now.
    pub(super) live: Vec<u8>,
    /// What survives a crash (invariant 1).
    durable: Vec<u8>,
    /// Lets a sync copy only the new tail instead of the whole file (invariant 2).
    durable_is_prefix: bool,
    /// Where the most recent write landed in `live`, for [`CrashMode::TearLastWrite`].
    last_write: Option<Range<usize>>,
    /// Open writable handles. An inode no name refers to stays alive while one is open, as
    /// an unlinked file does while a process holds it open.
    pub(super) writers: usize,
}

impl Inode {
    pub(super) fn new() -> Inode {
        Inode {
            live: Vec::new(),
            durable: Vec::new(),
            durable_is_prefix: true,
            last_write: None,
            writers: 0,
        }
    }

    /// Empties the live contents (`create` of an existing file: O_TRUNC). The durable image
    /// stays until the next sync: after a crash the file may still hold its old bytes.
    pub(super) fn truncate(&mut self) {
        self.live.clear();
        self.durable_is_prefix = self.durable.is_empty();
        self.last_write = None;
    }

    /// Appends `buf` to the live contents.
    pub(super) fn append(&mut self, buf: &[u8]) {
        let start = self.live.len();
        self.live.extend_from_slice(buf);
        self.last_write = Some(start..self.live.len());
    }

    /// Makes the live contents durable.
    pub(super) fn sync(&mut self) {
        if self.durable_is_prefix {
            if let Some(tail) = self.live.get(self.durable.len()..) {
                self.durable.extend_from_slice(tail);
                return;
            }
        }
        self.durable.clone_from(&self.live);
        self.durable_is_prefix = true;
    }

    /// Replaces the live contents with what survives a crash under `mode`, which then is
    /// also the durable image. Every handle is gone after a crash, hence `writers = 0`.
    /// `rng` is the crash's generator (seeded from the mode), shared by all files in turn.
    pub(super) fn crash(&mut self, mode: CrashMode, rng: &mut Rng) {
        // After a truncation the durable image is not a prefix of the live contents; there is
        // no well-defined "unsynced tail" then, and we keep just the durable image.
        let tail = if self.durable_is_prefix {
            self.live.get(self.durable.len()..).unwrap_or_default()
        } else {
            &[]
        };
        let mut image = std::mem::take(&mut self.durable);
        let synced_len = image.len();
        match mode {
            CrashMode::KeepRandomPrefix { .. } => {
                let keep = rng.up_to(tail.len());
                image.extend_from_slice(tail.get(..keep).unwrap_or_default());
            }
            CrashMode::TearLastWrite { .. } => {
                image.extend_from_slice(tail);
                if let Some(write) = &self.last_write {
                    // Only the part of the last write after the synced image may be torn.
                    let start = write.start.max(synced_len);
                    if start < write.end {
                        let torn = 1 + rng.up_to(write.end - start - 1);
                        let zeros = rng.next_u64() & 1 == 0;
                        for b in image
                            .get_mut(write.end - torn..write.end)
                            .unwrap_or_default()
                        {
                            *b = if zeros { 0 } else { rng.next_u64() as u8 };
                        }
                    }
                }
            }
            CrashMode::DropUnsynced => {}
        }
        self.live.clone_from(&image);
        self.durable = image;
        self.durable_is_prefix = true;
        self.last_write = None;
        self.writers = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_after_truncate_replaces_the_durable_image() {
        let mut f = Inode::new();
        f.append(b"old contents");
        f.sync();
        f.truncate();
        f.append(b"new");
        f.crash(CrashMode::DropUnsynced, &mut Rng::new(0));
        assert_eq!(f.live, b"old contents");
        f.truncate();
        f.append(b"new");
        f.sync();
        f.append(b" tail");
        f.crash(CrashMode::DropUnsynced, &mut Rng::new(0));
        assert_eq!(f.live, b"new");
    }

    #[test]
    fn tear_touches_only_the_unsynced_part_of_the_last_write() {
        let mut f = Inode::new();
        f.append(b"aaaa");
        f.append(b"bbbb");
        f.sync();
        f.crash(CrashMode::TearLastWrite { seed: 1 }, &mut Rng::new(1));
        assert_eq!(f.live, b"aaaabbbb", "a fully synced write is never torn");
        f.append(&[0xAA; 64]);
        f.crash(CrashMode::TearLastWrite { seed: 1 }, &mut Rng::new(1));
        assert_eq!(f.live.len(), 72);
        assert_eq!(&f.live[..8], b"aaaabbbb");
        assert_ne!(&f.live[8..], &[0xAA; 64][..]);
    }
}
