//! Strata's server: TiKV's gRPC protocol over the transaction layer, with an embedded
//! placement driver (PD), a status server and TOML configuration.
//!
//! # Crate map
//! - `proto`: the generated kvproto subset (wire types stay inside this crate).
//! - `error`: the crate's [`Error`].
//! - `metrics`: Prometheus metrics under TiKV's names.
//! - `region`: the regions this node serves and the context checks (pure).
//! - `node`: a node — storage, KV service, embedded PD, joining the cluster, heartbeats,
//!   splits; `node/meta.rs` (identity and regions on disk), `node/pd_client.rs`,
//!   `node/run.rs` ([`run`]: the whole server for a configuration, with its status server).
//! - `kv`: the KV service (`tikvpb.Tikv`): handlers, conversions, error mapping.
//! - `raftnet`: the Raft transport between stores over gRPC (`strata.raftnet.RaftNet`):
//!   [`raftnet::GrpcTransport`], [`raftnet::service`], address resolution.
//! - `pd`: the embedded placement driver ([`pd::PdServer`], [`pd::serve`]).
//! - `metrics`: Prometheus metrics under TiKV's names (gRPC, commands, the engine at scrape
//!   time, the process).
//! - `config`: [`config::Config`] — TOML with TiKV's keys and readable units, validation, the
//!   sample file, the command-line flags ([`config::Args`]).
//! - `status`: the HTTP status server (`/metrics`, `/status`, `/config`).
//! - `playground`: `strata-server playground` — PD and N node processes on one machine.

pub mod config;
mod error;
pub mod kv;
pub mod metrics;
pub mod node;
pub mod pd;
pub mod playground;
pub mod proto;
pub mod raftnet;
pub mod region;
pub mod status;

pub use error::{Error, Result};
pub use node::run;
