//! The file set of the engine and its log: version edits recorded in the manifest.

mod edit;

pub use edit::{FileMeta, VersionEdit};
