//! `strata-server playground`: a whole cluster on one machine in one command, like
//! `tiup playground` — a PD process (`strata-server pd`) and N node processes of this same
//! binary on loopback, each with its own data directory and log file. It prints the
//! endpoints once every process answers, and stops them all (SIGTERM, then waits) on
//! Ctrl-C. Nodes are separate processes so one can be killed and restarted on its own.
//!
//! `plan.rs` lays the cluster out (pure); `supervise.rs` runs it.

mod plan;
mod supervise;

pub use plan::{Plan, PlaygroundArgs, ProcessSpec};
pub use supervise::run;
