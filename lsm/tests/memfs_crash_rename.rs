//! Scenario: replacing a file atomically (the CURRENT / manifest switch) by write-temp →
//! fsync(temp) → rename(temp, name) → fsync(dir). A crash after any step, in every crash
//! mode, leaves the name with either the whole old or the whole new content, never an empty
//! or partial file; only after the last step is the new content guaranteed. Leaving out the
//! temp file's fsync is shown to break this.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::Path;

use common::{bytes, fs_with_db, read, write_synced};
use lsm::fs::{CrashMode, FileSystem, MemFs, WritableFile};

const STEPS: usize = 5;

/// Runs the first `steps` steps of the replacement of `db/CURRENT` by `new`.
fn replace(fs: &MemFs, new: &[u8], steps: usize, fsync_temp: bool) {
    let (temp, current) = (Path::new("db/CURRENT.tmp"), Path::new("db/CURRENT"));
    let mut file: Option<Box<dyn WritableFile>> = None;
    for step in 0..steps {
        match step {
            0 => file = Some(fs.create(temp).unwrap()),
            1 => file.as_mut().unwrap().write_all(new).unwrap(),
            2 if fsync_temp => file.as_mut().unwrap().sync_data().unwrap(),
            2 => {}
            3 => fs.rename(temp, current).unwrap(),
            4 => fs.sync_dir(Path::new("db")).unwrap(),
            _ => unreachable!(),
        }
    }
}

fn modes() -> Vec<CrashMode> {
    let mut modes = vec![CrashMode::DropUnsynced];
    for seed in 0..8 {
        modes.push(CrashMode::KeepRandomPrefix { seed });
        modes.push(CrashMode::TearLastWrite { seed });
    }
    modes
}

/// A fresh file system where `db/CURRENT` durably holds `old` (or does not exist).
fn setup(old: Option<&[u8]>) -> MemFs {
    let fs = fs_with_db();
    if let Some(old) = old {
        write_synced(&fs, "db/CURRENT", old);
        fs.sync_dir(Path::new("db")).unwrap();
    }
    fs
}

#[test]
fn a_crash_after_any_step_leaves_the_old_or_the_new_content() {
    let old = bytes(1, 50);
    let new = bytes(2, 100);
    for initial in [Some(&old[..]), None] {
        for steps in 0..=STEPS {
            for mode in modes() {
                let fs = setup(initial);
                replace(&fs, &new, steps, true);
                fs.simulate_power_loss(mode);
                let got = read(&fs, "db/CURRENT");
                let expected = if steps == STEPS {
                    Some(new.clone())
                } else {
                    initial.map(<[u8]>::to_vec)
                };
                assert_eq!(got, expected, "crash after {steps} steps, {mode:?}");
                // The temp file never outlives a crash: its creation was made durable only
                // by the last step, which also renamed it away.
                assert_eq!(read(&fs, "db/CURRENT.tmp"), None, "{steps} steps, {mode:?}");
            }
        }
    }
}

#[test]
fn without_the_temp_files_fsync_the_name_can_end_up_empty_or_partial() {
    let old = bytes(1, 50);
    let new = bytes(2, 100);

    let fs = setup(Some(&old));
    replace(&fs, &new, STEPS, false);
    fs.crash();
    assert_eq!(
        read(&fs, "db/CURRENT").unwrap(),
        b"",
        "the bug the fsync prevents"
    );

    let partial = (0..16).any(|seed| {
        let fs = setup(Some(&old));
        replace(&fs, &new, STEPS, false);
        fs.simulate_power_loss(CrashMode::KeepRandomPrefix { seed });
        let got = read(&fs, "db/CURRENT").unwrap();
        assert!(new.starts_with(&got));
        !got.is_empty() && got.len() < new.len()
    });
    assert!(partial, "some seed keeps a partial prefix");
}

#[test]
fn without_the_directory_fsync_the_rename_is_lost() {
    let old = bytes(1, 50);
    let fs = setup(Some(&old));
    replace(&fs, &bytes(2, 100), STEPS - 1, true);
    assert_eq!(read(&fs, "db/CURRENT").unwrap(), bytes(2, 100));
    fs.crash();
    assert_eq!(read(&fs, "db/CURRENT").unwrap(), old);
}
