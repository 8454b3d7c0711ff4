//! The manifest makes every acknowledged version edit survive restarts and power loss,
//! including across manifest rewrites.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use lsm::fs::{FileSystem, MemFs};
use lsm::key::{internal_key, ValueKind};
use lsm::version::{FileMeta, FileStats, VersionEdit, VersionSet};

fn file(number: u64, lo: &str, hi: &str) -> FileMeta {
    FileMeta {
        number,
        size: 1000 + number,
        smallest: internal_key(0, lo.as_bytes(), number, ValueKind::Put),
        largest: internal_key(0, hi.as_bytes(), number, ValueKind::Put),
        smallest_seq: number,
        largest_seq: number,
        stats: FileStats::new(3 * number, number, 30 * number, 100 * number),
    }
}

fn summary(set: &VersionSet) -> Vec<(usize, u64)> {
    let mut v: Vec<(usize, u64)> = set
        .current()
        .all_files()
        .map(|(l, f)| (l, f.number))
        .collect();
    v.sort();
    v
}

#[test]
fn edits_survive_reopen_and_power_loss_with_rewrites() {
    let fs = MemFs::new();
    let dir = Path::new("/db");
    fs.create_dir_all(dir).unwrap();
    // A new directory's own entry is durable only once its parent is synced.
    fs.sync_dir(Path::new("/")).unwrap();
    let shared: Arc<dyn FileSystem> = Arc::new(fs.clone());
    // A tiny threshold forces a manifest rewrite every few edits.
    let mut set = VersionSet::create(shared.clone(), dir, 300).unwrap();
    let mut expected = Vec::new();
    for i in 0..40u64 {
        let n = set.new_file_number();
        let mut edit = VersionEdit {
            new_files: vec![(1, file(n, &format!("k{i:03}a"), &format!("k{i:03}z")))],
            last_sequence: Some(100 + i),
            ..VersionEdit::default()
        };
        if i % 5 == 4 {
            let (level, victim) = expected.remove(0);
            edit.deleted_files.push((level as u32, victim));
        }
        set.log_and_apply(edit).unwrap();
        expected.push((1, n));
        expected.sort();
        if i == 20 {
            set.log_and_apply(VersionEdit {
                added_cfs: vec![(9, "extra".into())],
                ..VersionEdit::default()
            })
            .unwrap();
        }
    }
    assert_eq!(summary(&set), expected);
    let manifest = set.manifest_number();
    assert!(manifest > 5, "the manifest was never rewritten");
    let next_file = set.new_file_number();
    drop(set);

    // Power loss: only what was synced (every acknowledged edit) remains.
    fs.crash();
    let mut set = VersionSet::recover(shared.clone(), dir, 300).unwrap();
    assert_eq!(summary(&set), expected);
    for (_, f) in set.current().all_files() {
        let lo = String::from_utf8_lossy(&f.smallest[1..5]).into_owned();
        assert_eq!(
            **f,
            file(f.number, &format!("{lo}a"), &format!("{lo}z")),
            "stats recovered"
        );
    }
    assert_eq!(set.last_sequence(), 139);
    assert_eq!(
        set.column_families().get(&9).map(String::as_str),
        Some("extra")
    );
    assert_eq!(
        set.column_families().get(&3).map(String::as_str),
        Some("raft")
    );
    assert!(
        set.new_file_number() > next_file,
        "file numbers are never reused"
    );
    // Exactly one manifest is left: old ones are deleted once CURRENT moved on.
    let manifests: Vec<String> = fs
        .list_dir(dir)
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with("MANIFEST-"))
        .collect();
    assert_eq!(manifests.len(), 1, "{manifests:?}");
}

/// A crash at any point during an edit leaves either the state before it or after it.
#[test]
fn a_crash_during_an_edit_recovers_before_or_after_it() {
    for budget in (0..400u64).step_by(7) {
        let fs = MemFs::new();
        let dir = Path::new("/db");
        fs.create_dir_all(dir).unwrap();
        fs.sync_dir(Path::new("/")).unwrap();
        let shared: Arc<dyn FileSystem> = Arc::new(fs.clone());
        let mut set = VersionSet::create(shared.clone(), dir, 200).unwrap();
        let n = set.new_file_number();
        set.log_and_apply(VersionEdit {
            new_files: vec![(2, file(n, "a", "b"))],
            ..VersionEdit::default()
        })
        .unwrap();
        let before = summary(&set);
        // The next edit (and the manifest rewrite it triggers) runs out of space part-way.
        fs.set_write_budget(Some(budget));
        let m = set.new_file_number();
        let result = set.log_and_apply(VersionEdit {
            new_files: vec![(2, file(m, "c", "d"))],
            ..VersionEdit::default()
        });
        let after = if result.is_ok() {
            summary(&set)
        } else {
            vec![]
        };
        drop(set);
        fs.set_write_budget(None);
        fs.crash();
        let recovered = VersionSet::recover(shared, dir, 200).unwrap();
        let got = summary(&recovered);
        let mut with = before.clone();
        with.push((2, m));
        assert!(
            got == before || got == with,
            "budget {budget}: recovered {got:?}, expected {before:?} or {with:?}"
        );
        if result.is_ok() {
            assert_eq!(got, after, "budget {budget}: an acknowledged edit was lost");
        }
    }
}
