//! Which data source a file holds, when the user did not say: the one decision `convert`, `validate` and `emit`
//! share.
//!
//! A wrong guess is worse than none: a student_attendance export without its Month column once passed as
//! `infra_trans` (one column in common), and a 3-column school_master file as `sch_pgi_details`, written as rows
//! of empty cells. So the path's word wins (cQube itself routes by folder and file name), the header must agree
//! with it, and a header alone decides only when one source has every required column, explains most of the header
//! and beats the next source by a clear margin.

use std::collections::HashSet;

use crate::{Catalog, DataSource, canonical_name};

/// How far ahead of the next source the best one must score (the share of names the two sides have in common).
const MARGIN: f64 = 0.15;

/// How the data source was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InferredBy {
    /// The file name (`school_mst.csv`, `student_attendance_20220101120000.zip`).
    FileName,
    /// The folder (`pat/...`) narrowed the choice, the header made it.
    Folder,
    /// The header alone.
    Header,
}

impl InferredBy {
    /// As shown to people: "data source: X (inferred from the {by})".
    pub fn as_str(self) -> &'static str {
        match self {
            InferredBy::FileName => "file name",
            InferredBy::Folder => "folder and header",
            InferredBy::Header => "header",
        }
    }
}

/// How well a header fits one source.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub source: String,
    /// The source's columns the header has (or the caller's mapping fills).
    pub matched: usize,
    pub columns: usize,
    /// Header names this source explains, of `header_names`.
    pub explained: usize,
    pub header_names: usize,
    /// Required columns the header lacks.
    pub missing_required: Vec<String>,
    /// Shared names over all names of both sides (0..=1).
    pub score: f64,
}

impl Candidate {
    /// Whether this source could hold the file: every required column, and most of the header explained.
    fn eligible(&self) -> bool {
        self.missing_required.is_empty() && self.matched > 0 && self.explained * 2 >= self.header_names
    }

    /// What keeps this source from being the answer, in words.
    fn lacks(&self) -> String {
        if !self.missing_required.is_empty() {
            let shown: Vec<&str> = self.missing_required.iter().take(4).map(String::as_str).collect();
            let more = self.missing_required.len() - shown.len();
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            format!("lacks required {}{more}", shown.join(", "))
        } else if self.explained * 2 < self.header_names {
            format!("explains only {} of {} header columns", self.explained, self.header_names)
        } else {
            format!("{} of its {} columns present", self.matched, self.columns)
        }
    }
}

/// Why no source was chosen. The message lists the closest sources and what each lacks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InferError {
    /// No source fits the header, or two fit about equally well.
    #[error(
        "cannot tell which data source this is (header: {header}): {}\n  closest: {}\n\nhint: pass --source NAME (`cqube-emit catalog NAME` shows a source's columns)",
        if *.tie { "the header fits more than one equally well" } else { "no source has every required column and most of this header" },
        describe(.closest)
    )]
    Unclear { header: String, closest: Vec<Candidate>, tie: bool },
    /// The path names a source (or a folder of sources) the header does not fit.
    #[error(
        "the {by} says {named}, but the header {}{}\n\nhint: fix the export's header, rename the file, or pass --source NAME",
        named_lacks.as_ref().map_or_else(|| "fits none of its sources".to_owned(), |c| c.lacks()),
        header_fits.as_ref().map(|c| format!("; the header looks like {c}")).unwrap_or_default()
    )]
    Disagrees { by: &'static str, named: String, named_lacks: Option<Box<Candidate>>, header_fits: Option<String> },
}

fn describe(closest: &[Candidate]) -> String {
    if closest.is_empty() {
        return "(no source shares a column name with it)".into();
    }
    closest.iter().map(|c| format!("{} ({})", c.source, c.lacks())).collect::<Vec<_>>().join("; ")
}

impl Catalog {
    /// The data source of a file at `path` (`None`: stdin or a database) with this header.
    ///
    /// `filled` names the catalog columns the caller's mapping fills for a source (renamed or constant columns),
    /// which count as present. The file name decides when it names a source, provided the header has that source's
    /// required columns; a folder (`pat/`, `udise/`) narrows the choice to its sources. Otherwise the header decides
    /// when exactly one source fits clearly (see [`InferError`] for the refusals).
    pub fn infer_source<'c>(
        &'c self,
        path: Option<&str>,
        header: &[&str],
        filled: &dyn Fn(&DataSource) -> Vec<String>,
    ) -> Result<(&'c DataSource, InferredBy), InferError> {
        let found: HashSet<String> = header.iter().map(|h| canonical_name(h)).filter(|h| !h.is_empty()).collect();
        let fit = |s: &DataSource| candidate(s, &found, &filled(s));
        let by_header = |within: &dyn Fn(&DataSource) -> bool| {
            let mut all: Vec<(Candidate, &'c DataSource)> =
                self.sources().iter().filter(|s| s.columns_known() && within(s)).map(|s| (fit(s), s)).collect();
            all.sort_by(|a, b| b.0.score.total_cmp(&a.0.score).then(a.0.source.cmp(&b.0.source)));
            all
        };
        if let Some(named) = path.and_then(|p| self.find_by_path(p)) {
            if !named.columns_known() {
                return Ok((named, InferredBy::FileName));
            }
            let lacks = fit(named);
            if lacks.missing_required.is_empty() {
                return Ok((named, InferredBy::FileName));
            }
            let header_fits = pick(&by_header(&|_| true)).ok().map(|s| s.name.clone());
            return Err(InferError::Disagrees {
                by: "file name",
                named: named.name.clone(),
                named_lacks: Some(Box::new(lacks)),
                header_fits,
            });
        }
        let folder = path.and_then(folder_of).filter(|dir| self.sources().iter().any(|s| s.dir == *dir));
        let ranked = match &folder {
            Some(dir) => by_header(&|s: &DataSource| s.dir == *dir),
            None => by_header(&|_| true),
        };
        let by = if folder.is_some() { InferredBy::Folder } else { InferredBy::Header };
        match (pick(&ranked), &folder) {
            (Ok(source), _) => Ok((source, by)),
            // The folder's sources do not fit, but another source's does: say so rather than guess either way.
            (Err(InferError::Unclear { tie: false, closest, .. }), Some(dir))
                if let Ok(other) = pick(&by_header(&|_| true)) =>
            {
                Err(InferError::Disagrees {
                    by: "folder",
                    named: format!("{dir}/"),
                    named_lacks: closest.into_iter().next().map(Box::new),
                    header_fits: Some(other.name.clone()),
                })
            }
            (Err(InferError::Unclear { closest, tie, .. }), _) => {
                Err(InferError::Unclear { header: header.join(", "), closest, tie })
            }
            (Err(other), _) => Err(other),
        }
    }
}

/// The best-ranked eligible source, when it beats the next eligible one by [`MARGIN`], or is the only exact match
/// (every column present, every header name explained: `semester_exam_mst` over `periodic_exam_mst`, which lacks
/// only `semester`).
fn pick<'c>(ranked: &[(Candidate, &'c DataSource)]) -> Result<&'c DataSource, InferError> {
    let eligible: Vec<&(Candidate, &DataSource)> = ranked.iter().filter(|(c, _)| c.eligible()).collect();
    match eligible.as_slice() {
        [(_, best)] => Ok(best),
        [(first, best), (second, _), ..]
            if first.score - second.score >= MARGIN || first.score > second.score.max(1.0 - f64::EPSILON) =>
        {
            Ok(best)
        }
        [] => {
            // Closest: the sources sharing the most columns with the header.
            let mut closest: Vec<&Candidate> = ranked.iter().map(|(c, _)| c).filter(|c| c.matched > 0).collect();
            closest.sort_by(|a, b| b.matched.cmp(&a.matched).then(b.score.total_cmp(&a.score)));
            Err(InferError::Unclear {
                header: String::new(),
                closest: closest.into_iter().take(3).cloned().collect(),
                tie: false,
            })
        }
        close => Err(InferError::Unclear {
            header: String::new(),
            closest: close
                .iter()
                .take_while(|(c, _)| close[0].0.score - c.score < MARGIN)
                .take(3)
                .map(|(c, _)| c.clone())
                .collect(),
            tie: true,
        }),
    }
}

fn candidate(s: &DataSource, found: &HashSet<String>, filled: &[String]) -> Candidate {
    let filled: Vec<String> = filled.iter().map(|f| canonical_name(f)).collect();
    let present =
        |c: &crate::Column| filled.contains(&canonical_name(&c.name)) || c.match_names().any(|n| found.contains(&n));
    let matched = s.columns.iter().filter(|c| present(c)).count();
    let names: HashSet<String> = s.columns.iter().flat_map(crate::Column::match_names).collect();
    let explained = found.iter().filter(|h| names.contains(*h)).count();
    let missing_required = s.columns.iter().filter(|c| c.required && !present(c)).map(|c| c.name.clone()).collect();
    let union = s.columns.len() + found.len() - explained;
    Candidate {
        source: s.name.clone(),
        matched,
        columns: s.columns.len(),
        explained,
        header_names: found.len(),
        missing_required,
        score: if union == 0 { 0.0 } else { matched as f64 / union as f64 },
    }
}

/// The folder a path sits in, when it has one.
fn folder_of(path: &str) -> Option<String> {
    let path = path.replace('\\', "/");
    let mut parts = path.rsplit('/');
    parts.next()?;
    parts.next().filter(|d| !d.is_empty() && *d != ".").map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(path: Option<&str>, header: &str) -> Result<(String, InferredBy), InferError> {
        let header: Vec<&str> = header.split('|').collect();
        Catalog::builtin().infer_source(path, &header, &|_| Vec::new()).map(|(s, by)| (s.name.clone(), by))
    }

    #[test]
    fn a_clear_header_decides_and_a_file_name_wins() {
        let att = "StudentAttendanceId|StudentId|SchoolId|AadhaarUID|AcademicYear|Month|1|2|3";
        assert_eq!(infer(None, att).unwrap(), ("student_attendance".into(), InferredBy::Header));
        let grade = "school_id|grade|students_count";
        assert_eq!(
            infer(Some("x/sat/g.csv"), grade).unwrap(),
            ("semester_exam_grade_details".into(), InferredBy::Folder)
        );
        assert_eq!(
            infer(Some("school_mst.csv"), "udise_sch_code|school_name|latitude|longitude").unwrap().1,
            InferredBy::FileName
        );
    }

    #[test]
    fn issue_16_near_misses_are_refused_with_the_closest_sources() {
        // student_attendance without Month: once taken for infra_trans.
        let no_month = "StudentAttendanceId|StudentId|SchoolId|AadhaarUID|AcademicYear|1|2|3|4|5";
        let err = infer(None, no_month).unwrap_err().to_string();
        assert!(err.contains("student_attendance (lacks required Month)"), "{err}");
        assert!(err.contains("hint: pass --source NAME"), "{err}");
        // Three school_master columns: once taken for sch_pgi_details.
        let err = infer(None, "udise_sch_code|school_name|district_cd").unwrap_err().to_string();
        assert!(err.contains("school_master (lacks required latitude, longitude)"), "{err}");
        // Identical columns: a tie, not a guess by catalog order.
        let err = infer(None, "school_id|grade|students_count").unwrap_err();
        assert!(matches!(err, InferError::Unclear { tie: true, ref closest, .. } if closest.len() == 2), "{err}");
    }

    #[test]
    fn a_file_name_the_header_contradicts_is_reported() {
        let att = "StudentAttendanceId|StudentId|SchoolId|AadhaarUID|AcademicYear|Month|1|2|3";
        let err = infer(Some("exports/school_mst.csv"), att).unwrap_err().to_string();
        assert!(
            err.starts_with("the file name says school_master, but the header lacks required udise_sch_code"),
            "{err}"
        );
        assert!(err.contains("the header looks like student_attendance"), "{err}");
    }

    #[test]
    fn mapped_columns_count_as_present() {
        let header = ["StudentAttendanceId", "StudentId", "SchoolId", "AadhaarUID", "AcademicYear", "1", "2"];
        let fills_month =
            |s: &DataSource| if s.name == "student_attendance" { vec!["Month".to_owned()] } else { Vec::new() };
        let catalog = Catalog::builtin();
        let (source, _) = catalog.infer_source(None, &header, &fills_month).unwrap();
        assert_eq!(source.name, "student_attendance");
    }
}
