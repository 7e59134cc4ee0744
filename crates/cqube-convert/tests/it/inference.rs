//! Source inference over a corpus of real and near-miss headers: every mock_emission file under its own path and
//! under an anonymous name, truncated exports, renamed and misnamed files. Each case states its outcome.

use std::io::Cursor;

use cqube_convert::Input;

use crate::{catalog, mock_emission, skip};

/// The source chosen and how, or the refusal's message.
fn infer(name: &str, bytes: &[u8]) -> Result<(String, &'static str), String> {
    let input = Input::from_reader(name, None, Cursor::new(bytes.to_vec())).expect("reading from memory");
    cqube_convert::prepare(catalog(), None, input, &skip())
        .map(|p| (p.source.name.clone(), p.source_inferred_by.expect("inferred")))
        .map_err(|e| e.to_string())
}

fn header_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().next().unwrap().to_owned()
}

/// A file of just this header line and one empty row.
fn with_header(header: &str) -> Vec<u8> {
    format!("{header}\n").into_bytes()
}

#[test]
fn every_mock_emission_file_is_known_by_its_path_and_by_its_header_alone() {
    let files = mock_emission();
    assert_eq!(files.len(), 18);
    // Sources whose columns another source shares exactly: the header alone cannot tell them apart.
    let twins = [
        ("pat/periodic_exam_grade_details.zip", "semester_exam_grade_details"),
        ("pat/periodic_exam_qst_mst.zip", "semester_exam_qst_mst"),
        ("pat/periodic_exam_subject_details.zip", "semester_exam_subject_details"),
        ("sat/semester_exam_grade_details.zip", "periodic_exam_grade_details"),
        ("sat/semester_exam_qst_mst.zip", "periodic_exam_qst_mst"),
        ("sat/semester_exam_subject_details.zip", "periodic_exam_subject_details"),
    ];
    for (path, bytes) in &files {
        let named = format!("cqube_emission/{path}");
        let (source, by) = infer(&named, bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(by, "file name", "{path}");
        assert_eq!(catalog().get(&source).unwrap().emission_path(), *path, "{path}");
        // The folder alone, under a name that says nothing.
        let folder = path.split('/').next().unwrap();
        let (in_folder, by) = infer(&format!("{folder}/export.csv"), bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!((in_folder.as_str(), by), (source.as_str(), "folder and header"), "{path}");
        // The header alone.
        match (infer("export.csv", bytes), twins.iter().find(|(p, _)| p == path)) {
            (Ok((by_header, by)), None) => assert_eq!((by_header.as_str(), by), (source.as_str(), "header"), "{path}"),
            (Err(e), Some((_, twin))) => {
                assert!(e.contains("fits more than one equally well"), "{path}: {e}");
                assert!(e.contains(&source) && e.contains(twin), "{path}: names both: {e}");
            }
            (got, twin) => panic!("{path}: {got:?} (twin {twin:?})"),
        }
    }
}

fn mock(stem: &str) -> Vec<u8> {
    mock_emission().into_iter().find(|(p, _)| p.ends_with(&format!("/{stem}.zip"))).unwrap().1
}

#[test]
fn issue_16_truncated_exports_are_refused_naming_what_each_close_source_lacks() {
    // student_attendance without its Month column: once converted as infra_trans.
    let header = header_of(&mock("student_attendance"));
    let no_month: Vec<&str> = header.trim_end().split('|').filter(|c| *c != "Month").collect();
    let e = infer("export.csv", &with_header(&no_month.join("|"))).unwrap_err();
    assert!(e.contains("no source has every required column and most of this header"), "{e}");
    assert!(e.contains("closest: student_attendance (lacks required Month)"), "{e}");
    assert!(e.ends_with("hint: pass --source NAME (`cqube-emit catalog NAME` shows a source's columns)"), "{e}");
    assert!(!e.contains("infra_trans ("), "{e}");

    // Three school_master columns: once converted as sch_pgi_details into rows of empty cells.
    let e = infer("export.csv", &with_header("udise_sch_code|school_name|district_cd")).unwrap_err();
    assert!(e.contains("closest: school_master (lacks required latitude, longitude)"), "{e}");

    // The first half of the school master's header: still short of its coordinates.
    let header = header_of(&mock("school_mst"));
    let half: Vec<&str> = header.split('|').take(14).collect();
    let e = infer("export.csv", &with_header(&half.join("|"))).unwrap_err();
    assert!(e.contains("school_master (lacks required latitude, longitude)"), "{e}");

    // A block master without the district code.
    let e = infer("export.csv", &with_header("block_name|udise_block_code|udise_state_code")).unwrap_err();
    assert!(e.contains("block_master (lacks required udise_dist_code)"), "{e}");

    // Nothing in common.
    let e = infer("export.csv", &with_header("foo|bar|baz")).unwrap_err();
    assert!(e.contains("(no source shares a column name with it)"), "{e}");
}

#[test]
fn one_shared_column_is_not_a_match() {
    // infra_trans needs only school_id; a header that is mostly something else is not infra_trans.
    let e =
        infer("export.csv", &with_header("school_id|NoOfToilet|teacher_name|subject|salary|grade_pay")).unwrap_err();
    assert!(e.contains("closest: infra_trans (explains only 2 of 6 header columns)"), "{e}");
}

#[test]
fn headers_in_another_spelling_or_order_still_decide() {
    let header = header_of(&mock("student_attendance"));
    let lower = header.to_lowercase().replace("studentattendanceid", "student_attendance_id");
    assert_eq!(infer("export.csv", &with_header(&lower)).unwrap(), ("student_attendance".into(), "header"));
    let mut shuffled: Vec<&str> = header.split('|').collect();
    shuffled.reverse();
    let comma = shuffled.join(",");
    assert_eq!(infer("july.csv", &with_header(&comma)).unwrap(), ("student_attendance".into(), "header"));
    // The DIKSHA summary's own comma header, under a name that says nothing.
    let summary = header_of(&mock("diksha_data_summary"));
    assert_eq!(infer("x.csv", &with_header(&summary)).unwrap().0, "diksha_data_summary");
}

#[test]
fn renamed_files_follow_their_folder_or_timestamped_name() {
    let school = mock("school_mst");
    assert_eq!(infer("exports/school_mst_20220728101500.csv", &school).unwrap(), ("school_master".into(), "file name"));
    assert_eq!(
        infer("school_master/2023_schools.csv", &school).unwrap(),
        ("school_master".into(), "folder and header")
    );
    let grade = mock("periodic_exam_grade_details");
    assert_eq!(infer("sat/grades.csv", &grade).unwrap(), ("semester_exam_grade_details".into(), "folder and header"));
    assert_eq!(infer("pat/grades.csv", &grade).unwrap(), ("periodic_exam_grade_details".into(), "folder and header"));
}

#[test]
fn a_file_name_the_header_contradicts_is_reported() {
    let e = infer("exports/school_mst.csv", &mock("student_attendance")).unwrap_err();
    assert!(
        e.starts_with("exports/school_mst.csv: the file name says school_master, but the header lacks required"),
        "{e}"
    );
    assert!(e.contains("the header looks like student_attendance"), "{e}");
    assert!(e.contains("hint: fix the export's header, rename the file, or pass --source NAME"), "{e}");
    // A folder whose sources the header does not fit.
    let e = infer("district_master/export.csv", &mock("block_mst")).unwrap_err();
    assert!(e.contains("the folder says district_master/, but the header fits none of its sources"), "{e}");
    assert!(e.contains("the header looks like block_master"), "{e}");
}
