//! Compaction: the pure policy that picks work, and (to come) the worker that runs it.

mod drop;
mod job;
mod picker;

pub use drop::{CompactionFilter, Decision, DropPolicy, FilterDecision};
pub use job::{run as run_compaction, JobContext, JobResult};
pub use picker::{
    is_bottommost, level_scores, level_targets, pending_compaction_bytes, pick_compaction,
    CompactionOptions, CompactionTask, LevelTargets,
};
