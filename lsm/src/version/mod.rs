//! The file set of the engine and its log: version edits recorded in the manifest.

mod compensation;
mod edit;
mod file_set;
mod set;

pub use edit::{FileMeta, FileStats, VersionEdit};
pub use file_set::{Version, NUM_LEVELS};
pub use set::{VersionSet, DEFAULT_CFS};
