//! The memtable's entry memory: chunks carved front to back, freed together when the memtable
//! is dropped.
//!
//! Why raw chunks rather than refcounted buffers: a skiplist node that held a `Bytes` into
//! its batch's buffer carried 32 bytes of handle (pointer, length, data, vtable) and bumped
//! a shared atomic count on every insert. A node that holds a bare pointer into memory the
//! memtable owns is 24 bytes smaller per entry (one malloc size class at every tower height),
//! so the same memtable budget holds ~15% more entries and flushes less often.
//!
//! # Safety contract (see the crate's "Unsafe code" section)
//! - Every region [`Arena::alloc`] returns is handed out once, never overlaps another, and
//!   stays allocated, at the same address, until the arena is dropped. Chunks are never moved
//!   or grown; a full chunk is left as it is and a new one started.
//! - Chunk memory is zero-initialized, so a region is valid `&mut [u8]` from the start.
//! - Pointers into regions (the memtable's entry keys) must not be dereferenced after the
//!   arena is dropped; the memtable guarantees it by owning both the arena and every holder
//!   of such a pointer (its skiplists, and cursors that keep the memtable alive).

use std::alloc::{alloc_zeroed, dealloc, handle_alloc_error, Layout};
use std::ptr::NonNull;

use parking_lot::Mutex;

/// Bytes of one chunk. Large enough that its allocation is amortized over thousands of small
/// entries and that glibc serves it with a mapping of its own (returned to the OS when
/// freed), small enough that the unused tail of a chunk is negligible.
pub(crate) const ARENA_CHUNK: usize = 256 << 10;

/// A bump allocator for bytes that live as long as it does. `alloc` may be called from many
/// threads at once; the lock is held only to move the cursor, not while bytes are written.
pub(crate) struct Arena {
    state: Mutex<Chunks>,
}

struct Chunks {
    /// Every chunk allocated, with the layout it was allocated with.
    all: Vec<(NonNull<u8>, Layout)>,
    /// The chunk being carved (a copy of one entry of `all`), and how much of it is used.
    current: Option<(NonNull<u8>, usize)>,
    used: usize,
    /// Sum of the chunks' sizes.
    allocated: usize,
}

// SAFETY: `Chunks` holds pointers to heap memory it owns exclusively (allocated in `alloc`,
// freed only in `Drop`); it is only reached through the `Mutex`, and the regions handed out
// are disjoint. Sending or sharing the arena is sharing plain bytes.
#[allow(unsafe_code)]
unsafe impl Send for Chunks {}

impl Arena {
    pub(crate) fn new() -> Self {
        Arena {
            state: Mutex::new(Chunks {
                all: Vec::new(),
                current: None,
                used: 0,
                allocated: 0,
            }),
        }
    }

    /// A fresh, zeroed region of `len` bytes, valid until the arena is dropped. Regions larger
    /// than a chunk get an allocation of their own.
    // The region is never handed out again, so the `&mut` is unique although it comes from
    // `&self` (the classic arena signature).
    #[allow(clippy::mut_from_ref)]
    pub(crate) fn alloc(&self, len: usize) -> &mut [u8] {
        let mut s = self.state.lock();
        let start = match s.current {
            Some((chunk, size)) if size - s.used >= len => {
                let at = s.used;
                s.used += len;
                (chunk, at)
            }
            _ if len > ARENA_CHUNK / 4 => (s.new_chunk(len), 0),
            _ => {
                let chunk = s.new_chunk(ARENA_CHUNK);
                s.current = Some((chunk, ARENA_CHUNK));
                s.used = len;
                (chunk, 0)
            }
        };
        drop(s);
        let (chunk, at) = start;
        // SAFETY: `chunk` is a live allocation of at least `at + len` bytes (checked above or
        // just allocated with that size), zero-initialized, and the range `at..at + len` was
        // reserved under the lock for this call alone, so no other reference to it exists.
        #[allow(unsafe_code)]
        unsafe {
            std::slice::from_raw_parts_mut(chunk.as_ptr().add(at), len)
        }
    }

    /// Bytes allocated from the system so far.
    #[cfg(test)]
    pub(crate) fn allocated(&self) -> usize {
        self.state.lock().allocated
    }
}

impl Chunks {
    /// Allocates and records a zeroed chunk of `size` bytes (at least one).
    fn new_chunk(&mut self, size: usize) -> NonNull<u8> {
        let layout = Layout::from_size_align(size.max(1), 8)
            .unwrap_or_else(|_| handle_alloc_error(Layout::new::<u64>()));
        // SAFETY: `layout` has a non-zero size.
        #[allow(unsafe_code)]
        let ptr = unsafe { alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(ptr) else {
            handle_alloc_error(layout)
        };
        self.all.push((ptr, layout));
        self.allocated += layout.size();
        ptr
    }
}

impl Drop for Chunks {
    fn drop(&mut self) {
        for (ptr, layout) in self.all.drain(..) {
            // SAFETY: allocated in `new_chunk` with exactly this layout, freed once (drained).
            #[allow(unsafe_code)]
            unsafe {
                dealloc(ptr.as_ptr(), layout)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn regions_are_disjoint_zeroed_and_stable() {
        let arena = Arena::new();
        let mut regions = Vec::new();
        for i in 0..5000usize {
            let len = 1 + i % 300;
            let r = arena.alloc(len);
            assert!(r.iter().all(|&b| b == 0));
            r.fill((i % 251) as u8);
            regions.push((r.as_ptr() as usize, len, (i % 251) as u8));
        }
        // Nothing was overwritten by later regions, and no two regions overlap.
        for &(addr, len, fill) in &regions {
            let bytes = read_back(addr, len);
            assert!(bytes.iter().all(|&b| b == fill));
        }
        regions.sort();
        for w in regions.windows(2) {
            assert!(w[0].0 + w[0].1 <= w[1].0);
        }
        let total: usize = regions.iter().map(|r| r.1).sum();
        assert!(arena.allocated() >= total);
        assert!(arena.allocated() < total + 2 * ARENA_CHUNK);
    }

    /// A copy of the region at `addr`; the caller passes a live region of this test's arena.
    fn read_back(addr: usize, len: usize) -> Vec<u8> {
        // SAFETY: the caller passes the address and length of a live region.
        #[allow(unsafe_code)]
        unsafe {
            std::slice::from_raw_parts(addr as *const u8, len).to_vec()
        }
    }

    #[test]
    fn large_regions_get_their_own_allocation_and_keep_the_chunk() {
        let arena = Arena::new();
        let a = arena.alloc(10).as_ptr() as usize;
        let big = arena.alloc(ARENA_CHUNK * 3);
        assert_eq!(big.len(), ARENA_CHUNK * 3);
        big.fill(7);
        // The current chunk continues right after the first region.
        let b = arena.alloc(10).as_ptr() as usize;
        assert_eq!(b, a + 10);
        assert_eq!(arena.allocated(), ARENA_CHUNK * 4);
    }

    #[test]
    fn concurrent_allocations_do_not_overlap() {
        let arena = Arc::new(Arena::new());
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                let arena = Arc::clone(&arena);
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    for i in 0..20_000usize {
                        let r = arena.alloc(1 + i % 100);
                        r.fill(t + 1);
                        mine.push((r.as_ptr() as usize, r.len()));
                    }
                    mine
                })
            })
            .collect();
        let mut all: Vec<(usize, usize, u8)> = Vec::new();
        for (t, h) in threads.into_iter().enumerate() {
            for (addr, len) in h.join().unwrap() {
                all.push((addr, len, t as u8 + 1));
            }
        }
        for &(addr, len, fill) in &all {
            assert!(read_back(addr, len).iter().all(|&b| b == fill));
        }
        all.sort();
        for w in all.windows(2) {
            assert!(w[0].0 + w[0].1 <= w[1].0);
        }
    }
}
