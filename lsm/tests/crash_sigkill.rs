//! Crash test with real process kills: a child process writes synced batches and reports each
//! acknowledgement; the parent kills it with SIGKILL at a random moment, reopens the database
//! and checks that every acknowledged write is there and that nothing never written appears.
//! Thirty cycles on one database directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use lsm::{Db, Options, WriteBatch, WriteOptions};

const CYCLES: u64 = 30;
const DIR_VAR: &str = "STRATA_CRASH_DIR";
const START_VAR: &str = "STRATA_CRASH_START";

fn options() -> Options {
    let mut o = Options {
        write_buffer_size: 32 << 10,
        ..Options::default()
    };
    o.compaction.l0_trigger = 2;
    o.compaction.base_level_bytes = 128 << 10;
    o.compaction.target_file_size = 32 << 10;
    o
}

fn key(i: u64) -> [u8; 8] {
    i.to_be_bytes()
}

fn value(i: u64) -> Vec<u8> {
    let mut v = i.to_le_bytes().to_vec();
    v.resize(200, (i % 251) as u8);
    v
}

/// The child: writes keys `start..` forever, one synced two-entry batch each, acknowledging
/// each on stdout once `write` returned. Does nothing unless started by the parent.
#[test]
#[ignore = "run by crash_cycles_lose_no_acknowledged_write as a child process"]
fn child_writer() {
    let (Ok(dir), Ok(start)) = (std::env::var(DIR_VAR), std::env::var(START_VAR)) else {
        return;
    };
    let start: u64 = start.parse().unwrap();
    let db = Db::open(Path::new(&dir), options()).unwrap();
    for i in start.. {
        let mut batch = WriteBatch::new();
        batch.put(0, &key(i), &value(i));
        batch.put(1, &key(i), b"in the same batch");
        db.write(WriteOptions { sync: true }, batch).unwrap();
        println!("ack {i}");
    }
}

#[test]
fn crash_cycles_lose_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let exe = std::env::current_exe().unwrap();
    let mut next = 0u64;
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    for cycle in 0..CYCLES {
        let mut child = Command::new(&exe)
            .args([
                "child_writer",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_VAR, &path)
            .env(START_VAR, next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(n) = line.strip_prefix("ack ") {
                    let _ = tx.send(n.parse::<u64>().unwrap());
                }
            }
        });
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // Let the child get going (open, some writes), then kill it at a random moment.
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("child acknowledged nothing");
        std::thread::sleep(Duration::from_millis(20 + rng % 200));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        let acked = rx.try_iter().fold(first, u64::max);

        let db = Db::open(&path, options()).unwrap();
        for i in 0..=acked {
            let got = db.get(0, &key(i), None).unwrap();
            assert_eq!(
                got.as_deref(),
                Some(value(i).as_slice()),
                "cycle {cycle}: acknowledged key {i} lost"
            );
            assert!(
                db.get(1, &key(i), None).unwrap().is_some(),
                "cycle {cycle}: half of batch {i}"
            );
        }
        // The write in flight when the child died may or may not be there; nothing beyond it.
        let in_flight = db.get(0, &key(acked + 1), None).unwrap();
        for i in acked + 2..acked + 50 {
            assert!(
                db.get(0, &key(i), None).unwrap().is_none(),
                "cycle {cycle}: key {i} was never written"
            );
        }
        next = acked + 1 + u64::from(in_flight.is_some());
        db.close().unwrap();
    }
    assert!(next > CYCLES, "the children made no progress");
}
