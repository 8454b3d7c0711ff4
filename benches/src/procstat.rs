//! What the process used, read from `/proc/self`: CPU time, bytes written to storage, peak
//! resident memory; and the bytes a directory holds on disk.
//!
//! Each engine runs in a process of its own (see `run`), so these counters belong to one
//! engine: its foreground and background threads alike.

use std::path::Path;

use procfs::process::Process;

use crate::error::{Error, Result};

/// Cumulative counters of this process at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    /// User + system CPU seconds of all threads.
    pub cpu_secs: f64,
    /// Bytes this process caused to be written to storage (`write_bytes`, which counts page
    /// cache writes as they are dirtied, so buffered writes count before writeback).
    pub write_bytes: u64,
    /// Bytes this process caused to be read from storage (page cache hits excluded).
    pub read_bytes: u64,
}

fn proc_error(e: procfs::ProcError) -> Error {
    Error::Io(std::io::Error::other(e.to_string()))
}

impl ProcSample {
    /// Reads the counters now.
    ///
    /// # Errors
    /// `Io` if `/proc/self` cannot be read (not Linux, or no task I/O accounting).
    pub fn now() -> Result<ProcSample> {
        let me = Process::myself().map_err(proc_error)?;
        let stat = me.stat().map_err(proc_error)?;
        let io = me.io().map_err(proc_error)?;
        let ticks = procfs::ticks_per_second() as f64;
        Ok(ProcSample {
            cpu_secs: (stat.utime + stat.stime) as f64 / ticks,
            write_bytes: io.write_bytes,
            read_bytes: io.read_bytes,
        })
    }

    /// The counters accumulated since `earlier`.
    pub fn since(&self, earlier: &ProcSample) -> ProcSample {
        ProcSample {
            cpu_secs: self.cpu_secs - earlier.cpu_secs,
            write_bytes: self.write_bytes.saturating_sub(earlier.write_bytes),
            read_bytes: self.read_bytes.saturating_sub(earlier.read_bytes),
        }
    }
}

/// The process's peak resident set size in bytes (`VmHWM`).
///
/// # Errors
/// `Io` if `/proc/self/status` cannot be read.
pub fn peak_rss_bytes() -> Result<u64> {
    let status = Process::myself()
        .and_then(|me| me.status())
        .map_err(proc_error)?;
    Ok(status.vmhwm.unwrap_or(0) * 1024)
}

/// The process's resident memory now: (anonymous, file-backed) bytes. File-backed pages are
/// mapped files (an engine's mmapped tables): the kernel may drop them, but they count in RSS.
///
/// # Errors
/// `Io` if `/proc/self/status` cannot be read.
pub fn rss_split_bytes() -> Result<(u64, u64)> {
    let status = Process::myself()
        .and_then(|me| me.status())
        .map_err(proc_error)?;
    Ok((
        status.rssanon.unwrap_or(0) * 1024,
        status.rssfile.unwrap_or(0) * 1024,
    ))
}

/// Bytes of the regular files under `dir`, recursively (their lengths, as `du
/// --apparent-size` counts them).
///
/// # Errors
/// `Io` from reading the directory.
pub fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            total += dir_bytes(&entry.path())?;
        } else if kind.is_file() {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

/// A line naming the machine: CPU model, cores, memory, kernel.
pub fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')))
        .map_or("unknown CPU", |(_, m)| m.trim());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{model}, {cores} cores, {:.1} GiB RAM, Linux {}",
        mem_kib as f64 / 1048576.0,
        kernel.trim()
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn counters_see_this_process_work() {
        let before = ProcSample::now().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a"), vec![1u8; 300_000]).unwrap();
        std::fs::write(dir.path().join("b"), vec![2u8; 1000]).unwrap();
        let file = std::fs::File::open(dir.path().join("b")).unwrap();
        file.sync_all().unwrap();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let used = ProcSample::now().unwrap().since(&before);
        assert!(used.write_bytes >= 300_000, "{used:?}");
        assert!(used.cpu_secs >= 0.0);
        assert_eq!(dir_bytes(dir.path()).unwrap(), 301_000);
        assert!(peak_rss_bytes().unwrap() > 1 << 20);
    }
}
