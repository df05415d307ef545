//! Which objects this instance owns. kube-state-metrics assigns an object to shard
//! `jump(fnv1a64(uid), total)`; matching it exactly lets kubestate and KSM shards share a
//! fleet and lets outputs be compared shard by shard. The `range` strategy instead gives each
//! shard a contiguous range of the same hash, which an API server with `ShardedListAndWatch`
//! (KEP-5866) can filter before sending, so a shard stops receiving the others' events.

/// FNV-1a, 64 bit.
pub fn fnv1a64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in data {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Lamping–Veach jump consistent hash, with Go's float arithmetic.
pub fn jump_hash(mut key: u64, buckets: i32) -> i32 {
    let mut b: i64 = -1;
    let mut j: i64 = 0;
    while j < buckets as i64 {
        b = j;
        key = key.wrapping_mul(2862933555777941757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    b as i32
}

/// How objects are assigned to shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// kube-state-metrics' assignment (jump hash), for fleets mixing both exporters.
    #[default]
    Jump,
    /// Contiguous hash ranges, expressible as a server-side `shardSelector`.
    Range,
}

impl Strategy {
    pub fn parse(s: &str) -> Option<Strategy> {
        match s {
            "jump" => Some(Strategy::Jump),
            "range" => Some(Strategy::Range),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Jump => "jump",
            Strategy::Range => "range",
        }
    }
}

/// This instance's share of the objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub ordinal: i32,
    pub total: i32,
    pub strategy: Strategy,
}

impl Shard {
    /// `None` when sharding is off (`--total-shards=1`).
    pub fn new(ordinal: i32, total: i32, strategy: Strategy) -> Option<Shard> {
        (total > 1).then_some(Shard {
            ordinal,
            total,
            strategy,
        })
    }

    /// A shard with kube-state-metrics' assignment.
    pub fn jump(ordinal: i32, total: i32) -> Shard {
        Shard {
            ordinal,
            total,
            strategy: Strategy::Jump,
        }
    }

    pub fn owns(&self, uid: &str) -> bool {
        let h = fnv1a64(uid.as_bytes());
        match self.strategy {
            Strategy::Jump => jump_hash(h, self.total) == self.ordinal,
            Strategy::Range => {
                let (lo, hi) = self.range();
                lo <= h as u128 && (h as u128) < hi
            }
        }
    }

    /// `[lo, hi)` of the FNV-1a 64 hash this shard owns under `range`:
    /// `[floor(i*2^64/N), floor((i+1)*2^64/N))`, the last upper bound being 2^64 itself.
    pub fn range(&self) -> (u128, u128) {
        let bound = |i: i32| ((i as u128) << 64) / self.total.max(1) as u128;
        (bound(self.ordinal), bound(self.ordinal + 1))
    }

    /// The KEP-5866 `shardSelector` for this shard, `None` under `jump` (a jump shard owns no
    /// contiguous range). Bounds are written as the API reference writes them: `0x` and 16
    /// lower-case hex digits, 2^64 as `0x10000000000000000`.
    pub fn selector(&self) -> Option<String> {
        if self.strategy != Strategy::Range {
            return None;
        }
        let (lo, hi) = self.range();
        Some(format!(
            "shardRange(object.metadata.uid, '0x{lo:016x}', '0x{hi:016x}')"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn jump_matches_reference_vectors() {
        // the vectors published with the jump consistent hash's Go implementation
        assert_eq!(jump_hash(1, 1), 0);
        assert_eq!(jump_hash(42, 57), 43);
        assert_eq!(jump_hash(0xDEAD10CC, 1), 0);
        assert_eq!(jump_hash(0xDEAD10CC, 666), 361);
        assert_eq!(jump_hash(256, 1024), 520);
    }

    #[test]
    fn every_uid_has_exactly_one_owner_and_spread_is_even() {
        let total = 4;
        let mut counts = [0usize; 4];
        for i in 0..4000 {
            let uid = format!("{:08x}-1111-2222-3333-{:012x}", i * 7919, i);
            let owners: Vec<_> = (0..total)
                .filter(|&o| Shard::jump(o, total).owns(&uid))
                .collect();
            assert_eq!(owners.len(), 1);
            counts[owners[0] as usize] += 1;
        }
        for c in counts {
            assert!((800..1200).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn growing_total_moves_only_a_fraction() {
        let mut moved = 0;
        for i in 0..2000u64 {
            let k = fnv1a64(format!("uid-{i}").as_bytes());
            if jump_hash(k, 4) != jump_hash(k, 5) {
                moved += 1;
            }
        }
        assert!((250..550).contains(&moved), "{moved}");
    }

    fn range_shard(ordinal: i32, total: i32) -> Shard {
        Shard::new(ordinal, total, Strategy::Range).unwrap()
    }

    #[test]
    fn range_bounds_are_floors_of_i_times_two_to_the_64_over_n() {
        assert_eq!(range_shard(0, 2).range(), (0, 1 << 63));
        assert_eq!(range_shard(1, 2).range(), (1 << 63, 1 << 64));
        // 2^64/3 = 6148914691236517205.33..
        assert_eq!(range_shard(0, 3).range(), (0, 6148914691236517205));
        assert_eq!(
            range_shard(1, 3).range(),
            (6148914691236517205, 12297829382473034410)
        );
        assert_eq!(range_shard(2, 3).range(), (12297829382473034410, 1 << 64));
        // N=1 owns everything (sharding is off, but the arithmetic still holds)
        let all = Shard {
            ordinal: 0,
            total: 1,
            strategy: Strategy::Range,
        };
        assert_eq!(all.range(), (0, 1 << 64));
        assert!(all.owns("") && all.owns("anything"));
        assert!(Shard::new(0, 1, Strategy::Range).is_none());
    }

    #[test]
    fn range_ownership_is_gapless_and_disjoint() {
        for total in [2, 3, 4, 7, 64] {
            let shards: Vec<_> = (0..total).map(|o| range_shard(o, total)).collect();
            // consecutive ranges meet exactly, from 0 to 2^64
            assert_eq!(shards[0].range().0, 0);
            assert_eq!(shards[total as usize - 1].range().1, 1 << 64);
            for w in shards.windows(2) {
                assert_eq!(w[0].range().1, w[1].range().0);
                assert!(w[0].range().0 < w[0].range().1);
            }
            for i in 0..3000 {
                let uid = format!("{:08x}-aaaa-bbbb-cccc-{:012x}", i * 104729, i);
                let owners = shards.iter().filter(|s| s.owns(&uid)).count();
                assert_eq!(owners, 1, "{uid} with {total} shards");
            }
        }
    }

    #[test]
    fn a_known_hash_falls_in_the_shard_whose_range_holds_it() {
        // a uid with a published hash: it lies at or above 2^63, so only the upper half owns it
        let h = fnv1a64(b"foobar") as u128; // 0x85944171f73967e8, in the upper half of 2
        assert!(range_shard(1, 2).owns("foobar") && !range_shard(0, 2).owns("foobar"));
        let s = Shard {
            ordinal: 0,
            total: 2,
            strategy: Strategy::Range,
        };
        assert!(h >= s.range().1);
    }

    #[test]
    fn selectors_are_written_as_the_api_reference_writes_them() {
        assert_eq!(Shard::jump(0, 2).selector(), None);
        let sel: Vec<_> = (0..4)
            .map(|o| range_shard(o, 4).selector().unwrap())
            .collect();
        assert_eq!(
            sel,
            [
                "shardRange(object.metadata.uid, '0x0000000000000000', '0x4000000000000000')",
                "shardRange(object.metadata.uid, '0x4000000000000000', '0x8000000000000000')",
                "shardRange(object.metadata.uid, '0x8000000000000000', '0xc000000000000000')",
                "shardRange(object.metadata.uid, '0xc000000000000000', '0x10000000000000000')",
            ]
        );
    }

    #[test]
    fn range_spread_is_even_and_differs_from_jump() {
        let mut counts = [0usize; 4];
        let mut differ = 0;
        for i in 0..4000 {
            let uid = format!("{:08x}-1111-2222-3333-{:012x}", i * 7919, i);
            let o = (0..4).find(|&o| range_shard(o, 4).owns(&uid)).unwrap();
            counts[o as usize] += 1;
            if !Shard::jump(o, 4).owns(&uid) {
                differ += 1;
            }
        }
        for c in counts {
            assert!((800..1200).contains(&c), "{counts:?}");
        }
        assert!(differ > 1000, "{differ}");
    }
}
