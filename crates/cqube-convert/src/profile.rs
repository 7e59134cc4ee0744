//! What a conversion found, per rule and per column, for the data-quality report: rows rejected by rule and
//! column with their most common offending values, and null cells per column. Bounded: at most [`MAX_VALUES`]
//! distinct values are kept per rule and column, each cut as in the rejects report.

use serde::Serialize;

use crate::reject::Reject;

/// Distinct offending values kept per rule and column.
pub const MAX_VALUES: usize = 10;

/// One offending value and how many cells held it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueCount {
    pub value: String,
    pub count: u64,
}

/// The offending values of one rule and column: the first [`MAX_VALUES`] distinct ones seen, with their counts,
/// most frequent first; cells holding any other value are counted in `other`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Offenders {
    pub values: Vec<ValueCount>,
    pub other: u64,
}

impl Offenders {
    /// Counts one cell holding `value` (already cut to the report's length).
    pub(crate) fn add(&mut self, value: &str) {
        if let Some(kept) = self.values.iter_mut().find(|v| v.value == value) {
            kept.count += 1;
        } else if self.values.len() < MAX_VALUES {
            self.values.push(ValueCount { value: value.to_owned(), count: 1 });
        } else {
            self.other += 1;
        }
    }

    /// Most frequent first; ties in the order first seen.
    pub(crate) fn sorted(mut self) -> Offenders {
        self.values.sort_by_key(|v| std::cmp::Reverse(v.count));
        self
    }
}

/// Rows rejected under one rule, for one column (`None`: a row-level rule such as `field_count`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    /// The rule's stable code: `invalid_int`, `duplicate_key`, `unknown_school`, ...
    pub rule: &'static str,
    pub column: Option<String>,
    /// The first rejected row's rule, in words.
    pub description: String,
    pub count: u64,
    pub first_line: u64,
    #[serde(flatten)]
    pub offenders: Offenders,
}

/// Rejected rows by rule and column, as they pass on their way to the rejects report.
#[derive(Debug, Default)]
pub(crate) struct RejectTally {
    by_rule: std::collections::BTreeMap<(&'static str, Option<String>), Rejected>,
}

impl RejectTally {
    pub fn add(&mut self, r: &Reject) {
        let entry = self.by_rule.entry((r.code, r.column.clone())).or_insert_with(|| Rejected {
            rule: r.code,
            column: r.column.clone(),
            description: r.rule.clone(),
            count: 0,
            first_line: r.line,
            offenders: Offenders::default(),
        });
        entry.count += 1;
        entry.offenders.add(&r.value);
    }

    /// Most rows first.
    pub fn finish(self) -> Vec<Rejected> {
        let mut all: Vec<Rejected> =
            self.by_rule.into_values().map(|r| Rejected { offenders: r.offenders.sorted(), ..r }).collect();
        all.sort_by_key(|r| std::cmp::Reverse(r.count));
        all
    }
}

/// Null cells of one column among the rows written (empty in the output: what cQube reads as null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnNulls {
    pub column: String,
    pub nulls: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offenders_keep_ten_distinct_values_and_count_the_rest() {
        let mut o = Offenders::default();
        for i in 0..12 {
            o.add(&i.to_string());
        }
        o.add("11");
        o.add("3");
        o.add("3");
        let o = o.sorted();
        assert_eq!(o.values.len(), MAX_VALUES);
        assert_eq!(o.values[0], ValueCount { value: "3".into(), count: 3 });
        assert_eq!(o.values[1].value, "0", "ties keep the order first seen");
        assert_eq!(o.other, 3, "10, 11 and 11 again");
    }

    #[test]
    fn rejects_are_tallied_by_rule_and_column_most_first() {
        let mut t = RejectTally::default();
        t.add(&Reject::new(3, Some("Month"), "13", "fails check: range 1..=12".into(), "check"));
        for line in 4..7 {
            t.add(&Reject::new(line, None, "1,2", "row has 2 fields, the header has 7".into(), "field_count"));
        }
        t.add(&Reject::new(9, Some("Month"), "14", "fails check: range 1..=12".into(), "check"));
        let all = t.finish();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].rule, all[0].count, all[0].first_line), ("field_count", 3, 4));
        assert_eq!((all[1].rule, all[1].column.as_deref(), all[1].count), ("check", Some("Month"), 2));
        assert_eq!(all[1].offenders.values.iter().map(|v| v.value.as_str()).collect::<Vec<_>>(), ["13", "14"]);
    }
}
