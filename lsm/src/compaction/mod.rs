//! Compaction: the pure policy that picks work, and (to come) the worker that runs it.

mod picker;

pub use picker::{
    is_bottommost, level_scores, level_targets, pick_compaction, CompactionOptions, CompactionTask,
    LevelTargets,
};
