//! The properties block: what a table holds, written once by the builder.
//!
//! Stored as an ordinary block (restart interval 1, uncompressed) of name → value pairs in
//! bytewise order of the names. Integers are varint64, strings raw bytes. Names of our own
//! start with `strata.`; properties the engine adds are stored as `user.<name>`. Unknown
//! `strata.` names are ignored on read, so later versions can add properties.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::block::{Block, BlockIter};
use crate::block_builder::BlockBuilder;
use crate::coding::{get_varint64, put_varint64};

/// Facts about one table.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TableProperties {
    /// Format version of the table.
    pub format_version: u32,
    /// Number of entries.
    pub num_entries: u64,
    /// Number of data blocks.
    pub num_data_blocks: u64,
    /// Sum of the key lengths as added (before prefix compression).
    pub raw_key_size: u64,
    /// Sum of the value lengths as added (before compression).
    pub raw_value_size: u64,
    /// Bytes of data blocks as stored (after compression, including trailers).
    pub data_size: u64,
    /// Bytes of the index block as stored.
    pub index_size: u64,
    /// Bytes of the filter block as stored (0 without a filter).
    pub filter_size: u64,
    /// The first key (empty if the table is empty).
    #[serde(serialize_with = "serialize_bytes")]
    pub smallest_key: Vec<u8>,
    /// The last key (empty if the table is empty).
    #[serde(serialize_with = "serialize_bytes")]
    pub largest_key: Vec<u8>,
    /// `none` or `zstd`: the compression the table was built with (blocks that did not shrink
    /// are stored uncompressed regardless).
    pub compression: String,
    /// Name of the key order.
    pub comparator: String,
    /// Name of the filter key extractor (empty without a filter).
    pub filter_key: String,
    /// Bloom filter bits per key (0 without a filter).
    pub bloom_bits_per_key: u64,
    /// Seconds since the Unix epoch when the table was finished.
    pub creation_time: u64,
    /// Properties added by the engine (e.g. its sequence-number range).
    #[serde(serialize_with = "serialize_user")]
    pub user: BTreeMap<String, Vec<u8>>,
}

fn serialize_bytes<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::dump::escape(v, false))
}

fn serialize_user<S: serde::Serializer>(
    v: &BTreeMap<String, Vec<u8>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(v.len()))?;
    for (k, val) in v {
        map.serialize_entry(k, &crate::dump::escape(val, false))?;
    }
    map.end()
}

const USER_PREFIX: &str = "user.";

impl TableProperties {
    /// Encodes the properties as a block body.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut fields: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut int = |name: &str, v: u64| {
            let mut buf = Vec::new();
            put_varint64(&mut buf, v);
            fields.insert(format!("strata.{name}"), buf);
        };
        int("format-version", u64::from(self.format_version));
        int("num-entries", self.num_entries);
        int("num-data-blocks", self.num_data_blocks);
        int("raw-key-size", self.raw_key_size);
        int("raw-value-size", self.raw_value_size);
        int("data-size", self.data_size);
        int("index-size", self.index_size);
        int("filter-size", self.filter_size);
        int("bloom-bits-per-key", self.bloom_bits_per_key);
        int("creation-time", self.creation_time);
        for (name, v) in [
            ("smallest-key", self.smallest_key.as_slice()),
            ("largest-key", self.largest_key.as_slice()),
            ("compression", self.compression.as_bytes()),
            ("comparator", self.comparator.as_bytes()),
            ("filter-key", self.filter_key.as_bytes()),
        ] {
            fields.insert(format!("strata.{name}"), v.to_vec());
        }
        for (k, v) in &self.user {
            fields.insert(format!("{USER_PREFIX}{k}"), v.clone());
        }
        let mut block = BlockBuilder::new(1);
        for (k, v) in &fields {
            block.add(k.as_bytes(), v);
        }
        block.finish().to_vec()
    }

    /// Decodes a properties block; `Err` names what is wrong.
    pub(crate) fn decode(data: Bytes) -> Result<TableProperties, String> {
        let block = Block::new(data).map_err(|e| e.0.to_owned())?;
        let mut it = BlockIter::new(Arc::new(block));
        let mut props = TableProperties::default();
        let mut seen = 0;
        it.seek_to_first().map_err(|e| e.0.to_owned())?;
        while it.valid() {
            let name = std::str::from_utf8(it.key())
                .map_err(|_| "property name is not UTF-8".to_owned())?
                .to_owned();
            let value = it.value();
            let int = || -> Result<u64, String> {
                match get_varint64(value) {
                    Some((v, n)) if n == value.len() => Ok(v),
                    _ => Err(format!("property {name} is not an integer")),
                }
            };
            let text = || -> Result<String, String> {
                String::from_utf8(value.to_vec())
                    .map_err(|_| format!("property {name} is not UTF-8"))
            };
            match name.as_str() {
                "strata.format-version" => {
                    props.format_version =
                        u32::try_from(int()?).map_err(|_| "format version too large".to_owned())?
                }
                "strata.num-entries" => props.num_entries = int()?,
                "strata.num-data-blocks" => props.num_data_blocks = int()?,
                "strata.raw-key-size" => props.raw_key_size = int()?,
                "strata.raw-value-size" => props.raw_value_size = int()?,
                "strata.data-size" => props.data_size = int()?,
                "strata.index-size" => props.index_size = int()?,
                "strata.filter-size" => props.filter_size = int()?,
                "strata.bloom-bits-per-key" => props.bloom_bits_per_key = int()?,
                "strata.creation-time" => props.creation_time = int()?,
                "strata.smallest-key" => props.smallest_key = value.to_vec(),
                "strata.largest-key" => props.largest_key = value.to_vec(),
                "strata.compression" => props.compression = text()?,
                "strata.comparator" => props.comparator = text()?,
                "strata.filter-key" => props.filter_key = text()?,
                other => {
                    if let Some(user) = other.strip_prefix(USER_PREFIX) {
                        props.user.insert(user.to_owned(), value.to_vec());
                    }
                    it.next().map_err(|e| e.0.to_owned())?;
                    continue;
                }
            }
            seen += 1;
            it.next().map_err(|e| e.0.to_owned())?;
        }
        // Every property of format version 1 is required.
        if seen < 15 {
            return Err(format!(
                "properties block holds {seen} of 15 required properties"
            ));
        }
        Ok(props)
    }

    /// A user property decoded as a little-endian u64, if present and 8 bytes long.
    pub fn user_u64(&self, name: &str) -> Option<u64> {
        let v = self.user.get(name)?;
        Some(u64::from_le_bytes(v.as_slice().try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_with_user_properties() {
        let mut p = TableProperties {
            format_version: 1,
            num_entries: 42,
            smallest_key: b"\x00a".to_vec(),
            largest_key: b"zz".to_vec(),
            compression: "zstd".into(),
            comparator: "strata.bytewise".into(),
            creation_time: 1_700_000_000,
            ..Default::default()
        };
        p.user
            .insert("seqno.max".into(), 77u64.to_le_bytes().to_vec());
        let decoded = TableProperties::decode(Bytes::from(p.encode())).unwrap();
        assert_eq!(decoded, p);
        assert_eq!(decoded.user_u64("seqno.max"), Some(77));
    }

    #[test]
    fn missing_required_properties_are_an_error() {
        let mut block = BlockBuilder::new(1);
        block.add(b"strata.num-entries", &[3]);
        assert!(TableProperties::decode(Bytes::copy_from_slice(block.finish())).is_err());
    }
}
