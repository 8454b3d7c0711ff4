//! Strata's server: TiKV's gRPC protocol over the transaction layer, with an embedded
//! placement driver (PD), a status server and TOML configuration.
//!
//! # Crate map
//! - `proto`: the generated kvproto subset (wire types stay inside this crate).
//! - `error`: the crate's [`Error`].
//! - `metrics`: Prometheus metrics under TiKV's names (gRPC, commands, the engine at scrape
//!   time, the process).
//! - `config`: [`config::Config`] — TOML with TiKV's keys and readable units, validation, the
//!   sample file, the command-line flags ([`config::Args`]).
//! - `status`: the HTTP status server (`/metrics`, `/status`, `/config`).
//! - `node`: [`run`], the whole server for a configuration.

pub mod config;
mod error;
pub mod metrics;
mod node;
pub mod proto;
pub mod status;

pub use error::{Error, Result};
pub use node::run;
