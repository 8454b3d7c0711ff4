//! Process set-up for glibc's allocator: binaries that run the engine call
//! [`pin_mmap_threshold`] once, before starting threads.
//!
//! glibc serves each allocation of at least its *mmap threshold* (128 KiB) with a mapping of
//! its own, unmapped when freed. By default the threshold moves: freeing such a chunk raises
//! it to that chunk's size (up to 32 MiB). After the first memtable is dropped, its 256 KiB
//! arena chunks and compaction's large buffers are therefore carved from the heap arenas
//! instead, among the small skiplist nodes freed with them, and the heap fragments: freed
//! memory stays resident. Pinning the threshold keeps large buffers mapped, so a dropped
//! memtable's bytes go back to the OS. Measured (fillrandom + overwrite + settle, 5M keys, one
//! engine per process): Strata's peak RSS 248 → 146 MiB with the threshold pinned; the
//! commands and the other allocator settings tried are in BENCHMARKS.md.

/// glibc's default mmap threshold, pinned so it no longer rises.
pub const MMAP_THRESHOLD: usize = 128 << 10;

/// Pins glibc's mmap threshold at [`MMAP_THRESHOLD`]. Returns false where the allocator is not
/// glibc's, or if glibc refused. Call it before other threads start; it affects the whole
/// process (every allocation, not only the engine's).
pub fn pin_mmap_threshold() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let value = libc::c_int::try_from(MMAP_THRESHOLD).unwrap_or(libc::c_int::MAX);
        // SAFETY: `mallopt` takes two integers and only changes glibc's allocator parameters;
        // it has no memory-safety preconditions. (See the crate's "Unsafe code" section.)
        #[allow(unsafe_code)]
        let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, value) };
        ok == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_accepts_the_threshold_and_large_buffers_still_allocate() {
        assert!(pin_mmap_threshold());
        // Repeated: pinning twice is harmless.
        assert!(pin_mmap_threshold());
        let chunks: Vec<Vec<u8>> = (0..8).map(|i| vec![i as u8; 256 << 10]).collect();
        assert!(chunks
            .iter()
            .enumerate()
            .all(|(i, c)| c[c.len() - 1] == i as u8));
    }
}
