//! `gc`: drop the versions of one key no reader at or after the safe point can see (TiKV's
//! `actions/gc.rs`). The same policy runs inside compactions as
//! [`GcCompactionFilterFactory`](crate::GcCompactionFilterFactory).
//!
//! Every transaction that could read below the safe point has finished, so at the safe
//! point the key needs only its newest version there. Walking the key's write records from
//! the newest:
//! 1. records committed after the safe point are kept (readers above it may need them);
//! 2. at or below it, Rollback and Lock records are deleted: they only ever told readers
//!    to skip them, and no transaction that could be affected by them is still running;
//! 3. the first Put at or below it is the version readers at the safe point see: kept;
//!    the first Delete says the key had no value there: deleted itself, as nothing older
//!    will remain for it to hide;
//! 4. every record older than that version is deleted, with the value it points to in the
//!    default CF (values inlined in the record go with it).

use mvcc::{Key, MvccReader, MvccTxn, Snapshot, TimeStamp, WriteType};

use crate::error::Result;

/// What a GC of one key did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcInfo {
    /// Write records seen.
    pub found_versions: usize,
    /// Write records deleted.
    pub deleted_versions: usize,
}

/// Garbage-collects `key` at `safe_point` (module docs).
///
/// # Errors
/// Engine or corruption errors.
pub fn gc<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    key: Key,
    safe_point: TimeStamp,
) -> Result<GcInfo> {
    let mut info = GcInfo::default();
    let mut remove_older = false;
    let mut ts = TimeStamp::max();
    while let Some((commit_ts, write)) = reader.seek_write(&key, ts)? {
        info.found_versions += 1;
        if commit_ts > safe_point {
            // Rule 1: jump straight to the safe point.
            ts = safe_point;
            continue;
        }
        let delete = if remove_older {
            if write.write_type == WriteType::Put && write.short_value.is_none() {
                txn.delete_value(key.clone(), write.start_ts);
            }
            true
        } else {
            match write.write_type {
                WriteType::Put => {
                    remove_older = true;
                    false
                }
                WriteType::Delete => {
                    remove_older = true;
                    true
                }
                WriteType::Lock | WriteType::Rollback => true,
            }
        };
        if delete {
            txn.delete_write(key.clone(), commit_ts);
            info.deleted_versions += 1;
        }
        match commit_ts.checked_prev() {
            Some(prev) => ts = prev,
            None => break,
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn keeps_the_version_at_the_safe_point_and_newer_ones() {
        let s = TestStore::memory();
        let long = vec![b'x'; 300];
        must_prewrite_put(&s, b"k", &long, b"k", 5);
        must_commit(&s, b"k", 5, 6);
        must_prewrite_put(&s, b"k", b"v2", b"k", 10);
        must_commit(&s, b"k", 10, 11);
        must_rollback(&s, b"k", 12);
        must_prewrite_lock(&s, b"k", b"k", 13);
        must_commit(&s, b"k", 13, 14);
        must_prewrite_put(&s, b"k", b"v3", b"k", 20);
        must_commit(&s, b"k", 20, 21);
        let info = must_gc(&s, b"k", 15);
        // Records: 21 (kept, newer), 14 Lock, 12 Rollback, 11 Put (kept), 6 Put (old).
        assert_eq!(
            info,
            GcInfo {
                found_versions: 5,
                deleted_versions: 3
            }
        );
        must_get(&s, b"k", 15, b"v2");
        must_get(&s, b"k", 21, b"v3");
        for ts in [6, 12, 14] {
            must_not_have_write(&s, b"k", ts);
        }
        let snap = s.snapshot();
        assert!(
            MvccReader::new(&snap)
                .get_value(&Key::from_raw(b"k"), 5.into())
                .is_err(),
            "long value gone"
        );
    }

    #[test]
    fn a_delete_at_the_safe_point_goes_with_everything_older() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"k", b"v", b"k", 5);
        must_commit(&s, b"k", 5, 6);
        must_prewrite_delete(&s, b"k", b"k", 7);
        must_commit(&s, b"k", 7, 8);
        assert_eq!(must_gc(&s, b"k", 10).deleted_versions, 2);
        must_not_have_write(&s, b"k", 6);
        must_not_have_write(&s, b"k", 8);
        must_get_none(&s, b"k", 10);
        assert_eq!(must_gc(&s, b"k", 10), GcInfo::default());
    }
}
