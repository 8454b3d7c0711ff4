//! TiKV's raw key-value API: plain keys and values with TTLs and compare-and-swap, in their
//! own column family (`Cf::Raw`), so raw and transactional keys never collide.
//!
//! - `api_version`: [`ApiVersion`] (V1, V1Ttl, V2) and its key modes and keyspaces.
//! - `value`: the on-disk value encoding (user value, optional expiry, flags; `FORMAT.md`).
//! - `clock`: the TTL clock seam ([`SystemClock`], [`ManualClock`]).
//! - `reader`: reads through one snapshot at one instant, expired values hidden.
//! - `storage`: [`RawStorage`]: get, batch_get, get_key_ttl, put, batch_put, delete,
//!   batch_delete, delete_range.
//! - `scan`: scan (forward, reverse), batch_scan, checksum.
//! - `cas`: compare_and_swap, atomic under the key's latch.
//! - `checksum`: TiKV's Crc64Xor ([`Checksum`]).
//! - `ttl_filter`: [`RawTtlFilter`], the compaction filter that reclaims expired values.
//! - `types`: request and response data ([`KvPair`], [`KeyRange`], [`CasResult`]).

mod api_version;
mod cas;
mod checksum;
mod clock;
mod reader;
mod scan;
mod storage;
mod ttl_filter;
mod types;
mod value;

pub use api_version::{
    keyspace_end, ApiVersion, KEYSPACE_PREFIX_LEN, RAW_KEY_PREFIX, TXN_KEY_PREFIX,
};
pub use checksum::Checksum;
pub use clock::{Clock, ManualClock, SystemClock};
pub use storage::RawStorage;
pub use ttl_filter::RawTtlFilter;
pub use types::{CasResult, KeyRange, KvPair};
