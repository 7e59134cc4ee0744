/// The form used to compare header names: lower-case, with spaces, `_`, `-`, quotes and a BOM removed.
///
/// `"Student Attendance-Id"`, `student_attendance_id` and `STUDENTATTENDANCEID` all compare equal, which
/// is how state exports and cQube's catalog names usually differ.
///
/// ```
/// assert_eq!(cqube_core::canonical_name(" Academic_Year "), "academicyear");
/// ```
pub fn canonical_name(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '"' | '\u{feff}') && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::canonical_name;

    #[test]
    fn ignores_case_space_underscore_dash_and_quotes() {
        for name in
            ["School Name", "school_name", "SCHOOL-NAME", "\"School Name\"", "\u{feff}school name", " school\tname "]
        {
            assert_eq!(canonical_name(name), "schoolname", "{name:?}");
        }
        assert_ne!(canonical_name("school_id"), canonical_name("schoolname"));
    }
}
