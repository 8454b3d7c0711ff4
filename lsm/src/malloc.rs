//! glibc's allocator: the process set-up binaries that run the engine call once
//! ([`pin_mmap_threshold`], before starting threads), and the engine's return of freed heap
//! memory after background work ([`release_free_memory`]).
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

/// Returns the free pages inside glibc's heaps to the OS (`malloc_trim(0)`): every arena's,
/// not only the top of each. Returns false where the allocator is not glibc's or nothing was
/// released.
///
/// Why the engine calls it after each flush and compaction (`Options::release_freed_memory`):
/// glibc gives each thread that allocates its own arena, and frees only the top of a heap
/// back to the OS. A dropped memtable's skiplist nodes and a compaction's buffers are freed
/// between blocks the cache still holds, so without this the freed pages stay resident.
/// Measured (fillrandom + settle + readwhilewriting, 5M keys, `strata-bench engine`): Strata's
/// peak RSS 259 → 223 MiB, at ~14 ms a call; the figures are in BENCHMARKS.md.
///
/// Cost: glibc walks each arena's free chunks with that arena locked, so a thread allocating
/// in it waits; the engine counts the time spent here in its statistics.
pub fn release_free_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `malloc_trim` takes an integer and only returns free memory of glibc's own
        // heaps to the OS, under glibc's arena locks; it touches no memory it was given.
        // (See the crate's "Unsafe code" section.)
        #[allow(unsafe_code)]
        let released = unsafe { libc::malloc_trim(0) };
        released == 1
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

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn freed_small_allocations_go_back_and_the_heap_stays_usable() {
        // Many small allocations, every other one kept: the freed ones are holes in the
        // middle of the heap, which only a trim can return.
        let mut small: Vec<Vec<u8>> = (0..200_000).map(|i| vec![i as u8; 200]).collect();
        let kept: Vec<Vec<u8>> = small
            .drain(..)
            .enumerate()
            .filter_map(|(i, v)| (i % 64 == 0).then_some(v))
            .collect();
        assert!(release_free_memory(), "nothing was returned");
        assert!(kept.iter().enumerate().all(|(j, v)| v[0] == (j * 64) as u8));
        let again: Vec<Vec<u8>> = (0..1000).map(|i| vec![i as u8; 200]).collect();
        assert_eq!(again[999][199], (999 % 256) as u8);
    }
}
