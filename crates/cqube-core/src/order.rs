use std::collections::HashSet;

use crate::{Catalog, DataSource};

/// Why no emission order exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OrderError {
    #[error("unknown data source: {0}")]
    Unknown(String),
    #[error("data sources depend on each other in a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
}

/// Orders the named sources so that each comes after the sources it depends on (masters first).
///
/// Dependencies outside `names` are taken as already emitted. Among sources that are free to go,
/// catalog order decides, so the plan is the same on every run.
pub fn emission_order<'c, 'n>(
    catalog: &'c Catalog,
    names: impl IntoIterator<Item = &'n str>,
) -> Result<Vec<&'c DataSource>, OrderError> {
    let mut wanted: Vec<&DataSource> = Vec::new();
    for name in names {
        let source = catalog.get(name).ok_or_else(|| OrderError::Unknown(name.to_owned()))?;
        if !wanted.iter().any(|s| s.name == source.name) {
            wanted.push(source);
        }
    }
    // Catalog order, so ties break the same way every time.
    wanted.sort_by_key(|s| catalog.sources().iter().position(|c| c.name == s.name));
    let selected: HashSet<&str> = wanted.iter().map(|s| s.name.as_str()).collect();
    let mut done: HashSet<&str> = HashSet::new();
    let mut order = Vec::with_capacity(wanted.len());
    while order.len() < wanted.len() {
        let ready = wanted.iter().find(|s| {
            !done.contains(s.name.as_str())
                && s.depends_on.iter().all(|d| done.contains(d.as_str()) || !selected.contains(d.as_str()))
        });
        let Some(s) = ready else {
            let stuck = wanted.iter().filter(|s| !done.contains(s.name.as_str())).map(|s| s.name.clone()).collect();
            return Err(OrderError::Cycle(stuck));
        };
        done.insert(s.name.as_str());
        order.push(*s);
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(order: &[&DataSource], name: &str) -> usize {
        order.iter().position(|s| s.name == name).unwrap_or_else(|| panic!("{name} not in plan"))
    }

    #[test]
    fn masters_and_exam_masters_come_first() {
        let catalog = Catalog::builtin();
        let order = emission_order(&catalog, catalog.sources().iter().map(|s| s.name.as_str())).unwrap();
        assert_eq!(order.len(), catalog.sources().len());
        for s in &order {
            for d in &s.depends_on {
                assert!(position(&order, d) < position(&order, &s.name), "{d} must precede {}", s.name);
            }
        }
        let p = |n| position(&order, n);
        assert!(p("inspection_master") < p("user_location_master"));
        assert!(p("periodic_exam_mst") < p("periodic_exam_result_trans"));
        assert!(p("periodic_exam_qst_mst") < p("periodic_exam_result_trans"));
        assert!(p("semester_exam_grade_details") < p("semester_exam_result_trans"));
        assert!(p("district_master") < p("block_master") && p("block_master") < p("cluster_master"));
        assert!(p("cluster_master") < p("school_master") && p("school_master") < p("student_attendance"));
    }

    #[test]
    fn dependencies_outside_the_selection_are_assumed_done() {
        let catalog = Catalog::builtin();
        let order = emission_order(&catalog, ["user_location_master", "student_attendance"]).unwrap();
        assert_eq!(order.len(), 2);
        assert_eq!(emission_order(&catalog, ["nope"]).unwrap_err(), OrderError::Unknown("nope".into()));
    }

    #[test]
    fn cycles_are_reported() {
        let json = r#"[{"name":"a","dir":"a","file_stem":"a","depends_on":["b"]},{"name":"b","dir":"b","file_stem":"b","depends_on":["a"]}]"#;
        let err = Catalog::from_json(json).unwrap_err().to_string();
        assert!(err.contains("cycle: a -> b"), "{err}");
    }
}
