//! Sizes and durations written the way operators read them, in TiKV's forms: `"64MiB"`,
//! `"512KiB"`, `"1GiB"`, `"10s"`, `"500ms"`, `"1m30s"`. Both types serialize back to that
//! form, so `/config` and the sample show what a person would type.
//!
//! As in TiKV, the decimal-looking units mean binary ones: `KB` = `KiB` = `K` = 1024 bytes,
//! `MB` = `MiB`, and so on. A size may also be a plain TOML integer (bytes).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const TIB: u64 = 1 << 40;
const PIB: u64 = 1 << 50;

/// Largest unit first: serialization picks the largest unit that divides the size exactly.
const SIZE_UNITS: [(u64, &str); 5] = [
    (PIB, "PiB"),
    (TIB, "TiB"),
    (GIB, "GiB"),
    (MIB, "MiB"),
    (KIB, "KiB"),
];

/// A number of bytes, read from `"64MiB"`-style strings or plain integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ReadableSize(pub u64);

impl ReadableSize {
    /// `n` KiB.
    pub const fn kib(n: u64) -> ReadableSize {
        ReadableSize(n * KIB)
    }

    /// `n` MiB.
    pub const fn mib(n: u64) -> ReadableSize {
        ReadableSize(n * MIB)
    }

    /// `n` GiB.
    pub const fn gib(n: u64) -> ReadableSize {
        ReadableSize(n * GIB)
    }

    /// The size in bytes.
    pub const fn as_bytes(self) -> u64 {
        self.0
    }

    /// The size in bytes as a `usize`, saturating on 32-bit targets.
    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

impl fmt::Display for ReadableSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n == 0 {
            return f.write_str("0B");
        }
        for (unit, name) in SIZE_UNITS {
            if n.is_multiple_of(unit) {
                return write!(f, "{}{name}", n / unit);
            }
        }
        write!(f, "{n}B")
    }
}

impl FromStr for ReadableSize {
    type Err = String;

    fn from_str(s: &str) -> Result<ReadableSize, String> {
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (number, unit) = s.split_at(split);
        let unit = unit.trim();
        let multiplier = match unit.to_ascii_uppercase().as_str() {
            "" | "B" => 1,
            "K" | "KB" | "KIB" => KIB,
            "M" | "MB" | "MIB" => MIB,
            "G" | "GB" | "GIB" => GIB,
            "T" | "TB" | "TIB" => TIB,
            "P" | "PB" | "PIB" => PIB,
            _ => {
                return Err(format!(
                    "`{s}`: unknown size unit `{unit}` (use B, KiB, MiB, GiB, TiB, PiB)"
                ))
            }
        };
        if number.is_empty() {
            return Err(format!("`{s}`: a size needs a number, e.g. \"64MiB\""));
        }
        if let Ok(n) = number.parse::<u64>() {
            return n
                .checked_mul(multiplier)
                .map(ReadableSize)
                .ok_or_else(|| format!("`{s}`: too large"));
        }
        // "1.5GiB": fractions are allowed as in TiKV; the result is rounded down to a byte.
        let n: f64 = number
            .parse()
            .map_err(|_| format!("`{s}`: `{number}` is not a number"))?;
        let bytes = n * multiplier as f64;
        if !bytes.is_finite() || bytes >= u64::MAX as f64 {
            return Err(format!("`{s}`: too large"));
        }
        Ok(ReadableSize(bytes as u64))
    }
}

impl Serialize for ReadableSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ReadableSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;

        impl Visitor<'_> for SizeVisitor {
            type Value = ReadableSize;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as \"64MiB\" or a number of bytes")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ReadableSize, E> {
                u64::try_from(v)
                    .map(ReadableSize)
                    .map_err(|_| E::custom(format!("a size cannot be negative ({v})")))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ReadableSize, E> {
                Ok(ReadableSize(v))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ReadableSize, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_any(SizeVisitor)
    }
}

/// Units a duration may be written in, largest first; serialization uses each at most once.
const DURATION_UNITS: [(u128, &str); 5] = [
    (86_400_000, "d"),
    (3_600_000, "h"),
    (60_000, "m"),
    (1_000, "s"),
    (1, "ms"),
];

/// A duration read from `"10s"`, `"500ms"`, `"1m30s"`, `"2h"`, `"1d"` (segments largest unit
/// first, each a number with a unit; fractions allowed: `"1.5s"`). Millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ReadableDuration(pub Duration);

impl ReadableDuration {
    /// `n` seconds.
    pub const fn secs(n: u64) -> ReadableDuration {
        ReadableDuration(Duration::from_secs(n))
    }

    /// `n` milliseconds.
    pub const fn millis(n: u64) -> ReadableDuration {
        ReadableDuration(Duration::from_millis(n))
    }

    /// The duration.
    pub const fn as_duration(self) -> Duration {
        self.0
    }
}

impl fmt::Display for ReadableDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0.as_millis();
        if rest == 0 {
            return f.write_str("0s");
        }
        for (unit, name) in DURATION_UNITS {
            if rest >= unit {
                write!(f, "{}{name}", rest / unit)?;
                rest %= unit;
            }
        }
        Ok(())
    }
}

impl FromStr for ReadableDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<ReadableDuration, String> {
        let text = s.trim();
        if text.is_empty() {
            return Err("an empty duration (write e.g. \"10s\")".into());
        }
        let mut rest = text;
        let mut millis = 0f64;
        // Index into DURATION_UNITS of the last unit seen: segments must get strictly smaller.
        let mut last_unit: Option<usize> = None;
        while !rest.is_empty() {
            let number_end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| format!("`{text}`: `{rest}` has no unit (use d, h, m, s, ms)"))?;
            let (number, tail) = rest.split_at(number_end);
            let unit_end = tail
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(tail.len());
            let (unit, tail) = tail.split_at(unit_end);
            let index = DURATION_UNITS
                .iter()
                .position(|(_, name)| *name == unit)
                .ok_or_else(|| format!("`{text}`: unknown unit `{unit}` (use d, h, m, s, ms)"))?;
            if last_unit.is_some_and(|last| index <= last) {
                return Err(format!("`{text}`: units must go from largest to smallest"));
            }
            last_unit = Some(index);
            let n: f64 = number
                .parse()
                .map_err(|_| format!("`{text}`: `{number}` is not a number"))?;
            millis += n * DURATION_UNITS[index].0 as f64;
            rest = tail;
        }
        if !millis.is_finite() || millis >= u64::MAX as f64 {
            return Err(format!("`{text}`: too long"));
        }
        Ok(ReadableDuration(Duration::from_millis(millis as u64)))
    }
}

impl Serialize for ReadableDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ReadableDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(s: &str) -> u64 {
        s.parse::<ReadableSize>().unwrap().0
    }

    #[test]
    fn sizes_parse_binary_units_whatever_the_spelling() {
        assert_eq!(size("64MiB"), 64 << 20);
        assert_eq!(size("64MB"), 64 << 20, "MB means MiB, as in TiKV");
        assert_eq!(size("64M"), 64 << 20);
        assert_eq!(size("512KiB"), 512 << 10);
        assert_eq!(size("512KB"), 512 << 10);
        assert_eq!(size("1GiB"), 1 << 30);
        assert_eq!(size("1GB"), 1 << 30);
        assert_eq!(size("2TB"), 2 << 40);
        assert_eq!(size("123"), 123);
        assert_eq!(size("123B"), 123);
        assert_eq!(size("1.5GiB"), 3 << 29);
        assert_eq!(size(" 8 kib "), 8 << 10);
    }

    #[test]
    fn bad_sizes_are_refused() {
        for bad in ["", "MiB", "12XB", "1.2.3MiB", "-1MiB", "99999999999PiB"] {
            assert!(bad.parse::<ReadableSize>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn sizes_print_in_the_largest_exact_unit() {
        assert_eq!(ReadableSize::mib(64).to_string(), "64MiB");
        assert_eq!(ReadableSize::kib(512).to_string(), "512KiB");
        assert_eq!(ReadableSize::gib(1).to_string(), "1GiB");
        assert_eq!(ReadableSize::kib(1536).to_string(), "1536KiB");
        assert_eq!(ReadableSize(1000).to_string(), "1000B");
        assert_eq!(ReadableSize(0).to_string(), "0B");
        for n in [0, 1, 1000, 1 << 20, 3 << 29, (1 << 40) + 1024] {
            let s = ReadableSize(n).to_string();
            assert_eq!(size(&s), n, "{s} does not read back");
        }
    }

    #[test]
    fn sizes_deserialize_from_strings_and_integers() {
        #[derive(Deserialize, Serialize)]
        struct T {
            a: ReadableSize,
            b: ReadableSize,
        }
        let t: T = toml::from_str("a = \"64MB\"\nb = 4096").unwrap();
        assert_eq!((t.a.0, t.b.0), (64 << 20, 4096));
        assert_eq!(
            toml::to_string(&t).unwrap(),
            "a = \"64MiB\"\nb = \"4KiB\"\n"
        );
        assert!(toml::from_str::<T>("a = -1\nb = 1").is_err());
    }

    fn dur(s: &str) -> Duration {
        s.parse::<ReadableDuration>().unwrap().0
    }

    #[test]
    fn durations_parse_tikv_forms() {
        assert_eq!(dur("10s"), Duration::from_secs(10));
        assert_eq!(dur("500ms"), Duration::from_millis(500));
        assert_eq!(dur("1m30s"), Duration::from_secs(90));
        assert_eq!(dur("2h"), Duration::from_secs(7200));
        assert_eq!(dur("1d2h"), Duration::from_secs(26 * 3600));
        assert_eq!(dur("1.5s"), Duration::from_millis(1500));
        assert_eq!(dur("1h0m1s5ms"), Duration::from_millis(3_601_005));
    }

    #[test]
    fn bad_durations_are_refused() {
        for bad in ["", "10", "s", "10x", "1s1m", "1s1s", "1..2s", "-1s"] {
            assert!(
                bad.parse::<ReadableDuration>().is_err(),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn durations_print_back_in_the_same_form() {
        assert_eq!(ReadableDuration::secs(90).to_string(), "1m30s");
        assert_eq!(ReadableDuration::millis(500).to_string(), "500ms");
        assert_eq!(ReadableDuration::secs(7200).to_string(), "2h");
        assert_eq!(ReadableDuration::secs(0).to_string(), "0s");
        for ms in [0, 1, 999, 1000, 61_001, 90_061_001] {
            let d = ReadableDuration::millis(ms);
            assert_eq!(dur(&d.to_string()), d.0, "{d} does not read back");
        }
    }
}
