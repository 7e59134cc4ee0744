use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::{Check, Reference, ReferenceRule, Rule, Severity, canonical_name};

const BUILTIN_SOURCES: &str = include_str!("../catalog/datasources.json");
const BUILTIN_CHECKS: &str = include_str!("../catalog/checks.json");

/// Problems found while loading a catalog; every problem is listed, not just the first.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("catalog is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("catalog is inconsistent:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

/// Every cQube data source the emitter knows, in catalog order.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    sources: Vec<DataSource>,
}

/// One cQube data source: where its file goes and what its header and values must be.
#[derive(Debug, Clone, Serialize)]
pub struct DataSource {
    pub name: String,
    pub group: String,
    /// Folder under `cqube_emission/`; cQube routes objects by this prefix.
    pub dir: String,
    /// Base name of the zip and of its one CSV entry (never contains a dot).
    pub file_stem: String,
    /// Output columns, in the order the header must list them. Empty when the columns are unknown.
    pub columns: Vec<Column>,
    /// Columns that identify a row; cQube discards every row of a key that appears twice.
    pub key: Vec<String>,
    /// Sources whose emission must be acknowledged before this one is sent.
    pub depends_on: Vec<String>,
    /// Columns whose codes must be found in a master's column (checked when that master is emitted with it or
    /// supplied with `--masters`).
    pub references: Vec<Reference>,
    /// Field separator cQube's reader uses for this source (`|`, or `,` for DIKSHA).
    #[serde(serialize_with = "as_char")]
    pub delimiter: u8,
    /// How sure the catalog is of the columns: high, medium or low.
    pub confidence: String,
    pub notes: String,
}

/// One column of a data source.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
    /// The type as cQube's documents spell it, e.g. `varchar(100)`.
    pub declared_type: String,
    /// A null here makes cQube drop the row.
    pub required: bool,
    /// Value rules, each with its severity and what cQube does when it is broken.
    pub checks: Vec<Rule>,
    /// Other header names that mean this column (beyond case, space, `_` and `-` differences).
    pub aliases: Vec<String>,
    pub notes: String,
}

/// How a column's values are parsed and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ColumnType {
    /// Whole number; digits are written as given, so leading zeros of codes survive.
    Int { width: IntWidth },
    /// Decimal number, written without thousands separators.
    Decimal,
    /// Written `yyyy-MM-dd`.
    Date,
    /// Written `yyyy-MM-dd HH:mm:ss.SSS`.
    Timestamp,
    /// Written `HH:mm:ss`.
    Time,
    /// Written `true`/`false`, or `1`/`0` when `digits`.
    Bool { digits: bool },
    /// Free text, at most `max_chars` characters when given.
    Text { max_chars: Option<u32> },
}

/// The range of an integer column, after the PostgreSQL type cQube stores it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IntWidth {
    Small,
    Int,
    Big,
}

impl IntWidth {
    /// The inclusive bounds of the type.
    pub fn bounds(self) -> (i64, i64) {
        match self {
            IntWidth::Small => (i16::MIN.into(), i16::MAX.into()),
            IntWidth::Int => (i32::MIN.into(), i32::MAX.into()),
            IntWidth::Big => (i64::MIN, i64::MAX),
        }
    }

    /// `smallint`, `int` or `bigint`.
    pub fn sql_name(self) -> &'static str {
        match self {
            IntWidth::Small => "smallint",
            IntWidth::Int => "int",
            IntWidth::Big => "bigint",
        }
    }
}

impl ColumnType {
    /// Reads cQube's type spelling (`smallint`, `varchar(20)`, `date yyyy-MM-dd`, `numeric (BigDecimal)`…).
    /// Anything unrecognised is free text, so an unexpected spelling never rejects data.
    pub fn from_declared(declared: &str) -> ColumnType {
        let t = declared.trim().to_ascii_lowercase();
        let head = t.split([' ', '(']).next().unwrap_or("");
        let length = || t.split_once('(').and_then(|(_, rest)| rest.trim_end_matches(')').trim().parse().ok());
        match head {
            "smallint" => ColumnType::Int { width: IntWidth::Small },
            "int" | "integer" => ColumnType::Int { width: IntWidth::Int },
            "numeric" if t.contains("int in validatecsv") => ColumnType::Int { width: IntWidth::Int },
            "bigint" => ColumnType::Int { width: IntWidth::Big },
            "double" | "numeric" | "decimal" | "real" | "float" => ColumnType::Decimal,
            "date" => ColumnType::Date,
            "timestamp" => ColumnType::Timestamp,
            "time" => ColumnType::Time,
            "boolean" | "boolean/int" | "bool" => ColumnType::Bool { digits: t.contains("int") },
            "varchar" | "char" | "character" => ColumnType::Text { max_chars: length() },
            _ => ColumnType::Text { max_chars: None },
        }
    }
}

impl Catalog {
    /// The catalog compiled into the binary.
    pub fn builtin() -> Catalog {
        Catalog::from_json(BUILTIN_SOURCES).expect("the compiled-in catalog is checked by a unit test")
    }

    /// A catalog made only of the sources in `json` (an array in the shape of `datasources.json`).
    pub fn from_json(json: &str) -> Result<Catalog, Error> {
        let catalog = Catalog::from_json_unchecked(json)?;
        catalog.validate()?;
        Ok(catalog)
    }

    /// This catalog with the sources in `json` added; a source with a known name replaces the built-in one.
    /// Used for cQube versions whose columns differ (see INGESTION.md, cross-check).
    pub fn with_overrides(mut self, json: &str) -> Result<Catalog, Error> {
        for source in Catalog::from_json_unchecked(json)?.sources {
            match self.sources.iter_mut().find(|s| s.name == source.name) {
                Some(existing) => *existing = source,
                None => self.sources.push(source),
            }
        }
        self.validate()?;
        Ok(self)
    }

    fn from_json_unchecked(json: &str) -> Result<Catalog, Error> {
        let raw: Vec<RawSource> = serde_json::from_str(json)?;
        let overlay: Overlay = serde_json::from_str(BUILTIN_CHECKS)?;
        Ok(Catalog { sources: raw.into_iter().map(|r| r.into_source(&overlay)).collect() })
    }

    /// All sources, in catalog order.
    pub fn sources(&self) -> &[DataSource] {
        &self.sources
    }

    /// The source with this exact name.
    pub fn get(&self, name: &str) -> Option<&DataSource> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// The error for a source name the catalog lacks, with the closest names (a typo or a part of the name) and
    /// where the list is.
    pub fn unknown_source(&self, name: &str) -> String {
        let wanted = name.to_ascii_lowercase();
        let mut close: Vec<(f64, &str)> = self
            .sources
            .iter()
            .map(|s| {
                let score = if s.name.contains(&wanted) || wanted.contains(&s.name) {
                    1.0
                } else {
                    strsim::jaro_winkler(&wanted, &s.name)
                };
                (score, s.name.as_str())
            })
            .filter(|(score, _)| *score >= 0.9)
            .collect();
        close.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        let names: Vec<&str> = close.into_iter().take(3).map(|(_, n)| n).collect();
        if names.is_empty() {
            format!("unknown data source: {name}\n\nhint: `cqube-emit catalog` lists them")
        } else {
            format!(
                "unknown data source: {name}\n\nhint: did you mean {}? (`cqube-emit catalog` lists them)",
                names.join(", ")
            )
        }
    }

    /// The source a path names, as cQube's ingestion would route it: `…/<dir>/<stem>.zip`, `<stem>.csv`,
    /// `<stem>_YYYYmmddHHMMSS.zip` (a key the emission API produced) or the source's own name.
    pub fn find_by_path(&self, path: &str) -> Option<&DataSource> {
        let path = path.replace('\\', "/");
        let mut parts = path.rsplit('/');
        let file = parts.next()?;
        let dir = parts.next();
        let base = file.split('.').next().unwrap_or(file);
        let stem = strip_timestamp(base);
        let by_stem: Vec<&DataSource> = self.sources.iter().filter(|s| s.file_stem == stem || s.name == stem).collect();
        match by_stem.as_slice() {
            [] => None,
            [one] => Some(one),
            many => many.iter().copied().find(|s| Some(s.dir.as_str()) == dir).or(Some(many[0])),
        }
    }

    /// The `source.column` names (as `[convert] strict_checks` lists them) that name no column with a warning.
    pub fn unknown_warning_columns<'n>(&self, names: &'n [String]) -> Vec<&'n str> {
        let has_warnings = |name: &str| {
            name.split_once('.').and_then(|(s, c)| self.get(s)?.column(c)).is_some_and(Column::has_warnings)
        };
        names.iter().map(String::as_str).filter(|n| !has_warnings(n)).collect()
    }

    fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        let mut names = HashSet::new();
        for s in &self.sources {
            if !names.insert(s.name.as_str()) {
                problems.push(format!("{}: defined twice", s.name));
            }
            if s.file_stem.is_empty() || s.file_stem.contains(['.', '/', '\\']) {
                problems.push(format!(
                    "{}: file_stem {:?} must be a plain name without '.' (cQube cuts the name at the first dot)",
                    s.name, s.file_stem
                ));
            }
            let mut seen = HashSet::new();
            for c in &s.columns {
                if !seen.insert(canonical_name(&c.name)) {
                    problems.push(format!(
                        "{}: column {:?} appears twice (names compare ignoring case, space, '_' and '-')",
                        s.name, c.name
                    ));
                }
            }
            for k in &s.key {
                if s.column(k).is_none() {
                    problems.push(format!("{}: key column {k:?} is not one of its columns", s.name));
                }
            }
        }
        for s in &self.sources {
            for d in &s.depends_on {
                if !names.contains(d.as_str()) {
                    problems.push(format!("{}: depends on unknown source {d:?}", s.name));
                }
            }
        }
        if let Err(cycle) = crate::emission_order(self, self.sources.iter().map(|s| s.name.as_str())) {
            problems.push(cycle.to_string());
        }
        if problems.is_empty() { Ok(()) } else { Err(Error::Invalid(problems)) }
    }
}

impl DataSource {
    /// The column with this exact name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Whether the catalog knows this source's columns.
    pub fn columns_known(&self) -> bool {
        !self.columns.is_empty()
    }

    /// The header line cQube expects, without the line end.
    pub fn header_line(&self) -> String {
        let sep = char::from(self.delimiter).to_string();
        self.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(&sep)
    }

    /// Where the zip goes in a `cqube_emission` directory: `<dir>/<stem>.zip`.
    pub fn emission_path(&self) -> String {
        format!("{}/{}.zip", self.dir, self.file_stem)
    }
}

impl Column {
    /// An optional column of this type with no checks, aliases or notes (for overrides built in code, and tests).
    pub fn new(name: &str, ty: ColumnType) -> Column {
        Column {
            name: name.to_owned(),
            ty,
            declared_type: String::new(),
            required: false,
            checks: Vec::new(),
            aliases: Vec::new(),
            notes: String::new(),
        }
    }

    /// Turns this column's warnings into errors: `--strict`, or the column named in `strict_checks`.
    pub fn raise_warnings(&mut self) {
        for rule in &mut self.checks {
            rule.severity = Severity::Error;
        }
    }

    /// Whether any of this column's rules is a warning.
    pub fn has_warnings(&self) -> bool {
        self.checks.iter().any(|r| r.severity == Severity::Warning)
    }

    /// Canonical forms of every header name that means this column.
    pub fn match_names(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(&self.name).chain(&self.aliases).map(|n| canonical_name(n))
    }
}

fn strip_timestamp(base: &str) -> &str {
    match base.rsplit_once('_') {
        Some((stem, ts)) if ts.len() == 14 && ts.bytes().all(|b| b.is_ascii_digit()) => stem,
        _ => base,
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's serialize_with signature
fn as_char<S: serde::Serializer>(b: &u8, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&char::from(*b))
}

#[derive(Deserialize)]
struct RawSource {
    name: String,
    #[serde(default)]
    group: String,
    dir: String,
    file_stem: String,
    #[serde(default)]
    columns: Vec<RawColumn>,
    #[serde(default)]
    key: Vec<String>,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    delimiter: Option<char>,
    #[serde(default)]
    confidence: String,
    #[serde(default)]
    notes: String,
}

#[derive(Deserialize)]
struct RawColumn {
    name: String,
    #[serde(rename = "type", default)]
    ty: String,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    checks: Vec<RawRule>,
    #[serde(default)]
    aliases: Vec<String>,
}

/// A rule as a catalog override may write it: in full, or a bare check (an error rule).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawRule {
    Full(Rule),
    Bare(Check),
}

/// `checks.json`: what we add to cQube's catalog. Checks are keyed by source name or `group:<group>`,
/// then by column name or a `first..last` range of numeric column names (attendance days).
#[derive(Deserialize)]
struct Overlay {
    delimiter: BTreeMap<String, char>,
    aliases: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    checks: BTreeMap<String, BTreeMap<String, Vec<Rule>>>,
    /// What each reference rule costs in cQube, and where that is documented.
    reference_rules: BTreeMap<ReferenceRule, RuleCost>,
    /// Keyed like `checks`: per source (or group), per column, the master column it refers to.
    references: BTreeMap<String, BTreeMap<String, RawReference>>,
}

#[derive(Deserialize)]
struct RuleCost {
    consequence: String,
    reference: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReference {
    master: String,
    column: String,
    rule: ReferenceRule,
}

impl Overlay {
    fn checks_for(&self, source: &RawSource, column: &str) -> Vec<Rule> {
        let group_key = format!("group:{}", source.group);
        [source.name.as_str(), group_key.as_str()]
            .into_iter()
            .filter_map(|k| self.checks.get(k))
            .flat_map(|by_col| by_col.iter())
            .filter(|(pattern, _)| column_matches(pattern, column))
            .flat_map(|(_, checks)| checks.iter().cloned())
            .collect()
    }

    /// The references of `source` to columns it has (an override may have left some out).
    fn references_for(&self, source: &RawSource) -> Vec<Reference> {
        let group_key = format!("group:{}", source.group);
        [source.name.as_str(), group_key.as_str()]
            .into_iter()
            .filter_map(|k| self.references.get(k))
            .flat_map(|by_col| by_col.iter())
            .filter(|(column, _)| source.columns.iter().any(|c| &c.name == *column))
            .filter_map(|(column, r)| {
                let cost = self.reference_rules.get(&r.rule)?;
                Some(Reference {
                    column: column.clone(),
                    master: r.master.clone(),
                    master_column: r.column.clone(),
                    rule: r.rule,
                    consequence: cost.consequence.clone(),
                    reference: cost.reference.clone(),
                })
            })
            .collect()
    }
}

fn column_matches(pattern: &str, column: &str) -> bool {
    match pattern.split_once("..") {
        Some((lo, hi)) => match (lo.parse::<u32>(), hi.parse::<u32>(), column.parse::<u32>()) {
            (Ok(lo), Ok(hi), Ok(n)) => (lo..=hi).contains(&n),
            _ => false,
        },
        None => pattern == column,
    }
}

impl RawSource {
    fn into_source(self, overlay: &Overlay) -> DataSource {
        let columns = self
            .columns
            .iter()
            .map(|c| {
                let mut checks: Vec<Rule> = c
                    .checks
                    .iter()
                    .map(|r| match r {
                        RawRule::Full(rule) => rule.clone(),
                        RawRule::Bare(check) => Rule::from_override(check.clone()),
                    })
                    .collect();
                if checks.is_empty() {
                    checks = overlay.checks_for(&self, &c.name);
                }
                let mut aliases = c.aliases.clone();
                if let Some(extra) = overlay.aliases.get(&self.name).and_then(|a| a.get(&c.name)) {
                    aliases.extend(extra.iter().cloned());
                }
                Column {
                    name: c.name.clone(),
                    ty: ColumnType::from_declared(&c.ty),
                    declared_type: c.ty.clone(),
                    required: c.required,
                    checks,
                    aliases,
                    notes: c.notes.clone(),
                }
            })
            .collect();
        let delimiter = self.delimiter.or_else(|| overlay.delimiter.get(&self.name).copied()).unwrap_or('|');
        let references = overlay.references_for(&self);
        DataSource {
            references,
            columns,
            delimiter: u8::try_from(delimiter).unwrap_or(b'|'),
            name: self.name,
            group: self.group,
            dir: self.dir,
            file_stem: self.file_stem,
            key: self.key,
            depends_on: self.depends_on,
            confidence: self.confidence,
            notes: self.notes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_source_suggests_the_closest_names() {
        let c = Catalog::builtin();
        let typo = c.unknown_source("student_attendence");
        assert!(typo.ends_with("hint: did you mean student_attendance? (`cqube-emit catalog` lists them)"), "{typo}");
        let part = c.unknown_source("attendance");
        assert!(part.contains("did you mean student_attendance, teacher_attendance?"), "{part}");
        let nothing = c.unknown_source("zzzz");
        assert!(nothing.ends_with("hint: `cqube-emit catalog` lists them") && !nothing.contains("did you mean"));
    }

    #[test]
    fn builtin_catalog_loads_every_source() {
        let c = Catalog::builtin();
        assert_eq!(c.sources().len(), 62);
        let att = c.get("student_attendance").unwrap();
        assert_eq!(att.columns.len(), 37);
        assert_eq!(att.columns[0].name, "StudentAttendanceId");
        assert_eq!(att.emission_path(), "student_attendance/student_attendance.zip");
        let checks = |c: &str| att.column(c).unwrap().checks.iter().map(|r| r.check.clone()).collect::<Vec<_>>();
        assert_eq!(checks("Month"), [Check::Range([1.0, 12.0])]);
        assert_eq!(checks("17"), [Check::Range([0.0, 7.0])]);
        assert_eq!(c.get("diksha_tpd").unwrap().delimiter, b',');
        let ac_year = &c.get("sch_enr_age").unwrap().column("ac_year").unwrap().checks;
        assert_eq!((ac_year.len(), &ac_year[0].check), (1, &Check::AcademicYear));
    }

    #[test]
    fn declared_types_map_to_column_types() {
        use ColumnType as T;
        let cases = [
            ("smallint", T::Int { width: IntWidth::Small }),
            ("int(6)", T::Int { width: IntWidth::Int }),
            ("numeric (int in ValidateCsv)", T::Int { width: IntWidth::Int }),
            ("bigint", T::Int { width: IntWidth::Big }),
            ("double precision (numeric)", T::Decimal),
            ("numeric (BigDecimal)", T::Decimal),
            ("date yyyy-MM-dd", T::Date),
            ("timestamp", T::Timestamp),
            ("time", T::Time),
            ("boolean", T::Bool { digits: false }),
            ("boolean/int", T::Bool { digits: true }),
            ("varchar(100)", T::Text { max_chars: Some(100) }),
            ("char(11)", T::Text { max_chars: Some(11) }),
            ("unknown", T::Text { max_chars: None }),
        ];
        for (declared, want) in cases {
            assert_eq!(ColumnType::from_declared(declared), want, "{declared}");
        }
    }

    #[test]
    fn finds_source_by_emission_path_stem_or_timestamped_key() {
        let c = Catalog::builtin();
        for path in [
            "cqube_emission/school_master/school_mst.zip",
            "school_mst.csv",
            "school_master/school_mst_20220728101500.zip",
            "/exports/school_master.csv",
        ] {
            assert_eq!(c.find_by_path(path).map(|s| s.name.as_str()), Some("school_master"), "{path}");
        }
        assert_eq!(c.find_by_path("udise/sch_enr_age.zip").unwrap().name, "sch_enr_age");
        assert!(c.find_by_path("random.csv").is_none());
    }

    #[test]
    fn overrides_replace_and_extend() {
        let extra = r#"[
          {"name":"school_category_master","dir":"school_category","file_stem":"school_category_master",
           "columns":[{"name":"SchoolCategoryId","type":"int","required":true},{"name":"SchoolCategory","type":"text"},{"name":"extra","type":"text"}],
           "key":["SchoolCategoryId"]},
          {"name":"state_custom","dir":"custom","file_stem":"custom","columns":[{"name":"id","type":"int","required":true}],
           "key":["id"],"depends_on":["school_master"],"delimiter":"|"}
        ]"#;
        let c = Catalog::builtin().with_overrides(extra).unwrap();
        assert_eq!(c.sources().len(), 63);
        assert_eq!(c.get("school_category_master").unwrap().columns.len(), 3);
        assert_eq!(c.get("state_custom").unwrap().depends_on, ["school_master"]);
    }

    #[test]
    fn inconsistent_overrides_list_every_problem() {
        let bad = r#"[{"name":"x","dir":"x","file_stem":"x.y","columns":[{"name":"a"},{"name":"A"}],"key":["b"],"depends_on":["nope"]}]"#;
        let err = Catalog::builtin().with_overrides(bad).unwrap_err().to_string();
        for needle in ["without '.'", "appears twice", "key column \"b\"", "unknown source \"nope\""] {
            assert!(err.contains(needle), "{needle} missing from {err}");
        }
    }

    /// `§A.B` in INGESTION.md: heading `## A.` of the first reading (or of the cross-check), item `B.` within it.
    fn section_exists(doc: &str, cross_check: bool, section: &str) -> bool {
        let (first, second) = doc.split_once("\n# Cross-check").expect("INGESTION.md has a cross-check part");
        let part = if cross_check { second } else { first };
        let (major, minor) = section.split_once('.').map_or((section, None), |(a, b)| (a, Some(b)));
        let Some(start) = part.find(&format!("\n## {major}. ")) else { return false };
        let body = &part[start + 1..];
        let body = &body[..body[3..].find("\n## ").map_or(body.len(), |end| end + 3)];
        minor.is_none_or(|m| body.lines().any(|l| l.starts_with(&format!("{m}. "))))
    }

    /// Every `§` cited in `reference` names a section of INGESTION.md.
    fn assert_sections_exist(doc: &str, what: &str, reference: &str) {
        let mut rest = reference;
        while let Some(at) = rest.find('§') {
            let cross = rest[..at].ends_with("cross-check ");
            let section: String =
                rest[at + '§'.len_utf8()..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            let section = section.trim_end_matches('.');
            assert!(section_exists(doc, cross, section), "{what}: INGESTION.md §{section} not found");
            rest = &rest[at + '§'.len_utf8()..];
        }
    }

    /// Every reference of the built-in catalog names a master column that exists, of the same kind of type (codes
    /// compare as cQube's join compares them), and cites cQube's consequence.
    #[test]
    fn issue_16_every_reference_resolves_and_cites_its_consequence() {
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/cqube/INGESTION.md"))
                .expect("the fixture copy of INGESTION.md");
        let catalog = Catalog::builtin();
        let mut rules = std::collections::BTreeSet::new();
        let mut count = 0;
        for s in catalog.sources() {
            for r in &s.references {
                let what = format!("{}.{} -> {}.{}", s.name, r.column, r.master, r.master_column);
                let column = s.column(&r.column).unwrap_or_else(|| panic!("{what}: no such column"));
                let master = catalog.get(&r.master).unwrap_or_else(|| panic!("{what}: no such master"));
                let target = master.column(&r.master_column).unwrap_or_else(|| panic!("{what}: no master column"));
                let int = |c: &Column| matches!(c.ty, ColumnType::Int { .. });
                assert_eq!(int(column), int(target), "{what}: codes of different kinds");
                let (mut before, mut first) = (s.depends_on.clone(), false);
                while let Some(d) = before.pop() {
                    first |= d == r.master;
                    before.extend(catalog.get(&d).map(|d| d.depends_on.clone()).unwrap_or_default());
                }
                assert!(first, "{what}: the master must be emitted first");
                assert!(r.consequence.len() > 40 && r.reference.contains("INGESTION.md §"), "{what}");
                assert_sections_exist(&doc, &what, &r.reference);
                rules.insert(r.rule);
                count += 1;
            }
        }
        assert_eq!(rules.len(), 6, "every rule is used: {rules:?}");
        let udise = catalog.sources().iter().filter(|s| s.group == "udise").count();
        assert_eq!(count, udise + 5 + 2 * 5 + 3 + 2, "udise, attendance/CRC/infra, PAT/SAT, school and cluster/block");
    }

    /// Every value rule of the built-in catalog is an error that names cQube's consequence, or an explicit warning
    /// saying why it is one; every INGESTION.md section cited exists.
    #[test]
    fn every_rule_cites_its_consequence_or_is_an_explicit_warning() {
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/cqube/INGESTION.md"))
                .expect("the fixture copy of INGESTION.md");
        let (mut errors, mut warnings) = (0, 0);
        for s in Catalog::builtin().sources() {
            for c in &s.columns {
                for rule in &c.checks {
                    let what = format!("{}.{} {}", s.name, c.name, rule.check);
                    assert!(!rule.reference.trim().is_empty(), "{what}: no reference");
                    match rule.severity {
                        Severity::Error => {
                            errors += 1;
                            let consequence = rule.consequence.as_deref().unwrap_or("");
                            assert!(consequence.len() > 20, "{what}: an error must say what cQube does");
                            assert!(
                                rule.reference.contains("INGESTION.md") && rule.reference.contains('§'),
                                "{what}: cite a section of INGESTION.md"
                            );
                        }
                        Severity::Warning => {
                            warnings += 1;
                            assert!(rule.consequence.is_none(), "{what}: a warning has no cQube consequence");
                            assert!(
                                rule.reference.contains("INGESTION.md §") || rule.reference.contains("catalog notes"),
                                "{what}: say where it is shown that cQube does not enforce it"
                            );
                        }
                    }
                    assert_sections_exist(&doc, &what, &rule.reference);
                }
            }
        }
        // Attendance month/year (student, teacher) and school lat/long are what cQube acts on.
        assert_eq!(errors, 6, "errors");
        assert!(warnings >= 10, "{warnings} warnings");
        let catalog = Catalog::builtin();
        let inityear = &catalog.get("district_master").unwrap().column("inityear").unwrap().checks[0];
        assert_eq!((inityear.check.clone(), inityear.severity), (Check::AcademicYear, Severity::Warning));
    }
}
