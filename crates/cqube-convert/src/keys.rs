//! Duplicate-key detection in bounded memory.
//!
//! Each row's key is hashed to 64 bits (xxh3) and kept in an open-addressing table of `u64`s, at most 7/8 full,
//! beside a 32-bit fingerprint of the row's first copy (to tell a copy that differs, whose key cQube then discards
//! whole, from an exact duplicate, which cQube collapses): 12 bytes a key. The table doubles as it fills, and the
//! budget covers the moment of growth, when the old and the new table are both alive; the default 32 MiB budget
//! therefore holds a 21 MiB table, about 1.6 million keys.
//! Hashing first keeps memory independent of key length; two different keys share a hash with probability
//! about n²/2⁶⁵ (≈ 1.6·10⁻⁷ at 2.4 million keys), a risk we accept and document. When the table can grow no
//! more, new keys are not tracked (rows are still checked against the tracked ones) and the summary says the
//! check was partial. An exact check of an unbounded stream without disk would need unbounded memory; hashbrown
//! would hash the hash again and grows past any budget in one step, hence this small table.

/// A set of 64-bit key hashes whose memory never exceeds its budget.
#[derive(Debug)]
pub(crate) struct KeySet {
    slots: Vec<u64>,
    /// The fingerprint of the row that first had each slot's key.
    rows: Vec<u32>,
    len: usize,
    max_slots: usize,
    full: bool,
}

/// What [`KeySet::insert`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    New,
    /// A later copy of a tracked key; `same`: the row is the first copy's, byte for byte (up to a 32-bit hash).
    Duplicate {
        same: bool,
    },
    /// Not tracked: the budget is spent.
    Untracked,
}

const EMPTY: u64 = 0;
const FIRST_SLOTS: usize = 1024;

impl KeySet {
    pub fn with_budget(budget_bytes: usize) -> KeySet {
        // Growing from n to m slots holds n + m at once; with m = 2n that is 1.5 m; 12 bytes a slot.
        let max_slots = (budget_bytes / 12 * 2 / 3).max(FIRST_SLOTS);
        KeySet { slots: vec![EMPTY; FIRST_SLOTS], rows: vec![0; FIRST_SLOTS], len: 0, max_slots, full: false }
    }

    /// Records the key `hash` of a row whose content hashes to `row`.
    pub fn insert(&mut self, hash: u64, row: u32) -> Seen {
        // 0 marks an empty slot; fold the one hash that collides with it.
        let hash = if hash == EMPTY { 1 } else { hash };
        if (self.len + 1) * 8 > self.slots.len() * 7 && !self.grow() {
            self.full = true;
            return match self.find(hash) {
                Err(at) => Seen::Duplicate { same: self.rows[at] == row },
                Ok(_) => Seen::Untracked,
            };
        }
        match self.find(hash) {
            Ok(empty) => {
                self.slots[empty] = hash;
                self.rows[empty] = row;
                self.len += 1;
                Seen::New
            }
            Err(at) => Seen::Duplicate { same: self.rows[at] == row },
        }
    }

    /// Inserts each key hash (with its row's) in turn and returns the positions (in `hashes`) of the duplicates,
    /// each with whether it is the first copy's row.
    pub fn insert_all(&mut self, hashes: &[u64], rows: &[u32]) -> Vec<(usize, bool)> {
        // Random slots of a table far bigger than the caches: each insert would wait for its own cache misses.
        // Loading the cache lines a batch's probes start on, independently of each other, lets the misses overlap.
        // Once the table is 7/8 full a probe for a new key runs ~30 slots (linear probing), so four lines each.
        const BATCH: usize = 256;
        const LINE: usize = 8;
        let mut duplicates = Vec::new();
        for (b, batch) in hashes.chunks(BATCH).enumerate() {
            let last = self.slots.len() - 1;
            let lines = if self.full { 4 } else { 1 };
            std::hint::black_box(batch.iter().fold(0, |acc, &h| {
                let start = home(h, last + 1);
                (0..lines).fold(acc, |acc, line| acc ^ self.slots[(start + line * LINE).min(last)])
            }));
            for (i, &hash) in batch.iter().enumerate() {
                if let Seen::Duplicate { same } = self.insert(hash, rows[b * BATCH + i]) {
                    duplicates.push((b * BATCH + i, same));
                }
            }
        }
        duplicates
    }

    /// The empty slot where `hash` would go, or `Err` with its slot when it is already there.
    fn find(&self, hash: u64) -> Result<usize, usize> {
        let mut i = home(hash, self.slots.len());
        loop {
            match self.slots[i] {
                EMPTY => return Ok(i),
                h if h == hash => return Err(i),
                _ => i = if i + 1 == self.slots.len() { 0 } else { i + 1 },
            }
        }
    }

    fn grow(&mut self) -> bool {
        let size = (self.slots.len() * 2).min(self.max_slots);
        if size <= self.slots.len() {
            return false;
        }
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; size]);
        let old_rows = std::mem::replace(&mut self.rows, vec![0; size]);
        for (h, row) in old.into_iter().zip(old_rows).filter(|&(h, _)| h != EMPTY) {
            if let Ok(i) = self.find(h) {
                self.slots[i] = h;
                self.rows[i] = row;
            }
        }
        true
    }

    /// Keys tracked so far.
    pub fn tracked(&self) -> u64 {
        self.len as u64
    }

    /// Whether every key seen was tracked (the check was exact up to hash collisions).
    pub fn complete(&self) -> bool {
        !self.full
    }
}

/// Maps a hash onto `0..len` without a division (Lemire's multiply-shift), so the table need not be a power of two.
fn home(hash: u64, len: usize) -> usize {
    ((u128::from(hash) * len as u128) >> 64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_duplicates_across_growth() {
        let mut set = KeySet::with_budget(1 << 20);
        for h in 0..50_000u64 {
            assert_eq!(set.insert(h.wrapping_mul(0x9E37_79B9_7F4A_7C15), h as u32), Seen::New);
        }
        for h in (0..50_000u64).step_by(7) {
            let same = h % 2 == 0;
            let row = if same { h as u32 } else { u32::MAX };
            assert_eq!(set.insert(h.wrapping_mul(0x9E37_79B9_7F4A_7C15), row), Seen::Duplicate { same }, "{h}");
        }
        assert_eq!(set.tracked(), 50_000);
        assert!(set.complete());
    }

    #[test]
    fn memory_stays_within_budget_and_says_so() {
        let budget = 64 * 1024;
        let mut set = KeySet::with_budget(budget);
        let mut untracked = 0;
        for h in 1..=20_000u64 {
            if set.insert(h.wrapping_mul(0x9E37_79B9_7F4A_7C15), 0) == Seen::Untracked {
                untracked += 1;
            }
        }
        assert!(set.slots.len() * 12 * 3 / 2 <= budget, "growth included");
        assert!(!set.complete());
        assert_eq!(set.tracked() + untracked, 20_000);
        // tracked keys are still recognised once the budget is spent
        assert_eq!(set.insert(0x9E37_79B9_7F4A_7C15, 0), Seen::Duplicate { same: true });
    }

    #[test]
    fn insert_all_reports_duplicates_by_position() {
        let mut set = KeySet::with_budget(1 << 20);
        let hashes: Vec<u64> = (0..1000u64).map(|h| (h % 600).wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect();
        let rows: Vec<u32> = (0..1000u32).map(|h| if h < 900 { h % 600 } else { h }).collect();
        let expected: Vec<(usize, bool)> = (600..1000).map(|p| (p, p < 900)).collect();
        assert_eq!(set.insert_all(&hashes, &rows), expected);
        assert_eq!(set.insert_all(&hashes[..3], &rows[..3]), vec![(0, true), (1, true), (2, true)]);
        assert_eq!(set.tracked(), 600);
    }

    #[test]
    fn zero_hash_is_a_key_like_any_other() {
        let mut set = KeySet::with_budget(4096);
        assert_eq!(set.insert(0, 5), Seen::New);
        assert_eq!(set.insert(0, 5), Seen::Duplicate { same: true });
    }
}
