//! Duplicate-key detection in bounded memory.
//!
//! Each row's key is hashed to 64 bits (xxh3) and kept in an open-addressing table of `u64`s sized by a
//! memory budget: 8 bytes a key, at most 7/8 full, so the default 64 MiB budget tracks about 7.3 million
//! keys. Hashing first keeps memory independent of key length; two different keys share a hash with
//! probability about n²/2⁶⁵ (≈ 1.5·10⁻⁶ at 7 million keys), a risk we accept and document. When the budget
//! is full, new keys are no longer tracked (rows are still checked against the tracked ones) and the
//! summary says the check was partial. A disk-free exact check of an unbounded stream would need
//! unbounded memory; hashbrown would hash the hash again and grows past any budget in one step, hence
//! this small table.

/// A set of 64-bit key hashes whose memory never exceeds its budget.
#[derive(Debug)]
pub(crate) struct KeySet {
    slots: Vec<u64>,
    len: usize,
    max_slots: usize,
    full: bool,
}

/// What [`KeySet::insert`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    New,
    Duplicate,
    /// Not tracked: the budget is spent.
    Untracked,
}

const EMPTY: u64 = 0;

impl KeySet {
    pub fn with_budget(budget_bytes: usize) -> KeySet {
        let max_slots = (budget_bytes / 8).max(16).next_power_of_two();
        // next_power_of_two may round up past the budget; stay within it.
        let max_slots = if max_slots * 8 > budget_bytes.max(128) { max_slots / 2 } else { max_slots };
        KeySet { slots: vec![EMPTY; 1024.min(max_slots)], len: 0, max_slots, full: false }
    }

    pub fn insert(&mut self, hash: u64) -> Seen {
        // 0 marks an empty slot; fold the one hash that collides with it.
        let hash = if hash == EMPTY { 1 } else { hash };
        if (self.len + 1) * 8 > self.slots.len() * 7 && !self.grow() {
            self.full = true;
            return if self.contains(hash) { Seen::Duplicate } else { Seen::Untracked };
        }
        let mask = self.slots.len() - 1;
        let mut i = (hash as usize) & mask;
        loop {
            match self.slots[i] {
                EMPTY => {
                    self.slots[i] = hash;
                    self.len += 1;
                    return Seen::New;
                }
                h if h == hash => return Seen::Duplicate,
                _ => i = (i + 1) & mask,
            }
        }
    }

    fn contains(&self, hash: u64) -> bool {
        let mask = self.slots.len() - 1;
        let mut i = (hash as usize) & mask;
        loop {
            match self.slots[i] {
                EMPTY => return false,
                h if h == hash => return true,
                _ => i = (i + 1) & mask,
            }
        }
    }

    fn grow(&mut self) -> bool {
        let size = self.slots.len() * 2;
        if size > self.max_slots {
            return false;
        }
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; size]);
        let mask = size - 1;
        for h in old.into_iter().filter(|&h| h != EMPTY) {
            let mut i = (h as usize) & mask;
            while self.slots[i] != EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = h;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_duplicates_across_growth() {
        let mut set = KeySet::with_budget(1 << 20);
        for h in 0..50_000u64 {
            assert_eq!(set.insert(h.wrapping_mul(0x9E37_79B9_7F4A_7C15)), Seen::New);
        }
        for h in (0..50_000u64).step_by(7) {
            assert_eq!(set.insert(h.wrapping_mul(0x9E37_79B9_7F4A_7C15)), Seen::Duplicate);
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
            if set.insert(h.wrapping_mul(0x9E37_79B9_7F4A_7C15)) == Seen::Untracked {
                untracked += 1;
            }
        }
        assert!(set.slots.len() * 8 <= budget);
        assert!(!set.complete());
        assert_eq!(set.tracked() + untracked, 20_000);
        // tracked keys are still recognised once the budget is spent
        assert_eq!(set.insert(0x9E37_79B9_7F4A_7C15), Seen::Duplicate);
    }

    #[test]
    fn zero_hash_is_a_key_like_any_other() {
        let mut set = KeySet::with_budget(4096);
        assert_eq!(set.insert(0), Seen::New);
        assert_eq!(set.insert(0), Seen::Duplicate);
    }
}
