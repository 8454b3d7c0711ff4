//! Reading a dead node's engine directly: which raw keys its KV column family holds.
//! This is how a test proves that a particular replica (not just "the cluster") has the
//! data: the client only ever reads from leaders.

use std::path::Path;

use lsm::{Db, Options};

/// The keys of `keys` that the `raw` column family of the engine in `db_dir` lacks, or holds
/// with a value not starting with the expected bytes (raw values carry a trailing
/// encoding byte in the engine). The process that owned the directory must be dead.
pub fn missing_raw(db_dir: &Path, keys: &[(Vec<u8>, Vec<u8>)]) -> Vec<Vec<u8>> {
    let options = Options {
        create_if_missing: false,
        ..Options::default()
    };
    let db = Db::open(db_dir, options).unwrap();
    let cf = db.cf_id("raw").expect("a raw column family");
    keys.iter()
        .filter(|(k, v)| {
            db.get(cf, k, None)
                .unwrap()
                .is_none_or(|got| !got.starts_with(v))
        })
        .map(|(k, _)| k.clone())
        .collect()
}
