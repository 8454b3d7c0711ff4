//! `sst-dump` end to end: the real binary on tables written by the library, sound and damaged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sstable::{TableBuilder, TableOptions};

fn sst_dump(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sst-dump"))
        .args(args)
        .output()
        .expect("sst-dump runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write_table(dir: &Path, name: &str, n: u32) -> PathBuf {
    let path = dir.join(name);
    let options = TableOptions {
        block_size: 512,
        ..TableOptions::default()
    };
    let mut b = TableBuilder::create(&path, options).unwrap();
    for i in 0..n {
        b.add(
            format!("key{i:04}").as_bytes(),
            format!("value{i}").as_bytes(),
        )
        .unwrap();
    }
    b.set_property("origin", b"test".to_vec());
    b.finish().unwrap();
    path
}

#[test]
fn scan_with_range_limit_and_hex() {
    let dir = tempfile::tempdir().unwrap();
    let t = write_table(dir.path(), "1.sst", 100);
    let t = t.to_str().unwrap();
    let o = sst_dump(&[t]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 100);
    assert_eq!(out.lines().next(), Some("'key0000' => 'value0'"));

    let o = sst_dump(&[t, "--from", "key0010", "--to", "key0020", "--limit", "5"]);
    let lines: Vec<String> = stdout(&o).lines().map(String::from).collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0], "'key0010' => 'value10'");

    // "key0098" in hex, to the end.
    let o = sst_dump(&[t, "--hex", "--from", "0x6B657930303938"]);
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 2);
    assert!(
        out.starts_with("'0x6B657930303938' => '0x76616C75653938'"),
        "{out}"
    );

    let o = sst_dump(&[t, "--output", "json", "--limit", "1"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["key"], "key0000");
    assert_eq!(v["value"], "value0");
}

#[test]
fn check_verify_and_properties_on_a_sound_table() {
    let dir = tempfile::tempdir().unwrap();
    let t = write_table(dir.path(), "1.sst", 300);
    let t = t.to_str().unwrap();
    for cmd in ["check", "verify"] {
        let o = sst_dump(&[t, "--command", cmd]);
        assert!(o.status.success(), "{cmd}: {}", stderr(&o));
        assert!(
            stdout(&o).contains(&format!("{cmd} OK (300 entries")),
            "{}",
            stdout(&o)
        );
    }
    let o = sst_dump(&[t, "--command", "properties"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.contains("entries: 300"), "{out}");
    assert!(out.contains("user.origin: 'test'"), "{out}");
    let o = sst_dump(&[t, "--command", "properties", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["num_entries"], 300);
    assert_eq!(v["smallest_key"], "key0000");
    let o = sst_dump(&[t, "--command", "raw"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.contains("footer: version 1"), "{out}");
    assert!(out.contains("block 0: offset 0"), "{out}");
}

#[test]
fn a_damaged_data_block_fails_verify_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let t = write_table(dir.path(), "1.sst", 300);
    let mut bytes = std::fs::read(&t).unwrap();
    bytes[700] ^= 0x10; // inside the second data block
    std::fs::write(&t, &bytes).unwrap();
    let path = t.to_str().unwrap();
    let o = sst_dump(&[path, "--command", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(path) && err.contains("checksum mismatch"),
        "{err}"
    );
    assert!(err.contains("at offset"), "{err}");
    assert!(stdout(&o).contains("verify FAILED"));
    // Scanning stops at the damage with an error instead of printing wrong data.
    let o = sst_dump(&[path]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("corruption"));
}

#[test]
fn a_file_that_is_not_a_table_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("junk.sst");
    std::fs::write(&t, vec![7u8; 200]).unwrap();
    let o = sst_dump(&[t.to_str().unwrap(), "--command", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("bad magic number"), "{}", stderr(&o));
    let missing = dir.path().join("missing.sst");
    let o = sst_dump(&[missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("I/O error"), "{}", stderr(&o));
}

#[test]
fn a_directory_is_every_table_in_it() {
    let dir = tempfile::tempdir().unwrap();
    write_table(dir.path(), "1.sst", 10);
    write_table(dir.path(), "2.sst", 20);
    std::fs::write(dir.path().join("notes.txt"), "not a table").unwrap();
    let o = sst_dump(&[dir.path().to_str().unwrap(), "--command", "check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("1.sst <=="), "{out}");
    assert!(out.contains("check OK (20 entries"), "{out}");
    assert!(!out.contains("notes.txt"));
}

#[test]
fn reads_the_tables_the_engine_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db_dir = dir.path().join("db");
    let db = lsm::Db::open(&db_dir, lsm::Options::default()).unwrap();
    for i in 0..50u32 {
        db.put(
            0,
            format!("key{i:04}").as_bytes(),
            b"v",
            lsm::WriteOptions::default(),
        )
        .unwrap();
    }
    db.flush().unwrap();
    db.close().unwrap();
    let o = sst_dump(&["--command", "verify", db_dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = sst_dump(&["--command", "properties", db_dir.to_str().unwrap()]);
    assert!(
        stdout(&o).contains("strata.internal-key.v1"),
        "{}",
        stdout(&o)
    );
    let o = sst_dump(&["--limit", "1", db_dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("key0000"), "{}", stdout(&o));
}
