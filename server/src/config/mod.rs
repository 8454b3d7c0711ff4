//! Placeholder: the configuration (TOML with TiKV-style keys, readable units, flags) is being
//! written on the `ops` branch, which replaces this file.

/// The server's configuration (placeholder until the `ops` branch lands).
#[derive(Debug, Clone, Default)]
pub struct Config {}
