//! Unique ids for stores, regions and peers (PD's `AllocID`), never repeated across restarts.
//!
//! Ids are reserved in batches: the end of the current batch is saved durably before any id
//! in it is handed out, and a restart continues after the saved end (the unused rest of a
//! batch is skipped, as in PD). Pure logic with a `persist` callback; the caller serialises.
//!
//! Invariant: every id handed out is `<= bound`, and `bound` was saved before it was.

/// Ids reserved per durable write.
const BATCH: u64 = 1_000;

/// The allocator's state.
#[derive(Debug)]
pub(crate) struct IdAllocator {
    /// The last id handed out (or the restart floor); ids start at 1.
    last: u64,
    /// The saved end of the current batch.
    bound: u64,
}

impl IdAllocator {
    /// The allocator after (re)start, given the bound saved by the previous run (0 if none).
    pub fn recover(saved_bound: u64) -> Self {
        IdAllocator {
            last: saved_bound,
            bound: saved_bound,
        }
    }

    /// The next id.
    ///
    /// # Errors
    /// What `persist` returns when a new batch had to be saved (the state is then unchanged);
    /// `Pd` if the id space is exhausted.
    pub fn alloc(&mut self, persist: impl FnOnce(u64) -> crate::Result<()>) -> crate::Result<u64> {
        if self.last == self.bound {
            let bound = self
                .bound
                .checked_add(BATCH)
                .ok_or_else(|| crate::Error::Pd("id space exhausted".into()))?;
            persist(bound)?;
            self.bound = bound;
        }
        self.last += 1;
        Ok(self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_across_restarts_and_saved_per_batch() {
        let mut saved = 0;
        let mut saves = 0;
        let mut a = IdAllocator::recover(0);
        let mut seen = Vec::new();
        for _ in 0..1_500 {
            seen.push(
                a.alloc(|b| {
                    saved = b;
                    saves += 1;
                    Ok(())
                })
                .unwrap(),
            );
        }
        assert_eq!(seen[0], 1);
        assert_eq!(saves, 2);
        assert!(seen.iter().all(|id| *id <= saved));
        let mut b = IdAllocator::recover(saved);
        let next = b.alloc(|_| Ok(())).unwrap();
        assert!(next > *seen.last().unwrap());
        assert_eq!(next, saved + 1);
    }

    #[test]
    fn failed_save_hands_out_nothing() {
        let mut a = IdAllocator::recover(0);
        assert!(a.alloc(|_| Err(crate::Error::Pd("disk".into()))).is_err());
        assert_eq!(a.alloc(|_| Ok(())).unwrap(), 1);
    }
}
