//! Each flush and compaction is reported as a tracing event (`lsm::flush` "flushed",
//! `lsm::compaction` "compacted") carrying what an operator reads RocksDB's LOG for: the
//! tables and bytes written, the entries flushed, the levels and inputs of a compaction.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use lsm::fs::MemFs;
use lsm::{Db, Options, WriteOptions};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// One recorded event: its target and its fields, rendered.
type Event = (String, BTreeMap<String, String>);

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Event>>>);

struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields(BTreeMap::new());
        event.record(&mut fields);
        let target = event.metadata().target().to_owned();
        self.0.lock().unwrap().push((target, fields.0));
    }
}

fn number(fields: &BTreeMap<String, String>, name: &str) -> u64 {
    fields[name]
        .parse()
        .unwrap_or_else(|_| panic!("{name}: {fields:?}"))
}

#[test]
fn flushes_and_compactions_are_logged_with_their_sizes() {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    // The engine's background threads log too: the subscriber is global for this test binary.
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let options = Options {
        fs: Arc::new(MemFs::new()),
        write_buffer_size: 64 << 10,
        ..Options::default()
    };
    let db = Db::open(std::path::Path::new("db"), options).unwrap();
    for i in 0..4000u32 {
        let key = format!("k{:06}", (i * 7919) % 4000);
        db.put(0, key.as_bytes(), &[i as u8; 100], WriteOptions::default())
            .unwrap();
    }
    db.flush().unwrap();
    db.wait_for_compactions().unwrap();
    let stats = db.stats();
    drop(db);

    let events = recorder.0.lock().unwrap().clone();
    let flushes: Vec<_> = events.iter().filter(|e| e.0 == "lsm::flush").collect();
    let compactions: Vec<_> = events.iter().filter(|e| e.0 == "lsm::compaction").collect();
    // One event per job the engine counted, no more, no fewer.
    assert_eq!(flushes.len() as u64, stats.flushes, "{stats}");
    assert_eq!(compactions.len() as u64, stats.compactions, "{stats}");
    assert!(stats.flushes >= 4 && stats.compactions >= 1, "{stats}");

    let mut flushed_bytes = 0;
    for (_, f) in &flushes {
        assert_eq!(f["message"], "flushed");
        assert!(number(f, "entries") > 0);
        assert!(number(f, "memtable_bytes") > 0);
        flushed_bytes += number(f, "bytes");
    }
    assert_eq!(flushed_bytes, stats.flush_bytes, "{stats}");

    let mut written = 0;
    for (_, c) in &compactions {
        assert_eq!(c["message"], "compacted");
        assert!(number(c, "output_level") >= number(c, "level"));
        assert!(number(c, "inputs") >= 1 && number(c, "input_bytes") > 0);
        written += number(c, "written");
    }
    assert_eq!(written, stats.compaction_bytes_written, "{stats}");
}
