//! `VersionEdit`: one change to the set of live files, as logged in the manifest.
//!
//! The manifest is a `wal`-format log whose every record is one encoded edit; replaying the
//! edits in order rebuilds the engine's file set, column families and counters. Layout
//! (FORMAT.md, "Manifest"): a sequence of fields, each `tag: varint32` followed by the tag's
//! payload. Tags are on-disk values: DO NOT CHANGE or reuse them.
//!
//! Decoding takes untrusted bytes: every length is bounds-checked, an unknown tag or a
//! truncated field is a corruption error, and nothing allocates more than the record holds.

use crate::key::{CfId, SeqNo};

/// On-disk field tags. DO NOT CHANGE.
mod tag {
    pub const COMPARATOR: u32 = 1;
    pub const LOG_NUMBER: u32 = 2;
    pub const NEXT_FILE_NUMBER: u32 = 3;
    pub const LAST_SEQUENCE: u32 = 4;
    pub const DELETED_FILE: u32 = 5;
    pub const NEW_FILE: u32 = 6;
    pub const ADD_CF: u32 = 7;
    pub const DROP_CF: u32 = 8;
    /// A new file with its entry statistics (tag 6's fields, then four counters). Written
    /// since manifest version 2; tag 6 is still read (its file's statistics are unknown).
    pub const NEW_FILE_WITH_STATS: u32 = 9;
}

/// What a table holds, counted as it is written (RocksDB's `num_entries`, `num_deletions`,
/// `raw_key_size`, `raw_value_size` properties). Compaction priority weighs deletions with it
/// ([`Version::compensated_size`](super::Version::compensated_size)). All zero when unknown
/// (a file logged by an older manifest); such a file is weighed by its size alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileStats {
    /// Point entries plus range tombstones.
    pub entries: u64,
    /// Point tombstones plus range tombstones (a subset of `entries`).
    pub deletions: u64,
    /// Bytes of the entries' internal keys, uncompressed.
    pub raw_key_bytes: u64,
    /// Bytes of the puts' values, uncompressed.
    pub raw_value_bytes: u64,
}

impl FileStats {
    /// Statistics from their four counts.
    pub const fn new(
        entries: u64,
        deletions: u64,
        raw_key_bytes: u64,
        raw_value_bytes: u64,
    ) -> Self {
        FileStats {
            entries,
            deletions,
            raw_key_bytes,
            raw_value_bytes,
        }
    }

    /// True if at least half the entries are deletions (false when unknown): such a table
    /// is weighed extra in compaction priority and moved down when nothing else is due.
    pub fn is_deletion_dense(&self) -> bool {
        self.deletions > 0 && self.deletions.saturating_mul(2) >= self.entries
    }
}

/// A table file as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// The file number; the table is `<number>.sst`.
    pub number: u64,
    /// File size in bytes.
    pub size: u64,
    /// Smallest internal key in the file.
    pub smallest: Vec<u8>,
    /// Largest internal key in the file.
    pub largest: Vec<u8>,
    /// Smallest sequence number of any entry.
    pub smallest_seq: SeqNo,
    /// Largest sequence number of any entry.
    pub largest_seq: SeqNo,
    /// Entry counts, for compaction priority.
    pub stats: FileStats,
}

/// One manifest record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionEdit {
    /// The key order's name; recorded in the first edit of every manifest.
    pub comparator: Option<String>,
    /// WAL files numbered below this hold nothing that is not in tables.
    pub log_number: Option<u64>,
    /// The next file number to hand out.
    pub next_file_number: Option<u64>,
    /// The largest sequence number written to a table or WAL that this edit covers.
    pub last_sequence: Option<SeqNo>,
    /// Files removed: (level, file number).
    pub deleted_files: Vec<(u32, u64)>,
    /// Files added: (level, file).
    pub new_files: Vec<(u32, FileMeta)>,
    /// Column families created: (id, name).
    pub added_cfs: Vec<(CfId, String)>,
    /// Column families dropped.
    pub dropped_cfs: Vec<CfId>,
}

impl VersionEdit {
    /// Appends the encoding of this edit to `out`.
    pub fn encode_to(&self, out: &mut Vec<u8>) {
        if let Some(c) = &self.comparator {
            put_varint(out, tag::COMPARATOR.into());
            put_bytes(out, c.as_bytes());
        }
        for (t, v) in [
            (tag::LOG_NUMBER, self.log_number),
            (tag::NEXT_FILE_NUMBER, self.next_file_number),
            (tag::LAST_SEQUENCE, self.last_sequence),
        ] {
            if let Some(v) = v {
                put_varint(out, t.into());
                put_varint(out, v);
            }
        }
        for &(level, number) in &self.deleted_files {
            put_varint(out, tag::DELETED_FILE.into());
            put_varint(out, level.into());
            put_varint(out, number);
        }
        for (level, f) in &self.new_files {
            put_varint(out, tag::NEW_FILE_WITH_STATS.into());
            put_varint(out, (*level).into());
            put_varint(out, f.number);
            put_varint(out, f.size);
            put_bytes(out, &f.smallest);
            put_bytes(out, &f.largest);
            put_varint(out, f.smallest_seq);
            put_varint(out, f.largest_seq);
            put_varint(out, f.stats.entries);
            put_varint(out, f.stats.deletions);
            put_varint(out, f.stats.raw_key_bytes);
            put_varint(out, f.stats.raw_value_bytes);
        }
        for (id, name) in &self.added_cfs {
            put_varint(out, tag::ADD_CF.into());
            put_varint(out, (*id).into());
            put_bytes(out, name.as_bytes());
        }
        for id in &self.dropped_cfs {
            put_varint(out, tag::DROP_CF.into());
            put_varint(out, (*id).into());
        }
    }

    /// The encoding of this edit.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out
    }

    /// Decodes one manifest record. `Err` holds the byte offset within the record and what is
    /// wrong; the caller adds the manifest's name and the record's offset.
    pub fn decode(mut src: &[u8]) -> Result<VersionEdit, (usize, String)> {
        let total = src.len();
        let mut edit = VersionEdit::default();
        while !src.is_empty() {
            let mut r = Cursor {
                src,
                consumed: total - src.len(),
            };
            let tag_at = r.consumed;
            let t = r.varint("tag")?;
            match u32::try_from(t).unwrap_or(u32::MAX) {
                tag::COMPARATOR => edit.comparator = Some(r.string("comparator")?),
                tag::LOG_NUMBER => edit.log_number = Some(r.varint("log number")?),
                tag::NEXT_FILE_NUMBER => {
                    edit.next_file_number = Some(r.varint("next file number")?)
                }
                tag::LAST_SEQUENCE => edit.last_sequence = Some(r.varint("last sequence")?),
                tag::DELETED_FILE => {
                    let level = r.level()?;
                    edit.deleted_files.push((level, r.varint("file number")?));
                }
                tag::NEW_FILE | tag::NEW_FILE_WITH_STATS => {
                    let level = r.level()?;
                    let mut f = FileMeta {
                        number: r.varint("file number")?,
                        size: r.varint("file size")?,
                        smallest: r.bytes("smallest key")?.to_vec(),
                        largest: r.bytes("largest key")?.to_vec(),
                        smallest_seq: r.varint("smallest sequence")?,
                        largest_seq: r.varint("largest sequence")?,
                        stats: FileStats::default(),
                    };
                    if t == u64::from(tag::NEW_FILE_WITH_STATS) {
                        f.stats = r.stats()?;
                    }
                    edit.new_files.push((level, f));
                }
                tag::ADD_CF => {
                    let id = r.cf()?;
                    edit.added_cfs.push((id, r.string("column family name")?));
                }
                tag::DROP_CF => edit.dropped_cfs.push(r.cf()?),
                _ => return Err((tag_at, format!("unknown manifest tag {t}"))),
            }
            src = r.src;
        }
        Ok(edit)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Reads fields from the front of a record, tracking the offset for error reports.
struct Cursor<'a> {
    src: &'a [u8],
    consumed: usize,
}

impl<'a> Cursor<'a> {
    fn varint(&mut self, what: &str) -> Result<u64, (usize, String)> {
        let mut value = 0u64;
        for (i, &b) in self.src.iter().take(10).enumerate() {
            let bits = u64::from(b & 0x7f);
            if i == 9 && bits > 1 {
                break;
            }
            value |= bits << (7 * i);
            if b < 0x80 {
                self.src = &self.src[i + 1..];
                self.consumed += i + 1;
                return Ok(value);
            }
        }
        Err((self.consumed, format!("bad or truncated varint ({what})")))
    }

    fn bytes(&mut self, what: &str) -> Result<&'a [u8], (usize, String)> {
        let len = self.varint(what)?;
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= self.src.len())
            .ok_or_else(|| {
                (
                    self.consumed,
                    format!("{what} runs past the end of the record"),
                )
            })?;
        let (b, rest) = self.src.split_at(len);
        self.src = rest;
        self.consumed += len;
        Ok(b)
    }

    fn string(&mut self, what: &str) -> Result<String, (usize, String)> {
        let at = self.consumed;
        let b = self.bytes(what)?;
        String::from_utf8(b.to_vec()).map_err(|_| (at, format!("{what} is not UTF-8")))
    }

    fn stats(&mut self) -> Result<FileStats, (usize, String)> {
        let at = self.consumed;
        let stats = FileStats {
            entries: self.varint("entry count")?,
            deletions: self.varint("deletion count")?,
            raw_key_bytes: self.varint("raw key bytes")?,
            raw_value_bytes: self.varint("raw value bytes")?,
        };
        if stats.deletions > stats.entries {
            return Err((at, "more deletions than entries".into()));
        }
        Ok(stats)
    }

    fn level(&mut self) -> Result<u32, (usize, String)> {
        let at = self.consumed;
        let v = self.varint("level")?;
        u32::try_from(v)
            .ok()
            .filter(|l| *l < 64)
            .ok_or_else(|| (at, format!("level {v} out of range")))
    }

    fn cf(&mut self) -> Result<CfId, (usize, String)> {
        let at = self.consumed;
        let v = self.varint("column family id")?;
        CfId::try_from(v).map_err(|_| (at, format!("column family id {v} out of range")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file() -> impl Strategy<Value = (u32, FileMeta)> {
        (
            0u32..7,
            any::<u64>(),
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..20),
            proptest::collection::vec(any::<u8>(), 0..20),
            any::<u64>(),
            any::<u64>(),
            (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
        )
            .prop_map(|(level, number, size, smallest, largest, s, l, c)| {
                let (entries, deletions) = (c.0.max(c.1), c.0.min(c.1));
                let f = FileMeta {
                    number,
                    size,
                    smallest,
                    largest,
                    smallest_seq: s,
                    largest_seq: l,
                    stats: FileStats {
                        entries,
                        deletions,
                        raw_key_bytes: c.2,
                        raw_value_bytes: c.3,
                    },
                };
                (level, f)
            })
    }

    fn edit() -> impl Strategy<Value = VersionEdit> {
        (
            proptest::option::of("[a-z.]{0,12}"),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            proptest::collection::vec((0u32..7, any::<u64>()), 0..4),
            proptest::collection::vec(file(), 0..4),
            proptest::collection::vec((any::<u8>(), "[a-z]{1,8}"), 0..3),
            proptest::collection::vec(any::<u8>(), 0..3),
        )
            .prop_map(|(c, log, next, last, del, new, add, drop)| VersionEdit {
                comparator: c,
                log_number: log,
                next_file_number: next,
                last_sequence: last,
                deleted_files: del,
                new_files: new,
                added_cfs: add,
                dropped_cfs: drop,
            })
    }

    proptest! {
        #[test]
        fn roundtrip(e in edit()) {
            prop_assert_eq!(VersionEdit::decode(&e.encode()), Ok(e));
        }

        #[test]
        fn damaged_records_decode_or_fail_cleanly(e in edit(), at in any::<usize>(), flip in 1u8..) {
            let mut bytes = e.encode();
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] ^= flip;
                let _ = VersionEdit::decode(&bytes);
                let _ = VersionEdit::decode(&bytes[..i]);
            }
        }
    }

    #[test]
    fn unknown_tags_and_truncation_are_reported_with_offsets() {
        let e = VersionEdit {
            log_number: Some(7),
            ..VersionEdit::default()
        };
        let mut bytes = e.encode();
        bytes.push(99);
        assert_eq!(VersionEdit::decode(&bytes).unwrap_err().0, 2);
        let err = VersionEdit::decode(&[tag::NEW_FILE as u8, 1, 5]).unwrap_err();
        assert!(err.1.contains("truncated"), "{err:?}");
        let err = VersionEdit::decode(&[tag::DELETED_FILE as u8, 64, 1]).unwrap_err();
        assert!(err.1.contains("level 64"), "{err:?}");
    }

    #[test]
    fn version_1_new_file_records_still_decode_without_stats() {
        // Tag 6 as written before manifest version 2: level 3, file 7, size 300, keys "a"
        // and "b", sequences 1 and 2.
        let legacy = [6, 3, 7, 0xac, 0x02, 1, b'a', 1, b'b', 1, 2];
        let edit = VersionEdit::decode(&legacy).unwrap();
        let (level, f) = &edit.new_files[0];
        assert_eq!((*level, f.number, f.size), (3, 7, 300));
        assert_eq!(
            (f.smallest.as_slice(), f.largest.as_slice()),
            (&b"a"[..], &b"b"[..])
        );
        assert_eq!((f.smallest_seq, f.largest_seq), (1, 2));
        assert_eq!(f.stats, FileStats::default());
        // Written back, it becomes a tag-9 record.
        assert_eq!(edit.encode()[0], tag::NEW_FILE_WITH_STATS as u8);
    }

    #[test]
    fn stats_with_more_deletions_than_entries_are_corruption() {
        let mut f = FileMeta {
            number: 1,
            size: 1,
            smallest: vec![],
            largest: vec![],
            smallest_seq: 0,
            largest_seq: 0,
            stats: FileStats::default(),
        };
        f.stats.entries = 1;
        f.stats.deletions = 2;
        let e = VersionEdit {
            new_files: vec![(0, f)],
            ..VersionEdit::default()
        };
        let err = VersionEdit::decode(&e.encode()).unwrap_err();
        assert!(err.1.contains("more deletions"), "{err:?}");
    }
}
