//! Cross-source references in bounded memory: the codes of a master's column (every school of the school master)
//! kept as 64-bit fingerprints, and the lookups of the rows that refer to them.
//!
//! A code is hashed (xxh3) as written, integer codes without leading zeros (cQube compares them as numbers). The
//! set keeps the sorted, distinct fingerprints, 8 bytes each, plus a 256 KiB index by their top 16 bits, so a
//! lookup is one short binary search: 1.5 million schools take 12 MiB. While a master is read its fingerprints
//! are gathered and compacted (sorted, duplicates dropped) whenever the buffer fills, which bounds the gathering
//! at twice the final set. A known code always matches its own fingerprint, so no row is ever reported missing
//! wrongly; an unknown code passes unnoticed only when it shares a fingerprint with a known one, with probability
//! about n/2⁶⁴ per row (8·10⁻¹⁴ against 1.5 million schools).

use std::sync::Arc;

use cqube_core::ReferenceRule;

/// The distinct codes of one master column, as fingerprints.
#[derive(Clone, Default)]
pub struct CodeSet {
    sorted: Vec<u64>,
    /// `index[p]`: where fingerprints whose top 16 bits are `p` start in `sorted`.
    index: Vec<u32>,
}

impl std::fmt::Debug for CodeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CodeSet({} codes)", self.sorted.len())
    }
}

const INDEX_BITS: u32 = 16;

impl CodeSet {
    /// The set of `fingerprints` (in any order, with repeats).
    pub fn from_fingerprints(mut fingerprints: Vec<u64>) -> CodeSet {
        fingerprints.sort_unstable();
        fingerprints.dedup();
        fingerprints.shrink_to_fit();
        let mut index = vec![0_u32; (1 << INDEX_BITS) + 1];
        let mut at = 0;
        for (prefix, start) in index.iter_mut().enumerate() {
            while at < fingerprints.len() && ((fingerprints[at] >> (64 - INDEX_BITS)) as usize) < prefix {
                at += 1;
            }
            *start = at as u32;
        }
        CodeSet { sorted: fingerprints, index }
    }

    /// This set and `other`'s codes together.
    #[must_use]
    pub fn union(&self, other: &CodeSet) -> CodeSet {
        CodeSet::from_fingerprints(self.sorted.iter().chain(&other.sorted).copied().collect())
    }

    /// Whether the code with this fingerprint is in the set.
    pub fn contains(&self, fingerprint: u64) -> bool {
        if self.sorted.is_empty() {
            return false;
        }
        let prefix = (fingerprint >> (64 - INDEX_BITS)) as usize;
        let bucket = &self.sorted[self.index[prefix] as usize..self.index[prefix + 1] as usize];
        bucket.binary_search(&fingerprint).is_ok()
    }

    /// Distinct codes held.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// Bytes held: 8 per code and the index.
    pub fn memory_bytes(&self) -> usize {
        self.sorted.capacity() * 8 + self.index.capacity() * 4
    }
}

/// A code's fingerprint: of the value as written, an integer's without leading zeros (`007` is `7` to cQube).
pub fn fingerprint(written: &[u8], integer: bool) -> u64 {
    let value = if integer {
        let digits = written.strip_prefix(b"+").unwrap_or(written);
        match digits.iter().position(|&b| b != b'0') {
            Some(first) if digits.iter().all(u8::is_ascii_digit) => &digits[first..],
            None if !digits.is_empty() => b"0",
            _ => written,
        }
    } else {
        written
    };
    xxhash_rust::xxh3::xxh3_64(value)
}

/// Fingerprints gathered from a master as it is read, compacted whenever the buffer fills.
#[derive(Debug, Default)]
pub(crate) struct Gatherer {
    fingerprints: Vec<u64>,
}

impl Gatherer {
    pub fn push(&mut self, fingerprint: u64) {
        if self.fingerprints.len() == self.fingerprints.capacity() && self.fingerprints.len() >= 1 << 16 {
            self.fingerprints.sort_unstable();
            self.fingerprints.dedup();
            // Grow only when compacting freed less than half: the buffer stays under twice the distinct codes.
            if self.fingerprints.len() * 2 > self.fingerprints.capacity() {
                self.fingerprints.reserve_exact(self.fingerprints.len());
            }
        }
        self.fingerprints.push(fingerprint);
    }

    pub fn finish(self) -> CodeSet {
        CodeSet::from_fingerprints(self.fingerprints)
    }
}

/// The codes a row's column must be found among.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The referring column of the converted source.
    pub column: String,
    pub rule: ReferenceRule,
    /// `school_master.udise_sch_code`, for messages.
    pub master: String,
    pub codes: Arc<CodeSet>,
}

/// What a conversion does across sources: collect the codes of its columns that other sources refer to (a
/// master), and look up its referring columns in the codes of masters already read.
#[derive(Debug, Clone, Default)]
pub struct CrossChecks {
    /// Columns whose codes are collected; the summary returns them as [`Summary::codes`](crate::Summary).
    pub collect: Vec<String>,
    pub lookups: Vec<Lookup>,
}

impl CrossChecks {
    pub fn is_empty(&self) -> bool {
        self.collect.is_empty() && self.lookups.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_whatever_their_order_and_leading_zeros() {
        let codes = ["2401010001", "0002401010002", "7", "+8", "0", "abc"];
        let set = CodeSet::from_fingerprints(codes.iter().map(|c| fingerprint(c.as_bytes(), true)).collect());
        assert_eq!(set.len(), 6);
        for found in ["2401010001", "2401010002", "007", "8", "000", "abc"] {
            assert!(set.contains(fingerprint(found.as_bytes(), true)), "{found}");
        }
        for missing in ["2401010003", "70", "-7", ""] {
            assert!(!set.contains(fingerprint(missing.as_bytes(), true)), "{missing}");
        }
        assert!(!set.contains(fingerprint(b"0002401010002", false)), "text codes keep their zeros");
        assert!(!CodeSet::default().contains(fingerprint(b"1", true)));
        let other = CodeSet::from_fingerprints(vec![fingerprint(b"9", true)]);
        assert_eq!(set.union(&other).len(), 7);
    }

    #[test]
    fn gathering_stays_under_twice_the_distinct_codes() {
        let mut g = Gatherer::default();
        // 1 million rows over 100,000 distinct codes: compaction keeps the buffer small.
        for i in 0..1_000_000_u64 {
            g.push(fingerprint((i % 100_000).to_string().as_bytes(), true));
        }
        assert!(g.fingerprints.capacity() <= 2 * 100_000, "{}", g.fingerprints.capacity());
        let set = g.finish();
        assert_eq!(set.len(), 100_000);
        assert!(set.memory_bytes() < 100_000 * 8 + 300_000, "{}", set.memory_bytes());
        assert!((0..100_000_u64).all(|i| set.contains(fingerprint(i.to_string().as_bytes(), true))));
    }
}
