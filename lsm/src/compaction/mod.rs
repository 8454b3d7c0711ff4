//! Compaction: the pure policy that picks work, and (to come) the worker that runs it.

mod drop;
mod filter_factory;
mod job;
mod picker;

pub use drop::{CompactionFilter, Decision, DropPolicy, FilterDecision};
pub use filter_factory::{CompactionFilterContext, CompactionFilterFactory, StatefulFilter};
pub use job::{run as run_compaction, run_with_filter_factory, JobContext, JobResult};
pub use picker::{
    is_bottommost, level_scores, level_targets, pending_compaction_bytes, pick_compaction,
    CompactionOptions, CompactionTask, LevelTargets,
};
