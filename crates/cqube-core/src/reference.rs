//! Cross-source references: a column whose codes must be found among a master's (an attendance row's school in
//! the school master), with what cQube does with a row whose code is missing.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The rule a row breaks when its code is missing from the master; also the rejects report's `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceRule {
    UnknownSchool,
    UnknownCluster,
    UnknownBlock,
    UnknownDistrict,
    UnknownExam,
    UnknownQuestion,
}

impl ReferenceRule {
    /// The rule's stable name (`unknown_school`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReferenceRule::UnknownSchool => "unknown_school",
            ReferenceRule::UnknownCluster => "unknown_cluster",
            ReferenceRule::UnknownBlock => "unknown_block",
            ReferenceRule::UnknownDistrict => "unknown_district",
            ReferenceRule::UnknownExam => "unknown_exam",
            ReferenceRule::UnknownQuestion => "unknown_question",
        }
    }
}

impl fmt::Display for ReferenceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One column of a source that refers to a master's column. Always an error rule: cQube joins on these codes,
/// so a row whose code the master lacks is lost from what is joined (`consequence`, `reference`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// The referring column of this source.
    pub column: String,
    /// The master source and its column whose codes this column's must be among.
    pub master: String,
    pub master_column: String,
    pub rule: ReferenceRule,
    /// What cQube does with a row whose code is missing.
    pub consequence: String,
    /// Where that is documented (INGESTION.md sections, catalog notes).
    pub reference: String,
}
