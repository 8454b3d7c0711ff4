//! Model-based test: random sequences of creates, writes, syncs, renames, removals,
//! directory syncs and crashes on MemFs agree with a small model that keeps, per file, its
//! live and durable bytes and, per name, its live and durable target.
//!
//! The model is written differently from MemFs on purpose (whole-file copies, names as small
//! integers, one directory), so a shared mistake is unlikely. For the crash modes that keep
//! part of the unsynced tail, the model checks bounds (synced bytes kept, result a prefix /
//! same length) and then adopts what MemFs kept.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use lsm::fs::{CrashMode, FileSystem, MemFs, WritableFile};
use proptest::prelude::*;

const NAMES: u8 = 4;

fn path(name: u8) -> PathBuf {
    PathBuf::from(format!("db/f{name}"))
}

#[derive(Debug, Clone)]
enum Op {
    Create(u8),
    /// Writes through the open handle `index % handles`.
    Write(usize, Vec<u8>),
    Sync(usize),
    Rename(u8, u8),
    Remove(u8),
    SyncDir,
    Crash(CrashMode),
}

fn op() -> impl Strategy<Value = Op> {
    let name = 0..NAMES;
    prop_oneof![
        3 => name.clone().prop_map(Op::Create),
        6 => (any::<usize>(), proptest::collection::vec(1u8..=255, 1..20))
            .prop_map(|(h, d)| Op::Write(h, d)),
        3 => any::<usize>().prop_map(Op::Sync),
        2 => (name.clone(), name.clone()).prop_map(|(a, b)| Op::Rename(a, b)),
        1 => name.prop_map(Op::Remove),
        2 => Just(Op::SyncDir),
        1 => prop_oneof![
            Just(CrashMode::DropUnsynced),
            any::<u64>().prop_map(|seed| CrashMode::KeepRandomPrefix { seed }),
            any::<u64>().prop_map(|seed| CrashMode::TearLastWrite { seed }),
        ]
        .prop_map(Op::Crash),
    ]
}

#[derive(Debug, Default, Clone)]
struct ModelFile {
    live: Vec<u8>,
    durable: Vec<u8>,
}

/// The model: files by id, and what each name refers to, live and durable.
#[derive(Debug, Default)]
struct Model {
    files: Vec<ModelFile>,
    live: BTreeMap<u8, usize>,
    durable: BTreeMap<u8, usize>,
}

/// An open handle: the real one, the model file it writes, and whether it survived.
struct Handle {
    real: Box<dyn WritableFile>,
    file: usize,
    alive: bool,
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let fs = MemFs::new();
    fs.create_dir_all(Path::new("db")).unwrap();
    fs.sync_dir(Path::new("")).unwrap();
    let mut m = Model::default();
    let mut handles: Vec<Handle> = Vec::new();

    for op in ops {
        match op {
            Op::Create(n) => {
                let real = fs.create(&path(n)).unwrap();
                let file = match m.live.get(&n) {
                    Some(&id) => {
                        m.files[id].live.clear();
                        id
                    }
                    None => {
                        m.files.push(ModelFile::default());
                        m.live.insert(n, m.files.len() - 1);
                        m.files.len() - 1
                    }
                };
                handles.push(Handle {
                    real,
                    file,
                    alive: true,
                });
            }
            Op::Write(h, data) if !handles.is_empty() => {
                let len = handles.len();
                let handle = &mut handles[h % len];
                let result = handle.real.write_all(&data);
                prop_assert_eq!(result.is_ok(), handle.alive);
                if handle.alive {
                    m.files[handle.file].live.extend_from_slice(&data);
                }
            }
            Op::Sync(h) if !handles.is_empty() => {
                let len = handles.len();
                let handle = &mut handles[h % len];
                prop_assert_eq!(handle.real.sync_data().is_ok(), handle.alive);
                if handle.alive {
                    let f = &mut m.files[handle.file];
                    f.durable = f.live.clone();
                }
            }
            Op::Write(..) | Op::Sync(_) => {}
            Op::Rename(a, b) => {
                let result = fs.rename(&path(a), &path(b));
                prop_assert_eq!(result.is_ok(), m.live.contains_key(&a));
                if let Some(id) = m.live.remove(&a) {
                    m.live.insert(b, id);
                }
            }
            Op::Remove(n) => {
                let result = fs.remove_file(&path(n));
                prop_assert_eq!(result.is_ok(), m.live.remove(&n).is_some());
            }
            Op::SyncDir => {
                fs.sync_dir(Path::new("db")).unwrap();
                m.durable = m.live.clone();
            }
            Op::Crash(mode) => {
                let before: BTreeMap<u8, ModelFile> = m
                    .durable
                    .iter()
                    .map(|(&n, &id)| (n, m.files[id].clone()))
                    .collect();
                fs.simulate_power_loss(mode);
                for h in &mut handles {
                    h.alive = false;
                }
                m.live = m.durable.clone();
                for (n, f) in before {
                    let got = fs.contents(&path(n)).unwrap();
                    let tail_defined = f.live.starts_with(&f.durable);
                    match mode {
                        CrashMode::DropUnsynced => prop_assert_eq!(&got, &f.durable),
                        _ if !tail_defined => prop_assert_eq!(&got, &f.durable),
                        CrashMode::KeepRandomPrefix { .. } => {
                            prop_assert!(got.starts_with(&f.durable));
                            prop_assert!(f.live.starts_with(&got));
                        }
                        CrashMode::TearLastWrite { .. } => {
                            prop_assert!(got.starts_with(&f.durable));
                            prop_assert_eq!(got.len(), f.live.len());
                        }
                    }
                    let id = m.durable[&n];
                    m.files[id] = ModelFile {
                        live: got.clone(),
                        durable: got,
                    };
                }
            }
        }
        check(&fs, &m)?;
    }
    Ok(())
}

/// The live names and contents agree.
fn check(fs: &MemFs, m: &Model) -> Result<(), TestCaseError> {
    let mut names = fs.list_dir(Path::new("db")).unwrap();
    names.sort();
    let expected: Vec<String> = m.live.keys().map(|n| format!("f{n}")).collect();
    prop_assert_eq!(names, expected);
    for n in 0..NAMES {
        match m.live.get(&n) {
            Some(&id) => prop_assert_eq!(fs.contents(&path(n)).unwrap(), m.files[id].live.clone()),
            None => prop_assert!(!fs.exists(&path(n))),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn memfs_matches_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
