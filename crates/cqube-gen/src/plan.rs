//! What each column of a source means to the generator, and how row numbers map to unique keys.

use cqube_core::{Check, ColumnType, DataSource, Severity, canonical_name};

use crate::universe::{CATEGORIES, GRADES, MANAGEMENTS, SUBJECTS, Universe};

/// The meaning of a column, read from its name; decides which universe value a cell shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    School,
    SchoolName,
    Cluster,
    ClusterName,
    Block,
    BlockName,
    District,
    DistrictName,
    State,
    StateName,
    /// The row's own number: ids that make a key unique by themselves.
    Serial,
    /// A UUID derived from the row number.
    Uuid,
    /// A text id derived from the row number (`tch_code`).
    SerialText,
    Student,
    Aadhaar,
    Teacher,
    AcademicYear,
    Month,
    /// An attendance day cell; `teacher` picks the 1-7 code set over the student 1/2/5 one.
    Day {
        teacher: bool,
        day: u8,
    },
    Management,
    ManagementName,
    Category,
    CategoryName,
    Exam,
    ExamCode,
    Grade,
    Subject,
    SubjectName,
    ExamDate,
    TotalQuestions,
    TotalMarks,
    ExamType,
    ExamTypeId,
    Semester,
    Question,
    QuestionMarks,
    ObtainedMarks,
    Inspection,
    Course,
    Latitude,
    Longitude,
    PersonName,
    /// A small code that is part of a key (`item_id`, `age_id`...): one of `1..=n`, slot into the context.
    KeyCode {
        slot: u8,
        n: u64,
    },
    /// Any other column: a value of its type that passes its checks.
    Generic,
}

/// One output column.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools, reason = "independent facts from the catalog")]
pub(crate) struct ColPlan {
    pub name: String,
    pub role: Role,
    pub ty: ColumnType,
    pub required: bool,
    pub in_key: bool,
    /// `char(N)`: codes written as exactly N digits.
    pub fixed_digits: Option<u32>,
    pub range: Option<(f64, f64)>,
    pub non_zero: bool,
    pub academic_year: bool,
    pub one_of: Vec<String>,
    /// Whether breaking the range or academic-year rule rejects a row (an error rule, not a warning): what dirty
    /// rows may break.
    pub range_rejects: bool,
    pub academic_year_rejects: bool,
    /// Share of rows (per 1000) where an optional cell is empty.
    pub empty_per_mille: u64,
}

/// A component of a source's key: row numbers are spread over the product of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dim {
    School,
    Cluster,
    Block,
    District,
    Management,
    Category,
    Exam,
    Question,
    Subject,
    Grade,
    Month,
    Inspection,
    StudentLocal,
    TeacherLocal,
    Code { slot: u8 },
}

/// The generation plan of one source.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools, reason = "independent facts about the source")]
pub(crate) struct Plan {
    pub cols: Vec<ColPlan>,
    /// Key components with their sizes; empty when a serial column makes keys unique by itself.
    pub dims: Vec<(Dim, u64)>,
    /// How many rows have distinct keys (`u64::MAX` when unbounded).
    pub capacity: u64,
    /// Rows get their keys from the row number alone (a serial key column, or no key at all).
    pub serial: bool,
    pub has_key: bool,
    /// Every key component is a universe entity, so the default row count covers each exactly once.
    pub master_like: bool,
    /// The exam code prefix for PAT or SAT sources.
    pub exam_prefix: &'static str,
    /// Finest level of the school hierarchy any column shows: 4 school, 3 cluster, 2 block, 1 district.
    pub finest: u8,
    /// Some column shows an inspection, whose school then is the row's school.
    pub uses_inspection: bool,
    /// Attendance day columns `1..=n`, side by side: (index of day 1, n, teacher codes).
    pub days: Option<(usize, usize, bool)>,
}

/// Most students a school can list (4-digit local number in the 15-digit student id).
pub(crate) const MAX_STUDENTS: u64 = 9999;
pub(crate) const MAX_TEACHERS: u64 = 99;

impl Plan {
    pub(crate) fn new(source: &DataSource, universe: &Universe) -> Plan {
        let mut slots = 0u8;
        let cols: Vec<ColPlan> = source
            .columns
            .iter()
            .map(|c| {
                let in_key = source.key.contains(&c.name);
                let mut role = role_of(source, &c.name, c.ty);
                if in_key && role == Role::Generic && matches!(c.ty, ColumnType::Int { .. }) {
                    role = Role::KeyCode { slot: slots.min(3), n: key_code_size(&canonical_name(&c.name)) };
                    slots += 1;
                }
                let mut p = ColPlan {
                    name: c.name.clone(),
                    role,
                    ty: c.ty,
                    required: c.required,
                    in_key,
                    fixed_digits: c
                        .declared_type
                        .trim()
                        .strip_prefix("char(")
                        .and_then(|r| r.trim_end_matches(')').parse().ok()),
                    range: None,
                    non_zero: false,
                    academic_year: false,
                    range_rejects: false,
                    academic_year_rejects: false,
                    one_of: Vec::new(),
                    empty_per_mille: 0,
                };
                // Clean rows keep every rule, warnings included.
                for rule in &c.checks {
                    match &rule.check {
                        Check::Range([lo, hi]) => {
                            p.range = Some((*lo, *hi));
                            p.range_rejects = rule.severity == Severity::Error;
                        }
                        Check::NonZero => p.non_zero = true,
                        Check::AcademicYear => {
                            p.academic_year = true;
                            p.academic_year_rejects = rule.severity == Severity::Error;
                        }
                        Check::OneOf(v) => p.one_of.clone_from(v),
                    }
                }
                if !c.required && !in_key {
                    p.empty_per_mille = match role {
                        Role::Generic | Role::PersonName => 80,
                        Role::Aadhaar => 300,
                        _ => 0,
                    };
                }
                p
            })
            .collect();
        let mut cols = cols;
        let days = day_run(&mut cols);
        let serial = source.key.is_empty()
            || cols.iter().any(|c| c.in_key && matches!(c.role, Role::Serial | Role::Uuid | Role::SerialText));
        let mut dims: Vec<(Dim, u64)> = Vec::new();
        let mut add = |d: Dim, n: u64| {
            if !dims.iter().any(|(e, _)| *e == d) {
                dims.push((d, n.max(1)));
            }
        };
        let mut capacity = u64::MAX;
        if serial {
            if let Some(c) = cols.iter().find(|c| c.in_key && c.role == Role::Serial)
                && let ColumnType::Int { width } = c.ty
            {
                capacity = width.bounds().1 as u64;
            }
        } else {
            for c in cols.iter().filter(|c| c.in_key) {
                match c.role {
                    Role::School => add(Dim::School, universe.schools()),
                    Role::Cluster => add(Dim::Cluster, universe.clusters()),
                    Role::Block => add(Dim::Block, universe.blocks()),
                    Role::District => add(Dim::District, universe.districts()),
                    Role::Management => add(Dim::Management, MANAGEMENTS.len() as u64),
                    Role::Category => add(Dim::Category, CATEGORIES.len() as u64),
                    Role::Exam | Role::ExamCode => add(Dim::Exam, universe.exams()),
                    Role::Question => add(Dim::Question, universe.questions()),
                    Role::Subject => add(Dim::Subject, SUBJECTS.len() as u64),
                    Role::Grade => add(Dim::Grade, GRADES),
                    Role::Month => add(Dim::Month, 12),
                    Role::Inspection => add(Dim::Inspection, universe.inspections()),
                    Role::Student => {
                        add(Dim::School, universe.schools());
                        add(Dim::StudentLocal, MAX_STUDENTS);
                    }
                    Role::Teacher => {
                        add(Dim::School, universe.schools());
                        add(Dim::TeacherLocal, MAX_TEACHERS);
                    }
                    Role::KeyCode { slot, n } => add(Dim::Code { slot }, n),
                    // Fixed per universe or derived from another key column (exam → year, semester).
                    _ => {}
                }
            }
            // A question determines its exam, so the exam is not a separate component.
            if dims.iter().any(|(d, _)| *d == Dim::Question) {
                dims.retain(|(d, _)| *d != Dim::Exam);
            }
            capacity = dims.iter().fold(1u64, |acc, (_, n)| acc.saturating_mul(*n));
        }
        let master_like = !serial
            && dims
                .iter()
                .all(|(d, _)| !matches!(d, Dim::Code { .. } | Dim::StudentLocal | Dim::TeacherLocal | Dim::Month));
        let exam_prefix = match source.group.as_str() {
            "sat" => "SAT",
            _ => "PAT",
        };
        let finest = cols
            .iter()
            .map(|c| match c.role {
                Role::School | Role::SchoolName | Role::Student | Role::Teacher => 4,
                Role::Cluster | Role::ClusterName => 3,
                Role::Block | Role::BlockName => 2,
                Role::District | Role::DistrictName => 1,
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        let uses_inspection = cols.iter().any(|c| c.role == Role::Inspection);
        Plan {
            cols,
            dims,
            capacity,
            serial,
            has_key: !source.key.is_empty(),
            master_like,
            exam_prefix,
            finest,
            uses_inspection,
            days,
        }
    }
}

/// Finds the attendance day columns, written in one run per row. Day columns that are not `1..=n` side by
/// side (a user's override) become generic cells, which still respect their range check.
fn day_run(cols: &mut [ColPlan]) -> Option<(usize, usize, bool)> {
    let first = cols.iter().position(|c| matches!(c.role, Role::Day { .. }))?;
    let run = cols[first..]
        .iter()
        .enumerate()
        .take_while(|(i, c)| matches!(c.role, Role::Day { day, .. } if usize::from(day) == i + 1))
        .count();
    let total = cols.iter().filter(|c| matches!(c.role, Role::Day { .. })).count();
    if run == 0 || run != total {
        for c in cols.iter_mut().filter(|c| matches!(c.role, Role::Day { .. })) {
            c.role = Role::Generic;
        }
        return None;
    }
    let teacher = matches!(cols[first].role, Role::Day { teacher: true, .. });
    Some((first, run, teacher))
}

/// How many distinct values a small key code takes, after UDISE's code lists.
fn key_code_size(name: &str) -> u64 {
    match name {
        "ageid" => 22,
        "disabilitytype" => 21,
        "sectorno" => 12,
        "itemid" => 8,
        "incentivetype" | "marksrangeid" | "casteid" => 6,
        "medinstrseq" | "streamid" => 5,
        "itemgroup" | "classtypeid" => 3,
        "gradepriupr" => 2,
        _ => 4,
    }
}

fn role_of(source: &DataSource, name: &str, ty: ColumnType) -> Role {
    let attendance = source.group == "transactional";
    let n = canonical_name(name);
    if attendance && let Ok(day) = n.parse::<u8>() {
        return Role::Day { teacher: source.name.starts_with("teacher"), day };
    }
    match n.as_str() {
        "udiseschcode" | "schoolid" | "schcd" | "schooludiseid" => Role::School,
        "schoolname" => Role::SchoolName,
        "udiseclustercode" | "clustercd" | "clusterid" => Role::Cluster,
        "clustername" => Role::ClusterName,
        "udiseblockcode" | "blockcd1" | "blockcd2" | "blockid" => Role::Block,
        "blockname" => Role::BlockName,
        "udisedistrictcode" | "udisedistcode" | "districtcd" | "districtid" => Role::District,
        "districtname" | "district" | "derivedlocdistrict" => Role::DistrictName,
        "udisestatecode" | "statecd" => Role::State,
        "state" | "derivedlocstate" => Role::StateName,
        "studentattendanceid" | "userlocationmasterid" | "nsqffacultyid" | "id" => Role::Serial,
        "dikshauuid" | "uuid" => Role::Uuid,
        "tchcode" => Role::SerialText,
        "studentid" | "studentuid" => Role::Student,
        "aadhaaruid" => Role::Aadhaar,
        "tchcd" => Role::Teacher,
        "academicyear" | "acyear" | "assessmentyear" => Role::AcademicYear,
        "month" => Role::Month,
        "managementid" | "schmgmtid" => Role::Management,
        "management" => Role::ManagementName,
        "schoolcategoryid" | "schcategoryid" => Role::Category,
        "schoolcategory" => Role::CategoryName,
        "examid" => Role::Exam,
        "examcode" => Role::ExamCode,
        "grade" | "standard" | "studyingclass" => Role::Grade,
        "subjectid" => Role::Subject,
        "subjectname" | "subject" => Role::SubjectName,
        "examdate" => Role::ExamDate,
        "totalquestions" => Role::TotalQuestions,
        "totalmarks" => Role::TotalMarks,
        "examtype" => Role::ExamType,
        "examtypeid" => Role::ExamTypeId,
        "semester" => Role::Semester,
        "questionid" => Role::Question,
        "questionmarks" => Role::QuestionMarks,
        "obtainedmarks" => Role::ObtainedMarks,
        "inspectionid" => Role::Inspection,
        "courseid" => Role::Course,
        "latitude" if !matches!(ty, ColumnType::Text { .. }) => Role::Latitude,
        "longitude" if !matches!(ty, ColumnType::Text { .. }) => Role::Longitude,
        "name" | "observername" => Role::PersonName,
        _ => Role::Generic,
    }
}

#[cfg(test)]
mod tests {
    use cqube_core::Catalog;

    use super::*;

    #[test]
    fn keys_map_to_dimensions_or_serials() {
        let catalog = Catalog::builtin();
        let u = Universe::new(1, 200);
        for source in catalog.sources() {
            let plan = Plan::new(source, &u);
            for c in plan.cols.iter().filter(|c| c.in_key) {
                // A generic key column would repeat values; every key column needs a meaning.
                assert!(plan.serial || c.role != Role::Generic, "{}.{} has no key role", source.name, c.name);
            }
            assert!(plan.capacity > 0, "{}", source.name);
        }
        let att = Plan::new(catalog.get("student_attendance").unwrap(), &u);
        assert!(att.serial && att.capacity == i64::MAX as u64);
        let school = Plan::new(catalog.get("school_master").unwrap(), &u);
        assert_eq!((school.capacity, school.master_like), (200, true));
        let teacher = Plan::new(catalog.get("teacher_attendance").unwrap(), &u);
        assert_eq!(teacher.capacity, 12 * 200 * MAX_TEACHERS);
        assert!(!teacher.master_like);
        let results = Plan::new(catalog.get("periodic_exam_result_trans").unwrap(), &u);
        assert!(!results.dims.iter().any(|(d, _)| *d == Dim::Exam));
    }
}
