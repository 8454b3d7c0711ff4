//! `LastChange`: where the last real change (Put or Delete) of a key is, stored on Lock-type
//! write records and on locks so readers could skip runs of Lock records.
//!
//! Strata does not write it yet; it is decoded and re-encoded so records written by TiKV (or
//! by a later Strata) survive a read-modify-write unchanged. Stored as two parts (FORMAT.md,
//! flag `l`): `ts == 0 && versions == 0` is Unknown, `ts == 0 && versions > 0` NotExist,
//! `ts > 0` Exist. TiKV writes `versions == 1` for NotExist and accepts any positive count.

use crate::timestamp::TimeStamp;

/// The position of the last Put or Delete before a record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LastChange {
    /// Not recorded (the field is omitted on disk).
    #[default]
    Unknown,
    /// The last change is at `last_change_ts`, about `estimated_versions` records older.
    Exist {
        /// Commit ts of that Put or Delete.
        last_change_ts: TimeStamp,
        /// Records to skip to reach it (an estimate).
        estimated_versions: u64,
    },
    /// The key has no earlier version, or its last change is a Delete.
    NotExist,
}

impl LastChange {
    /// The stored `(ts, versions)` parts; `None` for Unknown (nothing stored).
    pub(crate) fn to_parts(&self) -> Option<(TimeStamp, u64)> {
        match self {
            LastChange::Unknown => None,
            LastChange::Exist {
                last_change_ts,
                estimated_versions,
            } => Some((*last_change_ts, *estimated_versions)),
            LastChange::NotExist => Some((TimeStamp::zero(), 1)),
        }
    }

    /// Interprets stored parts. (TiKV asserts `versions > 0` when `ts > 0`; a stored Exist
    /// with 0 versions is kept as Exist rather than refused, since it is only a hint.)
    pub(crate) fn from_parts(ts: TimeStamp, versions: u64) -> LastChange {
        match (ts.is_zero(), versions) {
            (true, 0) => LastChange::Unknown,
            (true, _) => LastChange::NotExist,
            (false, _) => LastChange::Exist {
                last_change_ts: ts,
                estimated_versions: versions,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_round_trip() {
        for lc in [
            LastChange::NotExist,
            LastChange::Exist {
                last_change_ts: 7.into(),
                estimated_versions: 3,
            },
        ] {
            let (ts, v) = lc.to_parts().unwrap();
            assert_eq!(LastChange::from_parts(ts, v), lc);
        }
        assert_eq!(LastChange::Unknown.to_parts(), None);
        assert_eq!(LastChange::from_parts(0.into(), 0), LastChange::Unknown);
        assert_eq!(LastChange::from_parts(0.into(), 5), LastChange::NotExist);
    }
}
