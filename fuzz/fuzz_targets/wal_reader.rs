//! Feeds arbitrary bytes to `wal::Reader` in both recovery modes.
//!
//! Beyond "never panics", checks the properties recovery relies on:
//! - point-in-time never returns an error for an in-memory source;
//! - both modes return the same records, in the same order, at strictly
//!   increasing offsets inside the input;
//! - absolute mode errors (with `Corruption`) exactly when point-in-time
//!   reports `stopped_at`, at the same place;
//! - records never hold more bytes than the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wal::{Error, Reader, RecoveryMode};

fuzz_target!(|data: &[u8]| {
    let mut pit = Reader::new(data, "fuzz.log", RecoveryMode::PointInTime);
    let mut abs = Reader::new(data, "fuzz.log", RecoveryMode::Absolute);
    let mut a = Vec::new();
    let mut b = Vec::new();
    let mut previous: Option<u64> = None;
    loop {
        let from_pit = match pit.read_record(&mut a) {
            Ok(r) => r,
            Err(e) => panic!("point-in-time read returned an error: {e}"),
        };
        let from_abs = abs.read_record(&mut b);
        match (from_pit, from_abs) {
            (Some(o1), Ok(Some(o2))) => {
                assert_eq!(o1, o2, "modes disagree on the offset");
                assert_eq!(a, b, "modes disagree on the record");
                assert!(previous.is_none_or(|p| o1 > p), "offsets must increase");
                assert!(o1 < data.len() as u64);
                assert!(a.len() <= data.len());
                previous = Some(o1);
            }
            (None, Ok(None)) => {
                assert!(
                    pit.stopped_at().is_none(),
                    "absolute accepted what point-in-time rejected"
                );
                break;
            }
            (None, Err(Error::Corruption(c))) => {
                assert_eq!(pit.stopped_at(), Some(&c), "modes disagree on the damage");
                assert!(a.is_empty() && b.is_empty(), "no partial record is exposed");
                break;
            }
            (p, abs) => panic!("modes diverge: point-in-time {p:?}, absolute {abs:?}"),
        }
    }
    assert!(pit.last_record_end() <= data.len() as u64);
    assert_eq!(pit.last_record_end(), abs.last_record_end());
    // Finished readers stay finished.
    assert!(matches!(pit.read_record(&mut a), Ok(None)));
    assert!(matches!(abs.read_record(&mut b), Ok(None)));
});
