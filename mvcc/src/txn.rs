//! `MvccTxn`: the modifications one transaction action makes, collected and never applied
//! here. The caller writes `into_modifies()` as one atomic batch, so an action's effects are
//! all or nothing, and actions stay pure functions of (snapshot, request) → modifications.
//!
//! Keys passed in are encoded user keys without a timestamp; this type appends timestamps
//! for the `default` and `write` column families.

use crate::engine::{Cf, Modify};
use crate::key::Key;
use crate::lock::Lock;
use crate::timestamp::TimeStamp;
use crate::write::Write;

/// A buffer of modifications by the transaction that started at `start_ts`.
#[derive(Debug, Clone)]
pub struct MvccTxn {
    /// The transaction's start ts (for the caller's bookkeeping; records carry their own).
    pub start_ts: TimeStamp,
    modifies: Vec<Modify>,
    /// Bytes of keys and values collected: lets commands cap batch sizes.
    write_size: usize,
}

impl MvccTxn {
    /// An empty buffer.
    pub fn new(start_ts: TimeStamp) -> MvccTxn {
        MvccTxn {
            start_ts,
            modifies: Vec::new(),
            write_size: 0,
        }
    }

    fn push(&mut self, m: Modify) {
        self.write_size += m.size();
        self.modifies.push(m);
    }

    /// Writes `lock` on `key`.
    pub fn put_lock(&mut self, key: Key, lock: &Lock) {
        self.push(Modify::Put {
            cf: Cf::Lock,
            key: key.into_encoded(),
            value: lock.to_bytes(),
        });
    }

    /// Removes the lock on `key`.
    pub fn unlock_key(&mut self, key: Key) {
        self.push(Modify::Delete {
            cf: Cf::Lock,
            key: key.into_encoded(),
        });
    }

    /// Stores a value too long to inline, at `key + ts` (ts = the transaction's start ts).
    pub fn put_value(&mut self, key: Key, ts: TimeStamp, value: Vec<u8>) {
        self.push(Modify::Put {
            cf: Cf::Default,
            key: key.append_ts(ts).into_encoded(),
            value,
        });
    }

    /// Removes the value at `key + ts`.
    pub fn delete_value(&mut self, key: Key, ts: TimeStamp) {
        self.push(Modify::Delete {
            cf: Cf::Default,
            key: key.append_ts(ts).into_encoded(),
        });
    }

    /// Writes `write` at `key + ts` (ts = commit ts; start ts for rollbacks).
    pub fn put_write(&mut self, key: Key, ts: TimeStamp, write: &Write) {
        self.push(Modify::Put {
            cf: Cf::Write,
            key: key.append_ts(ts).into_encoded(),
            value: write.to_bytes(),
        });
    }

    /// Removes the write record at `key + ts`.
    pub fn delete_write(&mut self, key: Key, ts: TimeStamp) {
        self.push(Modify::Delete {
            cf: Cf::Write,
            key: key.append_ts(ts).into_encoded(),
        });
    }

    /// The modifications so far, in order.
    pub fn modifies(&self) -> &[Modify] {
        &self.modifies
    }

    /// Bytes of keys and values collected.
    pub fn write_size(&self) -> usize {
        self.write_size
    }

    /// True if nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.modifies.is_empty()
    }

    /// The modifications, for the caller to write as one batch.
    pub fn into_modifies(self) -> Vec<Modify> {
        self.modifies
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::LockType;
    use crate::write::WriteType;

    #[test]
    fn collects_encoded_modifications_in_order() {
        let k = Key::from_raw(b"k");
        let mut txn = MvccTxn::new(5.into());
        assert!(txn.is_empty());
        let lock = Lock::new(LockType::Put, b"k".to_vec(), 5.into(), 10);
        txn.put_lock(k.clone(), &lock);
        txn.put_value(k.clone(), 5.into(), b"value".to_vec());
        txn.put_write(
            k.clone(),
            7.into(),
            &Write::new(WriteType::Put, 5.into(), None),
        );
        txn.unlock_key(k.clone());
        txn.delete_value(k.clone(), 5.into());
        txn.delete_write(k.clone(), 7.into());
        let at = |ts: u64| k.clone().append_ts(ts.into()).into_encoded();
        let expected = vec![
            Modify::Put {
                cf: Cf::Lock,
                key: k.as_encoded().to_vec(),
                value: lock.to_bytes(),
            },
            Modify::Put {
                cf: Cf::Default,
                key: at(5),
                value: b"value".to_vec(),
            },
            Modify::Put {
                cf: Cf::Write,
                key: at(7),
                value: vec![b'P', 5],
            },
            Modify::Delete {
                cf: Cf::Lock,
                key: k.as_encoded().to_vec(),
            },
            Modify::Delete {
                cf: Cf::Default,
                key: at(5),
            },
            Modify::Delete {
                cf: Cf::Write,
                key: at(7),
            },
        ];
        assert_eq!(
            txn.write_size(),
            expected.iter().map(Modify::size).sum::<usize>()
        );
        assert_eq!(txn.into_modifies(), expected);
    }
}
