//! Lock-free, fixed-capacity metric series keyed by a packed `u64` of label ids: recording is a
//! probe of a preallocated slot array and atomic adds, never a lock or an allocation. A series
//! is claimed by one compare-and-swap the first time its key is seen; when the probe window is
//! full, the value goes to the map's overflow series (rendered with every label `other`), so a
//! flood of label combinations costs memory once, at startup, and no more.

use std::sync::atomic::{AtomicU64, Ordering};

/// Probes before a key gives up and counts in the overflow series.
const PROBES: usize = 16;
/// Set on every stored key, so that 0 means an empty slot.
const USED: u64 = 1 << 63;

/// One value of a series: a counter or a histogram.
pub(crate) trait Cell: Sync {
    fn new(bounds: &'static [f64]) -> Self;
}

/// `bounds.len() + 1` bucket counts (the last is above every bound) and the sum of the
/// observations as `f64` bits.
#[derive(Debug)]
pub(crate) struct Histogram {
    bounds: &'static [f64],
    buckets: Box<[AtomicU64]>,
    sum: AtomicU64,
}

impl Cell for Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }
}

impl Cell for AtomicU64 {
    fn new(_: &'static [f64]) -> AtomicU64 {
        AtomicU64::new(0)
    }
}

impl Histogram {
    pub(crate) fn observe(&self, v: f64) {
        let v = if v.is_finite() { v.max(0.0) } else { 0.0 };
        let i = self.bounds.partition_point(|&b| b < v);
        if let Some(b) = self.buckets.get(i) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        // A compare-and-swap loop: there is no atomic f64 add. Contended only by observations
        // of the same series at the same instant.
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                Some((f64::from_bits(s) + v).to_bits())
            });
    }

    /// `(sum, count, [(upper bound, count in that bucket)])`, the last bound `+Inf`; the count
    /// is the buckets' total, so the exposition is always consistent.
    pub(crate) fn read(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let mut total = 0;
        let buckets = self
            .buckets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let n = b.load(Ordering::Relaxed);
                total += n;
                (self.bounds.get(i).copied().unwrap_or(f64::INFINITY), n)
            })
            .collect();
        (
            f64::from_bits(self.sum.load(Ordering::Relaxed)),
            total,
            buckets,
        )
    }

    pub(crate) fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }
}

#[derive(Debug)]
struct Slot<V> {
    key: AtomicU64,
    value: V,
}

/// Series of one metric, by packed label key (at most 63 bits).
#[derive(Debug)]
pub(crate) struct Series<V> {
    slots: Box<[Slot<V>]>,
    overflow: V,
    shift: u32,
}

pub(crate) type Counters = Series<AtomicU64>;
pub(crate) type Histograms = Series<Histogram>;

impl<V: Cell> Series<V> {
    /// `capacity` is rounded up to a power of two.
    pub(crate) fn new(capacity: usize, bounds: &'static [f64]) -> Series<V> {
        let n = capacity.next_power_of_two().max(PROBES);
        Series {
            slots: (0..n)
                .map(|_| Slot {
                    key: AtomicU64::new(0),
                    value: V::new(bounds),
                })
                .collect(),
            overflow: V::new(bounds),
            shift: 64 - n.trailing_zeros(),
        }
    }

    /// The series for `key`, claimed if new; the overflow series when the map is full there.
    pub(crate) fn get(&self, key: u64) -> &V {
        let want = key | USED;
        let mask = self.slots.len() - 1;
        let start = (want.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize;
        for i in start..start + PROBES {
            let slot = &self.slots[i & mask];
            let k = slot.key.load(Ordering::Acquire);
            if k == want {
                return &slot.value;
            }
            if k == 0 {
                match slot
                    .key
                    .compare_exchange(0, want, Ordering::AcqRel, Ordering::Acquire)
                {
                    Ok(_) => return &slot.value,
                    Err(now) if now == want => return &slot.value,
                    Err(_) => {}
                }
            }
        }
        &self.overflow
    }

    /// Every claimed series (key without the marker), then the overflow series as `None`.
    pub(crate) fn each(&self, mut f: impl FnMut(Option<u64>, &V)) {
        for s in self.slots.iter() {
            let k = s.key.load(Ordering::Acquire);
            if k != 0 {
                f(Some(k & !USED), &s.value);
            }
        }
        f(None, &self.overflow);
    }
}

impl Series<AtomicU64> {
    pub(crate) fn add(&self, key: u64, n: u64) {
        self.get(key).fetch_add(n, Ordering::Relaxed);
    }

    /// The value of `key` (0 when never recorded); for tests and `status`.
    pub(crate) fn value(&self, key: u64) -> u64 {
        let mut v = 0;
        self.each(|k, c| {
            if k == Some(key) {
                v = c.load(Ordering::Relaxed);
            }
        });
        v
    }

    /// The sum over every series that `keep` accepts.
    pub(crate) fn sum(&self, mut keep: impl FnMut(u64) -> bool) -> u64 {
        let mut total = 0;
        self.each(|k, c| {
            if k.is_none_or(&mut keep) {
                total += c.load(Ordering::Relaxed);
            }
        });
        total
    }
}

/// Packs label ids into a key: each `(value, bits)` in order, low bits first.
pub(crate) fn pack(fields: &[(u64, u32)]) -> u64 {
    let mut key = 0;
    let mut shift = 0;
    for &(v, bits) in fields {
        key |= (v & ((1 << bits) - 1)) << shift;
        shift += bits;
    }
    key
}

/// The field at `index` of a key packed with `widths`.
pub(crate) fn field(key: u64, widths: &[u32], index: usize) -> u64 {
    let shift: u32 = widths[..index].iter().sum();
    (key >> shift) & ((1 << widths[index]) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_claim_slots_once_and_overflow_when_full() {
        let c: Counters = Series::new(16, &[]);
        for k in 0..16u64 {
            c.add(k, k + 1);
        }
        c.add(3, 10);
        assert_eq!(c.value(3), 14);
        // Every slot is taken: a new key lands in the overflow series.
        c.add(99, 5);
        let mut overflow = 0;
        c.each(|k, v| {
            if k.is_none() {
                overflow = v.load(Ordering::Relaxed);
            }
        });
        assert_eq!(overflow, 5);
        assert_eq!(c.sum(|_| true), (1..=16).sum::<u64>() + 10 + 5);
    }

    #[test]
    fn histograms_bucket_by_upper_bound() {
        let h: Histograms = Series::new(16, &[0.1, 1.0]);
        for v in [0.05, 0.1, 0.5, 7.0] {
            h.get(1).observe(v);
        }
        let (sum, count, buckets) = h.get(1).read();
        assert_eq!(count, 4);
        assert!((sum - 7.65).abs() < 1e-9);
        assert_eq!(buckets, vec![(0.1, 2), (1.0, 1), (f64::INFINITY, 1)]);
    }

    #[test]
    fn packing_round_trips() {
        let widths = [10, 8, 3];
        let k = pack(&[(1000, 10), (200, 8), (5, 3)]);
        assert_eq!(
            (0..3).map(|i| field(k, &widths, i)).collect::<Vec<_>>(),
            [1000, 200, 5]
        );
    }
}
