//! The raw API's request and response data: plain Rust, no wire types (the server maps
//! TiKV's `RawGet`/`RawPut`/… messages to these and back).

/// A key and its value (the value is empty in key-only scans).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KvPair {
    /// The client's key (V2: with its `'r'` + keyspace prefix).
    pub key: Vec<u8>,
    /// The user value.
    pub value: Vec<u8>,
}

impl KvPair {
    /// A pair.
    pub fn new(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> KvPair {
        KvPair {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// One range of a batch scan or a checksum, as TiKV's `KeyRange`.
///
/// Forward: `[start_key, end_key)`. Reverse batch scans read downwards from `start_key`
/// (exclusive) to `end_key` (inclusive). An empty `end_key` means unbounded, except in a
/// batch scan where it means "up to the next range's start" for every range but the last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRange {
    /// Where the scan starts.
    pub start_key: Vec<u8>,
    /// Where it stops (see the type docs).
    pub end_key: Vec<u8>,
}

impl KeyRange {
    /// A range.
    pub fn new(start_key: impl Into<Vec<u8>>, end_key: impl Into<Vec<u8>>) -> KeyRange {
        KeyRange {
            start_key: start_key.into(),
            end_key: end_key.into(),
        }
    }
}

/// The outcome of a compare-and-swap (TiKV's `RawCasResponse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasResult {
    /// The value before the request (`None`: the key did not exist or had expired). Returned
    /// whether or not the swap happened.
    pub previous_value: Option<Vec<u8>>,
    /// True if the new value was written.
    pub succeed: bool,
}

impl CasResult {
    /// TiKV's `previous_not_exist` flag.
    pub fn previous_not_exist(&self) -> bool {
        self.previous_value.is_none()
    }
}
