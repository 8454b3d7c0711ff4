//! What [`MemFs`](super::MemFs) can be told to do wrong: fail calls on demand, and how a
//! simulated crash treats the data that was written but not synced.
//!
//! Everything here is deterministic: a fault fires on an exact call count, and the random
//! crash modes draw from a seeded xorshift generator, so a failing test replays exactly.

use std::io;

/// When an injectable call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fail {
    /// The call behaves normally.
    #[default]
    Never,
    /// The next `n` calls fail, then calls succeed again.
    Next(u64),
    /// Every call fails from now on (until the fault is changed).
    Always,
}

impl Fail {
    /// Consumes one call: true if this call must fail.
    pub(crate) fn fire(&mut self) -> bool {
        match *self {
            Fail::Never => false,
            Fail::Always => true,
            Fail::Next(0) => {
                *self = Fail::Never;
                false
            }
            Fail::Next(n) => {
                *self = if n == 1 {
                    Fail::Never
                } else {
                    Fail::Next(n - 1)
                };
                true
            }
        }
    }
}

/// What a simulated crash does with each file's unsynced tail: the bytes written to it since
/// its last successful `sync_data`.
///
/// Only that tail is ever touched: the bytes at the last sync survive in every mode, and
/// directory changes are reverted to the last `sync_dir` in every mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrashMode {
    /// The unsynced tail is lost entirely: each file is exactly its last synced image.
    #[default]
    DropUnsynced,
    /// A random prefix (possibly empty, possibly all) of each unsynced tail survives, as when
    /// the kernel had written back some of the dirty pages.
    KeepRandomPrefix {
        /// Seeds the choice of prefix lengths; the same seed on the same state gives the same
        /// result.
        seed: u64,
    },
    /// The unsynced tail survives, but the unsynced part of the file's last write is torn:
    /// a random number (at least one) of its final bytes are replaced by zeros or garbage,
    /// as when a sector was only partly written when the power failed.
    TearLastWrite {
        /// Seeds the torn length and the garbage.
        seed: u64,
    },
}

/// The injectable failures of one `MemFs`, shared by all its handles.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// `WritableFile::sync_data`.
    pub(crate) sync_data: Fail,
    /// `FileSystem::sync_dir`.
    pub(crate) sync_dir: Fail,
    /// `FileSystem::rename`.
    pub(crate) rename: Fail,
    /// Bytes that writes (to all files together) may still store before failing with
    /// `StorageFull`; `None` is unlimited.
    pub(crate) write_budget: Option<u64>,
}

/// The error every injected failure returns; `what` names the call.
pub(crate) fn injected(what: &str) -> io::Error {
    io::Error::other(format!("MemFs: injected {what} failure"))
}

/// A xorshift64* generator: tiny, deterministic, and good enough to pick lengths and garbage.
#[derive(Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        // One splitmix64 step, so nearby seeds give unrelated streams and seed 0 (a fixed point
        // of xorshift) is usable.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 1 } else { z })
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..=max`.
    pub(crate) fn up_to(&mut self, max: usize) -> usize {
        // `max + 1` cannot overflow for any length of bytes held in memory.
        (self.next_u64() % (max as u64 + 1)) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_counts_down_then_stops() {
        let mut f = Fail::Next(2);
        assert!(f.fire());
        assert!(f.fire());
        assert!(!f.fire());
        assert_eq!(f, Fail::Never);
        let mut a = Fail::Always;
        assert!(a.fire() && a.fire());
        assert!(!Fail::Next(0).fire());
    }

    #[test]
    fn rng_is_deterministic_and_bounded() {
        let (mut a, mut b) = (Rng::new(0), Rng::new(0));
        for _ in 0..100 {
            let x = a.up_to(7);
            assert_eq!(x, b.up_to(7));
            assert!(x <= 7);
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }
}
