//! Strata's benchmarks: the criterion micro-benchmarks (`benches/`) and `strata-bench`, the
//! side-by-side engine benchmark in db_bench's style (`engine`), the transaction
//! benchmark (`txn`: transactions per second through the transaction layer, see [`txn`]) and
//! the server benchmark (`server`: the unchanged TiKV client against a node in process, next
//! to an empty gRPC call's ceiling, see [`server`]).
//!
//! `strata-bench engine --engine all` runs each engine in a child process of its own on a
//! fresh directory, so its CPU time, bytes written and peak RSS are its own, then prints a
//! table of Strata's ratios to each. See BENCHMARKS.md for the command and the results.

pub mod bench_data;
pub mod driver;
pub mod engines;
pub mod error;
pub mod procstat;
pub mod report;
pub mod run;
pub mod server;
pub mod settings;
pub mod tasks;
pub mod txn;
pub mod workload;
