//! The state machine behind [`MemFs`](super::MemFs): two namespaces (live and durable), the
//! inodes they name, and what a crash makes of them.
//!
//! Concurrency contract: `State` is plain data; `MemFs` keeps it under one mutex and every
//! method here runs with that mutex held, so each file-system call is atomic.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Component, Path, PathBuf};

use super::inode::Inode;
use crate::fs::faults::{injected, CrashMode, Faults, Rng};
use crate::fs::mem::MemFsStats;

pub(super) type InodeId = u64;

/// What a name refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Node {
    File(InodeId),
    Dir,
}

/// The whole in-memory file system.
///
/// Invariants:
/// 1. Every name in `live` other than a root has a parent that is a root or a `Dir` in
///    `live`. (`durable` may hold orphans: a directory's entries can be synced before the
///    directory's own entry is; a crash drops them.)
/// 2. Every `File` id in either namespace is a key of `inodes`; an inode stays in `inodes`
///    while a namespace names it or a handle is open on it (`gc`).
/// 3. `durable` changes only in `sync_dir` (the synced directory's entries) and `crash`.
#[derive(Debug, Default)]
pub(super) struct State {
    /// What lookups see now.
    live: BTreeMap<PathBuf, Node>,
    /// What a crash leaves of the names: the entries of each directory at its last sync.
    durable: BTreeMap<PathBuf, Node>,
    pub(super) inodes: BTreeMap<InodeId, Inode>,
    next_inode: InodeId,
    /// Counts crashes; a handle made before the latest crash is dead.
    pub(super) epoch: u64,
    pub(super) faults: Faults,
    pub(super) stats: MemFsStats,
    /// Held locks: path → (holder's token, epoch it was taken in).
    locks: HashMap<PathBuf, (u64, u64)>,
    next_lock: u64,
}

/// The simple path rule: a path is its list of components, with `.` dropped (so `a/./b` is
/// `a/b` and `a/` is `a`). `..` is not resolved: `a/../b` is a different name from `b`.
pub(super) fn key(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// The roots (`""` for relative paths, `/` for absolute ones) always exist and are durable.
fn is_root(key: &Path) -> bool {
    key.parent().is_none()
}

fn not_found(key: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("MemFs: {} not found", key.display()),
    )
}

fn error(kind: io::ErrorKind, key: &Path, what: &str) -> io::Error {
    io::Error::new(kind, format!("MemFs: {}: {what}", key.display()))
}

impl State {
    /// The node at `key` (a root is a directory).
    fn node(&self, key: &Path) -> Option<Node> {
        if is_root(key) {
            return Some(Node::Dir);
        }
        self.live.get(key).copied()
    }

    /// The inode a live name refers to.
    pub(super) fn file(&self, key: &Path) -> io::Result<InodeId> {
        match self.node(key) {
            Some(Node::File(id)) => Ok(id),
            Some(Node::Dir) => Err(error(io::ErrorKind::IsADirectory, key, "is a directory")),
            None => Err(not_found(key)),
        }
    }

    pub(super) fn exists(&self, key: &Path) -> bool {
        self.node(key).is_some()
    }

    /// Checks that `key` can be given a new entry: its parent is a live directory.
    fn check_parent(&self, key: &Path) -> io::Result<()> {
        let parent = key
            .parent()
            .ok_or_else(|| error(io::ErrorKind::InvalidInput, key, "a root is not a file"))?;
        match self.node(parent) {
            Some(Node::Dir) => Ok(()),
            Some(Node::File(_)) => Err(error(
                io::ErrorKind::NotADirectory,
                parent,
                "is not a directory",
            )),
            None => Err(not_found(parent)),
        }
    }

    /// Creates or truncates the file at `key`, returning its inode.
    pub(super) fn create(&mut self, key: &Path) -> io::Result<InodeId> {
        if let Some(Node::File(id)) = self.node(key) {
            if let Some(inode) = self.inodes.get_mut(&id) {
                inode.truncate();
            }
            return Ok(id);
        }
        self.new_file(key)
    }

    /// Gives `key` a new empty inode. REQUIRES: `key` does not name a file.
    fn new_file(&mut self, key: &Path) -> io::Result<InodeId> {
        if self.node(key).is_some() {
            return Err(error(io::ErrorKind::IsADirectory, key, "is a directory"));
        }
        self.check_parent(key)?;
        let id = self.next_inode;
        self.next_inode += 1;
        self.inodes.insert(id, Inode::new());
        self.live.insert(key.to_path_buf(), Node::File(id));
        Ok(id)
    }

    pub(super) fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        let id = self.file(from)?;
        if self.node(to) == Some(Node::Dir) {
            return Err(error(io::ErrorKind::IsADirectory, to, "is a directory"));
        }
        self.check_parent(to)?;
        if self.faults.rename.fire() {
            return Err(injected("rename"));
        }
        if from != to {
            self.live.remove(from);
            self.live.insert(to.to_path_buf(), Node::File(id));
            self.gc();
        }
        Ok(())
    }

    pub(super) fn remove_file(&mut self, key: &Path) -> io::Result<()> {
        self.file(key)?;
        self.live.remove(key);
        self.gc();
        Ok(())
    }

    pub(super) fn create_dir_all(&mut self, key: &Path) -> io::Result<()> {
        // Ancestors first: each needs its parent to exist.
        let mut todo: Vec<&Path> = key.ancestors().take_while(|k| !is_root(k)).collect();
        while let Some(dir) = todo.pop() {
            match self.node(dir) {
                Some(Node::Dir) => {}
                Some(Node::File(_)) => {
                    return Err(error(io::ErrorKind::NotADirectory, dir, "is a file"));
                }
                None => {
                    self.live.insert(dir.to_path_buf(), Node::Dir);
                }
            }
        }
        Ok(())
    }

    /// Names of the live entries directly in directory `key`.
    pub(super) fn list_dir(&self, key: &Path) -> io::Result<Vec<String>> {
        self.dir(key)?;
        Ok(self
            .live
            .keys()
            .filter(|k| k.parent() == Some(key))
            .filter_map(|k| k.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect())
    }

    fn dir(&self, key: &Path) -> io::Result<()> {
        match self.node(key) {
            Some(Node::Dir) => Ok(()),
            Some(Node::File(_)) => Err(error(
                io::ErrorKind::NotADirectory,
                key,
                "is not a directory",
            )),
            None => Err(not_found(key)),
        }
    }

    /// Makes the live entries directly in `key` its durable entries.
    pub(super) fn sync_dir(&mut self, key: &Path) -> io::Result<()> {
        self.dir(key)?;
        if self.faults.sync_dir.fire() {
            return Err(injected("sync_dir"));
        }
        self.stats.dir_syncs += 1;
        let in_dir = |k: &PathBuf| k.parent() == Some(key);
        self.durable.retain(|k, _| !in_dir(k));
        let entries: Vec<_> = self
            .live
            .iter()
            .filter(|(k, _)| in_dir(k))
            .map(|(k, n)| (k.clone(), *n))
            .collect();
        self.durable.extend(entries);
        self.gc();
        Ok(())
    }

    /// Takes the lock at `key` (creating the file if needed); returns the holder's token.
    pub(super) fn lock(&mut self, key: &Path) -> io::Result<u64> {
        if self.node(key).is_none() {
            self.new_file(key)?;
        }
        self.file(key)?;
        if let Some((_, epoch)) = self.locks.get(key) {
            // A lock taken before a crash died with the crashed process.
            if *epoch == self.epoch {
                return Err(error(
                    io::ErrorKind::WouldBlock,
                    key,
                    "database is locked by another holder",
                ));
            }
        }
        let token = self.next_lock;
        self.next_lock += 1;
        self.locks.insert(key.to_path_buf(), (token, self.epoch));
        Ok(token)
    }

    pub(super) fn unlock(&mut self, key: &Path, token: u64) {
        if self.locks.get(key).is_some_and(|(t, _)| *t == token) {
            self.locks.remove(key);
        }
    }

    /// Drops inodes that no name refers to and no handle has open (invariant 2).
    pub(super) fn gc(&mut self) {
        let named: BTreeSet<InodeId> = self
            .live
            .values()
            .chain(self.durable.values())
            .filter_map(|n| match n {
                Node::File(id) => Some(*id),
                Node::Dir => None,
            })
            .collect();
        self.inodes
            .retain(|id, inode| inode.writers > 0 || named.contains(id));
    }

    /// Power loss: the durable state becomes the live state.
    pub(super) fn crash(&mut self, mode: CrashMode) {
        self.epoch += 1;
        self.stats.crashes += 1;
        // Keep the durable entries whose directory survived too. A parent sorts before its
        // children (paths order by components), so one pass in order suffices.
        let mut kept: BTreeMap<PathBuf, Node> = BTreeMap::new();
        for (k, node) in &self.durable {
            let parent_survives = k
                .parent()
                .is_some_and(|p| is_root(p) || kept.get(p) == Some(&Node::Dir));
            if parent_survives {
                kept.insert(k.clone(), *node);
            }
        }
        self.live.clone_from(&kept);
        self.durable = kept;
        for inode in self.inodes.values_mut() {
            inode.writers = 0;
        }
        self.gc();
        let seed = match mode {
            CrashMode::DropUnsynced => 0,
            CrashMode::KeepRandomPrefix { seed } | CrashMode::TearLastWrite { seed } => seed,
        };
        let mut rng = Rng::new(seed);
        // In inode order, which is creation order: deterministic for a given history.
        for inode in self.inodes.values_mut() {
            inode.crash(mode, &mut rng);
        }
    }
}
