//! Reading the write batches of a WAL: one batch per log record.
//!
//! Point-in-time: reading stops at the first damaged or incomplete record, and
//! [`WalBatches::stopped_at`] says where. A record that is intact but does not decode as a
//! batch is a corruption error.

use super::WriteBatch;
use crate::error::{Error, Result};

/// The batches of one WAL held in memory.
pub(crate) struct WalBatches<'a> {
    reader: wal::Reader<&'a [u8]>,
    name: String,
    record: Vec<u8>,
}

impl<'a> WalBatches<'a> {
    /// Batches of the log `bytes`; `name` identifies it in errors.
    pub(crate) fn new(bytes: &'a [u8], name: String) -> Self {
        WalBatches {
            reader: wal::Reader::new(bytes, name.clone(), wal::RecoveryMode::PointInTime),
            name,
            record: Vec::new(),
        }
    }

    /// The next batch with the offset of its record; `None` at the end of the log or at the
    /// first damaged record.
    ///
    /// # Errors
    /// `Corruption` for an intact record that is not a valid batch.
    pub(crate) fn next_batch(&mut self) -> Result<Option<(u64, WriteBatch)>> {
        let offset = self
            .reader
            .read_record(&mut self.record)
            .map_err(|e| Error::Corruption {
                file: self.name.clone(),
                offset: 0,
                reason: e.to_string(),
            })?;
        let Some(offset) = offset else {
            return Ok(None);
        };
        let batch = WriteBatch::from_wal_record(&self.record)
            .map_err(|e| e.into_error(&self.name, offset))?;
        Ok(Some((offset, batch)))
    }

    /// Why reading stopped early, if it did.
    pub(crate) fn stopped_at(&self) -> Option<&wal::Corruption> {
        self.reader.stopped_at()
    }
}
