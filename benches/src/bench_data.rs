//! Keys and values shared by the criterion benches (`benches/benches/*.rs`): one generator,
//! so every layer's figures are measured on the same shape of data.

/// Key size of the micro-benchmarks, as db_bench's default.
pub const KEY_SIZE: usize = 16;
/// Value size of the micro-benchmarks, as db_bench's default.
pub const VALUE_SIZE: usize = 100;

/// xorshift64*: tiny, deterministic, good enough to spread keys and fill values. The state is
/// public so a bench can start from an exact state; [`Rng::new`] makes any seed usable.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// A generator from `seed` (forced odd: a zero state would stay zero).
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `0..n` for benchmarking (n is far below 2^32).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// [`KEY_SIZE`] random bytes.
    pub fn key(&mut self) -> [u8; KEY_SIZE] {
        let mut k = [0u8; KEY_SIZE];
        k[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        k[8..].copy_from_slice(&self.next_u64().to_be_bytes());
        k
    }

    /// Half random bytes, then one byte repeated: compresses to about half.
    pub fn value(&mut self) -> [u8; VALUE_SIZE] {
        let mut value = [0u8; VALUE_SIZE];
        let (random, repeated) = value.split_at_mut(VALUE_SIZE / 2);
        for byte in random.iter_mut() {
            *byte = self.next_u64() as u8;
        }
        repeated.fill(self.next_u64() as u8);
        value
    }
}

/// `n` as [`KEY_SIZE`] ASCII decimal digits, like LevelDB's db_bench keys.
pub fn key_of(n: u64) -> [u8; KEY_SIZE] {
    let mut key = [b'0'; KEY_SIZE];
    let mut rest = n;
    for byte in key.iter_mut().rev() {
        *byte = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fixed_width_decimals_in_order() {
        assert_eq!(&key_of(42), b"0000000000000042");
        assert!(key_of(9) < key_of(10));
    }

    #[test]
    fn values_are_half_random_half_repeated() {
        let v = Rng::new(7).value();
        let tail = &v[VALUE_SIZE / 2..];
        assert!(tail.iter().all(|b| *b == tail[0]));
        assert_ne!(Rng::new(7).key(), Rng::new(8).key());
    }
}
