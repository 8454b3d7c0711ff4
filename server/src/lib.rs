//! Strata's server: TiKV's gRPC protocol over the transaction layer, with an embedded
//! placement driver (PD), a status server and TOML configuration.
//!
//! # Crate map
//! - `proto`: the generated kvproto subset (wire types stay inside this crate).
//! - `error`: the crate's [`Error`].
//! - `metrics`: Prometheus metrics under TiKV's names.
//! - `pd`: the embedded placement driver ([`pd::PdServer`], [`pd::serve`]).

pub mod config;
mod error;
pub mod metrics;
pub mod pd;
pub mod proto;

pub use error::{Error, Result};
