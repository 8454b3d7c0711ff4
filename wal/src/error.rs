//! The crate's one error type. Corruption (the bytes are wrong) is always a
//! distinct variant from I/O (the device or OS failed), because the engine
//! reacts differently: corruption is a recovery decision, I/O is fatal or
//! retried by the caller, and a poisoned writer means the log is abandoned.

use std::fmt;
use std::io;

use crate::format::FragmentType;

/// `std::result::Result` with this crate's [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong reading or writing a log.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The underlying file or reader failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The log's bytes do not frame valid records (only returned in
    /// [`RecoveryMode::Absolute`](crate::RecoveryMode::Absolute)).
    #[error(transparent)]
    Corruption(#[from] Corruption),
    /// An earlier write or sync on this writer failed. The file tail (after a
    /// partial write) or the page cache (after a failed fsync) is in an
    /// unknown state, so the writer refuses all further work instead of
    /// retrying: the engine must treat the log as lost from the last
    /// successful sync and start a new one.
    #[error(
        "log writer is poisoned by an earlier failed write or sync; the log must be abandoned"
    )]
    Poisoned,
}

/// Where and why a log stopped making sense.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("wal {file}: corruption at offset {offset}: {reason}")]
pub struct Corruption {
    /// The log's name as given to [`Reader::new`](crate::Reader::new).
    pub file: String,
    /// File offset of the damage: the fragment header (or zero region, or
    /// end of file) where the reader gave up. Not necessarily where the last
    /// good record ends; see
    /// [`Reader::last_record_end`](crate::Reader::last_record_end) for that.
    pub offset: u64,
    /// What exactly was wrong.
    pub reason: CorruptionReason,
}

/// The kinds of damage the reader recognises. New kinds may be added.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorruptionReason {
    /// The stored checksum does not match the type byte and payload.
    ChecksumMismatch {
        /// The checksum stored in the header.
        expected: u32,
        /// The checksum computed over what is on disk.
        actual: u32,
    },
    /// The length field points past the end of the block: no writer
    /// produces that.
    BadLength {
        /// The length field.
        length: u16,
        /// Payload bytes left in the block after the header.
        available: usize,
    },
    /// The checksum is right but the type byte is not one we know: written
    /// by a newer format version, or a bug.
    UnknownType(u8),
    /// An all-zero header: preallocated or never-written space, typically
    /// the tail of a log after a crash.
    ZeroFilled,
    /// The file ends inside a fragment (header or payload).
    TruncatedFragment {
        /// Bytes the fragment needs (header, or header plus payload).
        expected: usize,
        /// Bytes present before the end of the file.
        available: usize,
    },
    /// A MIDDLE or LAST fragment with no FIRST before it.
    OrphanFragment(FragmentType),
    /// A FULL or FIRST fragment while a multi-fragment record was open.
    UnterminatedRecord {
        /// Where the interrupted record started.
        record_start: u64,
        /// The fragment that interrupted it.
        found: FragmentType,
    },
    /// The file ends after a FIRST or MIDDLE fragment.
    TruncatedRecord {
        /// Where the incomplete record started.
        record_start: u64,
    },
}

impl fmt::Display for CorruptionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ChecksumMismatch { expected, actual } => {
                write!(
                    f,
                    "checksum mismatch (expected {expected:#010x}, got {actual:#010x})"
                )
            }
            Self::BadLength { length, available } => write!(
                f,
                "fragment length {length} exceeds the {available} bytes left in its block"
            ),
            Self::UnknownType(t) => write!(f, "unknown fragment type {t}"),
            Self::ZeroFilled => f.write_str("zero-filled region (preallocated or never written)"),
            Self::TruncatedFragment {
                expected,
                available,
            } => write!(
                f,
                "file ends inside a fragment ({available} of {expected} bytes present)"
            ),
            Self::OrphanFragment(t) => write!(f, "{t} fragment without a preceding FIRST"),
            Self::UnterminatedRecord {
                record_start,
                found,
            } => write!(
                f,
                "{found} fragment inside the unfinished record started at offset {record_start}"
            ),
            Self::TruncatedRecord { record_start } => write!(
                f,
                "file ends inside the record started at offset {record_start}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corruption_display() {
        let c = Corruption {
            file: "000012.log".into(),
            offset: 65543,
            reason: CorruptionReason::ChecksumMismatch {
                expected: 0xdead_beef,
                actual: 0x1234,
            },
        };
        assert_eq!(
            c.to_string(),
            "wal 000012.log: corruption at offset 65543: \
             checksum mismatch (expected 0xdeadbeef, got 0x00001234)"
        );
        // Wrapping in Error keeps the message intact.
        assert_eq!(Error::from(c.clone()).to_string(), c.to_string());
    }

    #[test]
    fn reasons_display() {
        let r = CorruptionReason::OrphanFragment(FragmentType::Middle);
        assert_eq!(r.to_string(), "MIDDLE fragment without a preceding FIRST");
        let r = CorruptionReason::UnterminatedRecord {
            record_start: 10,
            found: FragmentType::Full,
        };
        assert_eq!(
            r.to_string(),
            "FULL fragment inside the unfinished record started at offset 10"
        );
    }

    #[test]
    fn io_is_distinct_from_corruption() {
        let e = Error::from(io::Error::other("disk on fire"));
        assert!(matches!(e, Error::Io(_)));
        assert_eq!(e.to_string(), "disk on fire");
    }
}
