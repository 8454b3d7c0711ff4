//! The one error type of the `lsm` crate.

use std::io;

/// Errors returned by the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file system failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory being accessed.
        path: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// Persistent state is damaged: a table, the manifest, CURRENT, or a WAL in absolute mode.
    #[error("corruption in {file} at offset {offset}: {reason}")]
    Corruption {
        /// The damaged file.
        file: String,
        /// Byte offset of the damage, where known (0 otherwise).
        offset: u64,
        /// What is wrong.
        reason: String,
    },

    /// An argument is outside what the engine accepts.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A background write or fsync failed earlier; the engine refuses writes from then on,
    /// because what is durable is no longer known (an fsync error is never retried).
    #[error("the engine stopped accepting writes after an earlier failure: {0}")]
    Background(String),
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<std::path::Path>, source: io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    /// True for damaged persistent state (as opposed to I/O failures or misuse).
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. })
    }
}

impl From<sstable::Error> for Error {
    fn from(e: sstable::Error) -> Self {
        match e {
            sstable::Error::Io { file, source } => Error::Io { path: file, source },
            sstable::Error::Corruption {
                file,
                offset,
                reason,
            } => Error::Corruption {
                file,
                offset,
                reason,
            },
            other if other.is_corruption() => Error::Corruption {
                file: String::new(),
                offset: 0,
                reason: other.to_string(),
            },
            other => Error::InvalidArgument(other.to_string()),
        }
    }
}
