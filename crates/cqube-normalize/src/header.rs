//! Mapping a source file's header onto a catalog data source's columns.
//!
//! cQube selects columns by name (NiFi `QueryRecord`), so the output header must use the catalog's names in the
//! catalog's order. State exports spell them differently (`school_id`, `School ID`, `udise_sch_code`…); this module
//! decides, once per file, which source field feeds each catalog column.

use std::collections::BTreeMap;

use cqube_core::{DataSource, canonical_name};
use serde::Deserialize;

/// User-given header mapping, usually a `[mapping]` table of the job's config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Source header name -> catalog column. These win over name matching; an empty catalog column drops the
    /// source column (the way out when two source columns would fill the same catalog column).
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Catalog column -> the value every row gets (for a column the export lacks, such as the academic year).
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
}

/// Where one catalog column's values come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Slot {
    /// The source field at this 0-based position.
    Field(usize),
    /// The same value on every row.
    Constant(String),
    /// Nothing: an optional column the source lacks, written as null.
    Absent,
}

/// The result of [`map_header`].
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderMap {
    /// One slot per catalog column, in catalog order.
    pub slots: Vec<Slot>,
    /// Source columns no catalog column uses, in source order (worth a warning: a misspelt name lands here).
    pub dropped: Vec<String>,
}

/// Why a header cannot be mapped onto a data source. Every variant names the columns involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    #[error("empty header: the first line names no columns")]
    Empty,
    #[error(
        "missing required column{} {} (header found: {})",
        if missing.len() == 1 { "" } else { "s" },
        missing.join(", "),
        found.join(", ")
    )]
    MissingRequired { missing: Vec<String>, found: Vec<String> },
    #[error(
        "columns {first} (position {first_position}) and {second} (position {second_position}) both map to {column} \
         (map one of them to another column, or to \"\" to drop it)"
    )]
    Duplicate { column: String, first: String, first_position: usize, second: String, second_position: usize },
    #[error("mapping names source column {name:?}, which is not in the header (header found: {})", found.join(", "))]
    MappedColumnNotInHeader { name: String, found: Vec<String> },
    #[error("{via} names {name:?}, which is not a column of {data_source} (columns: {})", known.join(", "))]
    UnknownCatalogColumn { name: String, via: &'static str, data_source: String, known: Vec<String> },
    #[error("column {column} is given both a constant and the source column {name}")]
    ConstantAndMapping { column: String, name: String },
    #[error("the catalog does not know the columns of {data_source}: describe them in a catalog override")]
    UnknownColumns { data_source: String },
}

/// Decides which source field, constant or nothing fills each of `source`'s columns.
///
/// A source column matches a catalog column when their [`canonical_name`]s are equal (case, surrounding space,
/// `_`, space, `-`, quotes and a BOM ignored) or when it matches one of the column's aliases; an entry in
/// `mapping.columns` overrides that, and a constant overrides a matched column. Optional catalog columns
/// nobody fills are [`Slot::Absent`]; a missing required column is an error that lists all of them.
///
/// ```
/// use cqube_core::Catalog;
/// use cqube_normalize::{map_header, Mapping, Slot};
/// let catalog = Catalog::builtin();
/// let source = catalog.get("school_management_master").unwrap();
/// let map = map_header(source, &["management_id", "Remarks", "Management"], &Mapping::default()).unwrap();
/// assert_eq!(map.slots[..2], [Slot::Field(0), Slot::Field(2)]);
/// assert_eq!(map.dropped, ["Remarks"]);
/// ```
pub fn map_header(source: &DataSource, header: &[&str], mapping: &Mapping) -> Result<HeaderMap, HeaderError> {
    if !source.columns_known() {
        return Err(HeaderError::UnknownColumns { data_source: source.name.clone() });
    }
    let canonical: Vec<String> = header.iter().map(|h| canonical_name(h)).collect();
    if canonical.iter().all(String::is_empty) {
        return Err(HeaderError::Empty);
    }
    let found = || header.iter().map(|h| display_name(h).to_owned()).collect::<Vec<_>>();
    let catalog_column = |name: &str, via: &'static str| {
        let wanted = canonical_name(name);
        let columns = &source.columns;
        columns
            .iter()
            .position(|c| c.name == name.trim())
            .or_else(|| columns.iter().position(|c| canonical_name(&c.name) == wanted))
            .ok_or_else(|| HeaderError::UnknownCatalogColumn {
                name: name.to_owned(),
                via,
                data_source: source.name.clone(),
                known: columns.iter().map(|c| c.name.clone()).collect(),
            })
    };

    let mut constants: Vec<Option<&String>> = vec![None; source.columns.len()];
    for (column, value) in &mapping.constants {
        constants[catalog_column(column, "constant")?] = Some(value);
    }

    // Per source position: Some(Some(i)) = mapped to catalog column i, Some(None) = mapped to nothing (dropped).
    let mut explicit: Vec<Option<Option<usize>>> = vec![None; header.len()];
    for (name, target) in &mapping.columns {
        let target = if target.trim().is_empty() { None } else { Some(catalog_column(target, "mapping")?) };
        if let Some(t) = target
            && constants[t].is_some()
        {
            return Err(HeaderError::ConstantAndMapping { column: source.columns[t].name.clone(), name: name.clone() });
        }
        let mut positions: Vec<usize> = (0..header.len()).filter(|&p| display_name(header[p]) == name.trim()).collect();
        if positions.is_empty() {
            let wanted = canonical_name(name);
            positions = (0..header.len()).filter(|&p| canonical[p] == wanted).collect();
        }
        if positions.is_empty() {
            return Err(HeaderError::MappedColumnNotInHeader { name: name.clone(), found: found() });
        }
        for p in positions {
            explicit[p] = Some(target);
        }
    }

    // Per catalog column: the source position filling it, and whether a mapping said so.
    let mut owner: Vec<Option<(usize, bool)>> = vec![None; source.columns.len()];
    let duplicate = |column: usize, first: usize, second: usize| HeaderError::Duplicate {
        column: source.columns[column].name.clone(),
        first: display_name(header[first]).to_owned(),
        first_position: first + 1,
        second: display_name(header[second]).to_owned(),
        second_position: second + 1,
    };
    for (p, target) in explicit.iter().enumerate() {
        if let Some(Some(t)) = *target {
            if let Some((first, _)) = owner[t] {
                return Err(duplicate(t, first, p));
            }
            owner[t] = Some((p, true));
        }
    }
    for p in (0..header.len()).filter(|&p| explicit[p].is_none() && !canonical[p].is_empty()) {
        let by_name = source.columns.iter().position(|c| canonical_name(&c.name) == canonical[p]);
        let by_alias =
            || source.columns.iter().position(|c| c.aliases.iter().any(|a| canonical_name(a) == canonical[p]));
        let Some(t) = by_name.or_else(by_alias) else { continue };
        match owner[t] {
            // A mapping or a constant chose something else for this column: this field is not used.
            Some((_, true)) => {}
            None if constants[t].is_some() => {}
            Some((first, false)) => return Err(duplicate(t, first, p)),
            None => owner[t] = Some((p, false)),
        }
    }

    let missing: Vec<String> = source
        .columns
        .iter()
        .enumerate()
        .filter(|&(i, c)| c.required && owner[i].is_none() && constants[i].is_none())
        .map(|(_, c)| c.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(HeaderError::MissingRequired { missing, found: found() });
    }

    let slots = owner
        .iter()
        .zip(&constants)
        .map(|(owner, constant)| match (owner, constant) {
            (Some((p, _)), _) => Slot::Field(*p),
            (None, Some(value)) => Slot::Constant((*value).clone()),
            (None, None) => Slot::Absent,
        })
        .collect();
    let mut used = vec![false; header.len()];
    for (p, _) in owner.iter().flatten() {
        used[*p] = true;
    }
    let dropped =
        header.iter().zip(&used).filter(|(_, used)| !**used).map(|(h, _)| display_name(h).to_owned()).collect();
    Ok(HeaderMap { slots, dropped })
}

/// A header name as it should appear in messages: without surrounding space or a BOM.
fn display_name(name: &str) -> &str {
    name.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

#[cfg(test)]
mod tests {
    use cqube_core::Catalog;

    use super::*;

    fn source(name: &str) -> DataSource {
        Catalog::builtin().get(name).unwrap().clone()
    }

    fn mapping(columns: &[(&str, &str)], constants: &[(&str, &str)]) -> Mapping {
        let pairs = |p: &[(&str, &str)]| p.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
        Mapping { columns: pairs(columns), constants: pairs(constants) }
    }

    fn attendance_header() -> Vec<String> {
        let mut h: Vec<String> =
            ["StudentAttendanceId", "StudentId", "SchoolId", "AadhaarUID", "AcademicYear", "Month"]
                .map(String::from)
                .into();
        h.extend((1..=31).map(|d| d.to_string()));
        h
    }

    #[test]
    fn exact_header_maps_in_order() {
        let src = source("student_attendance");
        let header = attendance_header();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let map = map_header(&src, &header, &Mapping::default()).unwrap();
        assert_eq!(map.slots, (0..37).map(Slot::Field).collect::<Vec<_>>());
        assert!(map.dropped.is_empty());
    }

    #[test]
    fn names_match_ignoring_case_space_underscore_dash_quotes_and_bom() {
        let src = source("school_management_master");
        let header = ["\u{feff}\"MANAGEMENT-ID\"", " management "];
        let map = map_header(&src, &header, &Mapping::default()).unwrap();
        assert_eq!(map.slots[..2], [Slot::Field(0), Slot::Field(1)]);
        assert!(map.slots[2..].iter().all(|s| *s == Slot::Absent), "{:?}", map.slots);
    }

    #[test]
    fn aliases_match() {
        let src = source("diksha_tpd");
        let header: Vec<&str> =
            src.columns.iter().map(|c| if c.name == "uuid" { "user uuid" } else { c.name.as_str() }).collect();
        let map = map_header(&src, &header, &Mapping::default()).unwrap();
        assert!(map.slots.iter().enumerate().all(|(i, s)| *s == Slot::Field(i)));
    }

    #[test]
    fn missing_required_columns_are_all_named_with_the_header_found() {
        let src = source("student_attendance");
        let err = map_header(&src, &["StudentAttendanceId", "SchoolId", "Month"], &Mapping::default()).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("missing required columns StudentId, "), "{text}");
        assert!(text.ends_with("(header found: StudentAttendanceId, SchoolId, Month)"), "{text}");
        let HeaderError::MissingRequired { missing, .. } = err else { panic!("{err:?}") };
        assert!(missing.contains(&"AcademicYear".to_owned()));
        assert!(!missing.contains(&"Month".to_owned()));
    }

    #[test]
    fn one_missing_column_reads_singular() {
        let src = source("school_management_master");
        let err = map_header(&src, &["Management"], &Mapping::default()).unwrap_err();
        assert_eq!(err.to_string(), "missing required column ManagementId (header found: Management)");
    }

    #[test]
    fn two_source_columns_for_one_catalog_column_are_named_with_positions() {
        let src = source("school_management_master");
        let err = map_header(&src, &["ManagementId", "Management", "management_id"], &Mapping::default()).unwrap_err();
        assert_eq!(
            err,
            HeaderError::Duplicate {
                column: "ManagementId".into(),
                first: "ManagementId".into(),
                first_position: 1,
                second: "management_id".into(),
                second_position: 3,
            }
        );
        assert!(
            err.to_string().starts_with(
                "columns ManagementId (position 1) and management_id (position 3) both map to ManagementId"
            )
        );
    }

    #[test]
    fn explicit_mapping_wins_over_name_matching() {
        let src = source("school_management_master");
        let m = mapping(&[("mgmt_code", "ManagementId")], &[]);
        let map = map_header(&src, &["ManagementId", "mgmt_code", "Management"], &m).unwrap();
        assert_eq!(map.slots[..2], [Slot::Field(1), Slot::Field(2)]);
        assert_eq!(map.dropped, ["ManagementId"]);
    }

    #[test]
    fn mapping_to_empty_drops_a_duplicate() {
        let src = source("school_management_master");
        let m = mapping(&[("management_id", "")], &[]);
        let map = map_header(&src, &["ManagementId", "Management", "management_id"], &m).unwrap();
        assert_eq!(map.slots[0], Slot::Field(0));
        assert_eq!(map.dropped, ["management_id"]);
    }

    #[test]
    fn two_mappings_to_one_column_are_a_duplicate() {
        let src = source("school_management_master");
        let m = mapping(&[("a", "ManagementId"), ("b", "managementid")], &[]);
        let err = map_header(&src, &["a", "b", "Management"], &m).unwrap_err();
        assert!(matches!(err, HeaderError::Duplicate { first_position: 1, second_position: 2, .. }), "{err:?}");
    }

    #[test]
    fn constants_fill_columns_and_win_over_a_matched_field() {
        let src = source("student_attendance");
        let header = attendance_header();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let m = mapping(&[], &[("academic_year", "2023-24")]);
        let map = map_header(&src, &header, &m).unwrap();
        assert_eq!(map.slots[4], Slot::Constant("2023-24".into()));
        assert_eq!(map.dropped, ["AcademicYear"]);
        // And a constant satisfies a required column the header lacks.
        let without: Vec<&str> = header.iter().copied().filter(|h| *h != "AcademicYear").collect();
        assert_eq!(map_header(&src, &without, &m).unwrap().slots[4], Slot::Constant("2023-24".into()));
    }

    #[test]
    fn mapping_errors_name_the_culprit() {
        let src = source("school_management_master");
        let header = ["ManagementId", "Management"];
        let err = map_header(&src, &header, &mapping(&[("mgmt", "ManagementId")], &[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "mapping names source column \"mgmt\", which is not in the header (header found: ManagementId, Management)"
        );
        let err = map_header(&src, &header, &mapping(&[("Management", "Nope")], &[])).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "mapping names \"Nope\", which is not a column of school_management_master (columns: ManagementId, "
            ),
            "{err}"
        );
        let err = map_header(&src, &header, &mapping(&[], &[("Year", "2020")])).unwrap_err();
        assert!(matches!(err, HeaderError::UnknownCatalogColumn { via: "constant", .. }), "{err:?}");
        let err =
            map_header(&src, &header, &mapping(&[("Management", "Management")], &[("Management", "x")])).unwrap_err();
        assert_eq!(err.to_string(), "column Management is given both a constant and the source column Management");
    }

    #[test]
    fn empty_headers_are_rejected() {
        let src = source("school_management_master");
        assert_eq!(map_header(&src, &[], &Mapping::default()), Err(HeaderError::Empty));
        assert_eq!(map_header(&src, &["", " \u{feff}"], &Mapping::default()), Err(HeaderError::Empty));
    }

    #[test]
    fn sources_without_known_columns_are_rejected() {
        let catalog =
            Catalog::from_json(r#"[{"name":"diksha_enrolment","dir":"diksha","file_stem":"enrolment"}]"#).unwrap();
        let src = catalog.sources()[0].clone();
        let err = map_header(&src, &["a"], &Mapping::default()).unwrap_err();
        assert_eq!(err, HeaderError::UnknownColumns { data_source: src.name.clone() });
        assert!(err.to_string().contains(&src.name));
    }

    #[test]
    fn blank_trailing_columns_are_dropped() {
        let src = source("school_management_master");
        let map = map_header(&src, &["ManagementId", "Management", ""], &Mapping::default()).unwrap();
        assert_eq!(map.dropped, [""]);
    }

    #[test]
    fn mapping_reads_from_config_and_rejects_unknown_keys() {
        let m: Mapping = serde_json::from_str(r#"{"columns":{"a":"b"}}"#).unwrap();
        assert_eq!(m.columns["a"], "b");
        assert!(m.constants.is_empty());
        assert!(serde_json::from_str::<Mapping>(r#"{"colums":{}}"#).is_err());
    }
}
