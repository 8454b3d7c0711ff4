//! What the task-based drivers (`txn`, `server`) and the engine driver share: the latency
//! histogram every worker records into, and joining a set of worker tasks into one outcome.

use hdrhistogram::Histogram;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};

/// A latency histogram in nanoseconds, up to an hour at three significant digits. Fixed
/// bounds, because an auto-resizing histogram clamps `saturating_record` to its current
/// bound; the same shape everywhere, so histograms of different workers merge.
///
/// # Errors
/// `Usage` if hdrhistogram refuses the bounds (it does not for these constants).
pub fn latency_histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).map_err(|e| Error::Usage(e.to_string()))
}

/// Awaits every task, passing each outcome to `merge` in task order; after all have ended,
/// returns the first error a task returned (or its panic, as `Usage`). Every task is
/// awaited even after an error, so none is left running.
///
/// # Errors
/// The first task error, or the first error of `merge`.
pub async fn join_all<T>(
    tasks: Vec<JoinHandle<Result<T>>>,
    mut merge: impl FnMut(T) -> Result<()>,
) -> Result<()> {
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok(Ok(outcome)) => merge(outcome)?,
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(Error::Usage(format!("a client task failed: {e}")));
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}
