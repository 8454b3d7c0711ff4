//! `strata-ctl` end to end on a database written by the engine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use lsm::{Db, Options, WriteBatch, WriteOptions};

fn ctl(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata-ctl"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("strata-ctl runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn fill(dir: &Path) {
    let db = Db::open(dir, Options::default()).unwrap();
    let mut batch = WriteBatch::new();
    for i in 0..50u32 {
        batch.put(
            0,
            format!("key{i:02}").as_bytes(),
            format!("value{i}").as_bytes(),
        );
    }
    batch.put(2, b"w", b"in write cf");
    db.write(WriteOptions::default(), batch).unwrap();
    db.close().unwrap();
}

#[test]
fn get_put_delete_scan_and_cfs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    fill(&dir);
    let o = ctl(&dir, &["get", "key07"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).trim(), "value7");
    assert_eq!(ctl(&dir, &["get", "nope"]).status.code(), Some(1));
    assert_eq!(
        text(&ctl(&dir, &["--cf", "write", "get", "w"]).stdout).trim(),
        "in write cf"
    );
    assert!(ctl(&dir, &["--cf", "nosuch", "get", "w"]).status.code() == Some(2));

    assert!(ctl(&dir, &["put", "new", "fresh"]).status.success());
    assert!(ctl(&dir, &["delete", "key00"]).status.success());
    assert_eq!(ctl(&dir, &["get", "key00"]).status.code(), Some(1));
    assert_eq!(text(&ctl(&dir, &["get", "new"]).stdout).trim(), "fresh");
    // Hex in and out.
    assert_eq!(
        text(&ctl(&dir, &["--hex", "get", "0x6E6577"]).stdout).trim(),
        "0x6672657368"
    );

    let o = ctl(
        &dir,
        &["scan", "--from", "key10", "--to", "key20", "--limit", "3"],
    );
    let lines: Vec<String> = text(&o.stdout).lines().map(String::from).collect();
    assert_eq!(
        lines,
        vec![
            "'key10' => 'value10'",
            "'key11' => 'value11'",
            "'key12' => 'value12'"
        ]
    );
}

#[test]
fn stats_manifest_compact_check_and_wal_dump() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    fill(&dir);
    let o = ctl(&dir, &["compact"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("Compaction Stats"));
    let o = ctl(&dir, &["stats"]);
    assert!(text(&o.stdout).contains("write-amp"), "{}", text(&o.stdout));
    let o = ctl(&dir, &["manifest"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let m = text(&o.stdout);
    assert!(
        m.contains("comparator=strata.internal-key.v1")
            && m.contains("+L")
            && m.contains(" entries "),
        "{m}"
    );
    let o = ctl(&dir, &["check"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).starts_with("OK"));

    // A WAL with unflushed writes: drop the engine without closing.
    {
        let db = Db::open(&dir, Options::default()).unwrap();
        db.put(0, b"walkey", b"walvalue", WriteOptions::default())
            .unwrap();
    }
    let wal = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .max()
        .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_strata-ctl"))
        .arg("wal-dump")
        .arg(&wal)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("Put cf 0 'walkey' 'walvalue'"),
        "{}",
        text(&o.stdout)
    );

    // Damage a table: check names it and fails.
    let table = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "sst"))
        .unwrap();
    let mut bytes = std::fs::read(&table).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&table, bytes).unwrap();
    let o = ctl(&dir, &["check"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains(table.file_name().unwrap().to_str().unwrap()) && err.contains("checksum"),
        "{err}"
    );
}
