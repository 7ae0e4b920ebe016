//! Key choice: YCSB's request distributions and key naming.
//!
//! Follows YCSB core (`ZipfianGenerator`, `ScrambledZipfianGenerator`,
//! `SkewedLatestGenerator`) so results compare with published YCSB numbers:
//! the scrambled zipfian draws from a zipfian over 10^10 items with YCSB's
//! precomputed zeta and folds it with FNV-1a 64 onto the record count, so hot
//! keys are spread over the key space instead of clustered at its start.
//! Keys are `"user" + fnv64(keynum)` exactly as YCSB's hashed insert order.

/// Small, fast, seedable PRNG (wyrand). Not cryptographic; one per task.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x2545_f491_4f6c_dd1d)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.0) * u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) ^ t) as u64
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[0, n)`; `n == 0` yields 0.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// FNV-1a 64 over the 8 little-endian bytes of `v`, as YCSB's `Utils.fnvhash64`.
pub fn fnv64(mut v: u64) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for _ in 0..8 {
        let octet = v & 0xff;
        v >>= 8;
        hash ^= octet;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// YCSB record key for record number `keynum` (hashed insert order).
pub fn record_key(keynum: u64, out: &mut String) {
    use std::fmt::Write as _;
    out.clear();
    // YCSB takes Math.abs of a signed long; masking the sign bit is equivalent
    // for our purposes and keeps keys unique.
    let _ = write!(out, "user{}", fnv64(keynum) & 0x7fff_ffff_ffff_ffff);
}

pub const ZIPFIAN_CONSTANT: f64 = 0.99;

fn zeta(from: u64, to: u64, theta: f64, initial: f64) -> f64 {
    let mut sum = initial;
    for i in from..to {
        sum += 1.0 / ((i + 1) as f64).powf(theta);
    }
    sum
}

/// Zipfian over `[0, items)` (Gray et al., "Quickly generating billion-record
/// synthetic databases"); item 0 is the most popular. Supports a growing item
/// count by extending zeta incrementally, as YCSB does for `latest`.
#[derive(Clone, Debug)]
pub struct Zipfian {
    items: u64,
    theta: f64,
    alpha: f64,
    zetan: f64,
    zeta2theta: f64,
    eta: f64,
}

impl Zipfian {
    pub fn new(items: u64, theta: f64) -> Self {
        let zetan = zeta(0, items, theta, 0.0);
        Self::with_zetan(items, theta, zetan)
    }

    fn with_zetan(items: u64, theta: f64, zetan: f64) -> Self {
        let zeta2theta = zeta(0, 2, theta, 0.0);
        let mut z = Zipfian {
            items,
            theta,
            alpha: 1.0 / (1.0 - theta),
            zetan,
            zeta2theta,
            eta: 0.0,
        };
        z.eta = z.compute_eta();
        z
    }

    fn compute_eta(&self) -> f64 {
        (1.0 - (2.0 / self.items as f64).powf(1.0 - self.theta))
            / (1.0 - self.zeta2theta / self.zetan)
    }

    /// Grows the item count (never shrinks), extending zeta incrementally.
    pub fn grow_to(&mut self, items: u64) {
        if items > self.items {
            self.zetan = zeta(self.items, items, self.theta, self.zetan);
            self.items = items;
            self.eta = self.compute_eta();
        }
    }

    pub fn next(&self, rng: &mut Rng) -> u64 {
        let u = rng.next_f64();
        let uz = u * self.zetan;
        if uz < 1.0 {
            return 0;
        }
        if uz < 1.0 + 0.5f64.powf(self.theta) {
            return 1;
        }
        let v = (self.items as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64;
        v.min(self.items.saturating_sub(1))
    }
}

/// Which records requests go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DistributionKind {
    Uniform,
    Zipfian,
    Latest,
}

impl std::str::FromStr for DistributionKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "uniform" => Ok(DistributionKind::Uniform),
            "zipfian" => Ok(DistributionKind::Zipfian),
            "latest" => Ok(DistributionKind::Latest),
            other => Err(format!(
                "unknown distribution {other:?} (uniform|zipfian|latest)"
            )),
        }
    }
}

/// YCSB's scrambled-zipfian item space and its precomputed zeta for 0.99.
const SCRAMBLED_ITEMS: u64 = 10_000_000_000;
const SCRAMBLED_ZETAN: f64 = 26.469_028_201_783_02;

/// A per-task key chooser.
#[derive(Clone, Debug)]
pub enum KeyChooser {
    Uniform,
    /// Scrambled zipfian over the current record count.
    Zipfian(Zipfian),
    /// Skewed towards the most recently inserted records.
    Latest(Zipfian),
}

impl KeyChooser {
    pub fn new(kind: DistributionKind, record_count: u64) -> Self {
        match kind {
            DistributionKind::Uniform => KeyChooser::Uniform,
            DistributionKind::Zipfian => KeyChooser::Zipfian(Zipfian::with_zetan(
                SCRAMBLED_ITEMS,
                ZIPFIAN_CONSTANT,
                SCRAMBLED_ZETAN,
            )),
            DistributionKind::Latest => {
                KeyChooser::Latest(Zipfian::new(record_count.max(2), ZIPFIAN_CONSTANT))
            }
        }
    }

    /// Picks a record number in `[0, record_count)`, `record_count` being the
    /// number of records known to exist now (grows with inserts).
    pub fn next(&mut self, rng: &mut Rng, record_count: u64) -> u64 {
        let n = record_count.max(1);
        match self {
            KeyChooser::Uniform => rng.below(n),
            KeyChooser::Zipfian(z) => fnv64(z.next(rng)) % n,
            KeyChooser::Latest(z) => {
                z.grow_to(n);
                let back = z.next(rng);
                n - 1 - back.min(n - 1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(kind: DistributionKind, n: u64, draws: usize) -> Vec<u64> {
        let mut rng = Rng::new(42);
        let mut chooser = KeyChooser::new(kind, n);
        let mut counts = vec![0u64; n as usize];
        for _ in 0..draws {
            let k = chooser.next(&mut rng, n);
            counts[k as usize] += 1;
        }
        counts
    }

    fn top_share(mut counts: Vec<u64>, fraction: f64) -> f64 {
        let total: u64 = counts.iter().sum();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let top = ((counts.len() as f64 * fraction) as usize).max(1);
        counts[..top].iter().sum::<u64>() as f64 / total as f64
    }

    #[test]
    fn zipfian_top_one_percent_gets_a_large_share() {
        // YCSB's scrambled zipfian draws ranks over 10^10 items, so the top
        // 100 ranks carry ~(ln 100 + γ) / 26.47 ≈ 20% of requests — 20× the
        // uniform share — spread by FNV over the key space.
        let share = top_share(histogram(DistributionKind::Zipfian, 10_000, 500_000), 0.01);
        assert!(share > 0.15, "top 1% share {share}");
        // The plain zipfian over the record count is steeper: ≈ 53%.
        let z = Zipfian::new(10_000, ZIPFIAN_CONSTANT);
        let mut rng = Rng::new(5);
        let top = (0..200_000).filter(|_| z.next(&mut rng) < 100).count();
        let share = top as f64 / 200_000.0;
        assert!(
            (0.45..0.60).contains(&share),
            "plain zipfian top 1% share {share}"
        );
    }

    #[test]
    fn uniform_is_flat() {
        let share = top_share(histogram(DistributionKind::Uniform, 10_000, 500_000), 0.01);
        assert!(share < 0.03, "top 1% share {share}");
    }

    #[test]
    fn latest_prefers_recent_records() {
        let counts = histogram(DistributionKind::Latest, 1000, 100_000);
        let last_tenth: u64 = counts[900..].iter().sum();
        assert!(last_tenth > 50_000, "last 10% got {last_tenth}");
        assert!(counts[999] > counts[0]);
    }

    #[test]
    fn unscrambled_zipfian_stays_in_range_and_ranks_zero_first() {
        let z = Zipfian::new(100, ZIPFIAN_CONSTANT);
        let mut rng = Rng::new(7);
        let mut counts = [0u32; 100];
        for _ in 0..100_000 {
            counts[z.next(&mut rng) as usize] += 1;
        }
        assert!(counts[0] > counts[1] && counts[1] > counts[10]);
    }

    #[test]
    fn growing_zipfian_matches_fresh_one() {
        let mut grown = Zipfian::new(100, 0.99);
        grown.grow_to(1000);
        let fresh = Zipfian::new(1000, 0.99);
        assert!((grown.zetan - fresh.zetan).abs() < 1e-9);
        assert!((grown.eta - fresh.eta).abs() < 1e-9);
    }

    #[test]
    fn record_keys_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        let mut k = String::new();
        for i in 0..10_000 {
            record_key(i, &mut k);
            assert!(seen.insert(k.clone()));
        }
    }
}
