//! What `emit` will send and in which order: files found in a `cqube_emission` directory, raw exports named on the
//! command line, stdin, or — with no inputs — the config's `[[source]]`s (`path` globs and database queries);
//! ordered by the catalog's `depends_on`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cqube_core::{Catalog, DataSource};
use serde::Serialize;

use crate::status::{ExitStatus, fail};

/// Where an item's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "path", rename_all = "snake_case")]
pub enum ItemInput {
    /// A cQube-ready zip, checked and sent as it is (or re-encoded with `--normalize`).
    Zip(PathBuf),
    /// A raw export converted on the fly.
    Raw(PathBuf),
    /// Standard input, converted on the fly.
    Stdin,
    /// The config's database query for the source, converted on the fly.
    Database(cqube_source::Backend),
    /// Bytes the caller supplies under this name ([`Settings::streams`](crate::Settings)), converted on the fly:
    /// `cqube-emit bench`'s generated data, which never touches the disk.
    Stream(String),
}

/// A `[[source]]` of the config file, as the plan sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Configured {
    /// Raw exports matching a glob.
    Files { source: String, pattern: PathBuf },
    /// A database query.
    Database { source: String, backend: cqube_source::Backend },
}

impl Configured {
    fn source(&self) -> &str {
        match self {
            Configured::Files { source, .. } | Configured::Database { source, .. } => source,
        }
    }
}

impl ItemInput {
    /// The path, or `-` for stdin.
    pub fn display(&self) -> String {
        match self {
            ItemInput::Zip(p) | ItemInput::Raw(p) => p.display().to_string(),
            ItemInput::Stdin => "-".into(),
            ItemInput::Database(backend) => format!("{backend} query"),
            ItemInput::Stream(name) => format!("{name} (stream)"),
        }
    }

    /// A file on disk, whose identity says whether it changed.
    pub fn is_file(&self) -> bool {
        matches!(self, ItemInput::Zip(_) | ItemInput::Raw(_))
    }

    /// What identifies this input's content without reading it: size and modification time. A resumed run whose
    /// input has another identity starts that file over.
    pub fn identity(&self) -> String {
        match self {
            ItemInput::Zip(p) | ItemInput::Raw(p) => std::fs::metadata(p).map_or_else(
                |_| "missing".into(),
                |m| {
                    let mtime = m
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_nanos());
                    format!("size={} mtime_ns={mtime}", m.len())
                },
            ),
            // Streams cannot be looked at in advance; regenerated part checksums decide what is reused.
            ItemInput::Stdin => "stdin".into(),
            ItemInput::Database(_) => "database".into(),
            ItemInput::Stream(_) => "stream".into(),
        }
    }
}

/// One file to emit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Stable name of the item within a job (the journal's key).
    pub id: String,
    /// Catalog name of its data source.
    pub source: String,
    /// Where cQube expects it: `<dir>/<stem>.zip`.
    pub filename: String,
    pub input: ItemInput,
    /// Indexes of the items this one waits for.
    pub after: Vec<usize>,
}

/// Builds the ordered plan: dependencies before dependents, catalog order among equals, input order within a source.
/// With no `inputs`, the `configured` sources are planned (only those named in `only`, when it is not empty).
/// A raw export whose path names no source is read as `convert` reads it (`convert`: delimiter, encoding, mappings)
/// and its source inferred from its folder and header, as `convert` infers it.
pub fn build(
    catalog: &Catalog,
    inputs: &[PathBuf],
    source_flag: Option<&str>,
    configured: &[Configured],
    only: &[String],
    convert: &cqube_convert::ConvertOptions,
) -> anyhow::Result<Vec<Item>> {
    let usage = |e: anyhow::Error| fail(ExitStatus::Usage, e);
    let flag_source = source_flag
        .map(|name| catalog.get(name).ok_or_else(|| usage(anyhow::anyhow!(catalog.unknown_source(name)))))
        .transpose()?;
    let mut found: Vec<(&DataSource, ItemInput)> = Vec::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            let source = flag_source.ok_or_else(|| {
                usage(anyhow::anyhow!("stdin needs a data source\n\nhint: cqube-emit emit --source NAME -"))
            })?;
            found.push((source, ItemInput::Stdin));
        } else if input.is_dir() {
            scan_dir(catalog, input, &mut found)?;
        } else if input.is_file() {
            let is_zip = input.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip"));
            let source = match flag_source.or_else(|| catalog.find_by_path(&input.display().to_string())) {
                Some(source) => source,
                None if is_zip => {
                    return Err(usage(anyhow::anyhow!(
                        "cannot tell which data source {} is\n\nhint: pass --source NAME",
                        input.display()
                    )));
                }
                None => infer_export(catalog, input, convert)?,
            };
            found.push((source, if is_zip { ItemInput::Zip(input.clone()) } else { ItemInput::Raw(input.clone()) }));
        } else {
            return Err(fail(ExitStatus::Input, anyhow::anyhow!("no such file or directory: {}", input.display())));
        }
    }
    if inputs.is_empty() {
        if let Some(missing) = only.iter().find(|name| !configured.iter().any(|c| c.source() == name.as_str())) {
            return Err(usage(anyhow::anyhow!(
                "the config has no [[source]] {missing} with a path or a database\n\nhint: `cqube-emit config show` \
                 lists them"
            )));
        }
        for entry in configured.iter().filter(|c| only.is_empty() || only.iter().any(|o| o == c.source())) {
            let name = entry.source();
            let source =
                catalog.get(name).ok_or_else(|| usage(anyhow::anyhow!("[[source]] {name}: unknown data source")))?;
            match entry {
                Configured::Database { backend, .. } => found.push((source, ItemInput::Database(*backend))),
                Configured::Files { pattern, .. } => {
                    let text = pattern.display().to_string();
                    let paths = glob::glob(&text)
                        .map_err(|e| usage(anyhow::anyhow!("[[source]] {name}: path {text:?}: {e}")))?;
                    let mut matched: Vec<PathBuf> = paths.filter_map(Result::ok).filter(|p| p.is_file()).collect();
                    matched.sort();
                    if matched.is_empty() {
                        tracing::warn!(source = %name, pattern = %text, "no file matches");
                    }
                    found.extend(matched.into_iter().map(|p| (source, ItemInput::Raw(p))));
                }
            }
        }
    }
    let names: Vec<&str> = found.iter().map(|(s, _)| s.name.as_str()).collect();
    let order = cqube_core::emission_order(catalog, names.iter().copied()).map_err(|e| usage(e.into()))?;
    let rank = |s: &DataSource| order.iter().position(|o| o.name == s.name).unwrap_or(usize::MAX);
    found.sort_by_key(|(s, _)| rank(s));
    let mut items: Vec<Item> = Vec::with_capacity(found.len());
    for (source, input) in found {
        let after = items
            .iter()
            .enumerate()
            .filter(|(_, earlier)| source.depends_on.contains(&earlier.source))
            .map(|(i, _)| i)
            .collect();
        let id = match &input {
            ItemInput::Stdin => format!("{}:stdin", source.name),
            ItemInput::Database(_) => format!("{}:database", source.name),
            other => format!("{}:{}", source.name, other.display()),
        };
        items.push(Item { id, source: source.name.clone(), filename: source.emission_path(), input, after });
    }
    Ok(items)
}

/// The source of a raw export whose name says nothing, from its folder and header (`cqube_convert::prepare`).
fn infer_export<'c>(
    catalog: &'c Catalog,
    path: &Path,
    convert: &cqube_convert::ConvertOptions,
) -> anyhow::Result<&'c DataSource> {
    let input = cqube_convert::Input::open(path)
        .with_context(|| format!("opening {}", path.display()))
        .map_err(|e| fail(ExitStatus::Input, e))?;
    let prepared = cqube_convert::prepare(catalog, None, input, convert).map_err(crate::status::engine_failure)?;
    let by = prepared.source_inferred_by.unwrap_or("header");
    tracing::info!(input = %path.display(), source = %prepared.source.name, by, "data source inferred");
    Ok(prepared.source)
}

/// Finds `<dir>/<source dir>/<stem>.zip` files (also `<dir>/<stem>.zip`), as cQube's layout puts them.
fn scan_dir<'c>(catalog: &'c Catalog, dir: &Path, found: &mut Vec<(&'c DataSource, ItemInput)>) -> anyhow::Result<()> {
    let mut zips = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path).with_context(|| format!("reading {}", path.display()))? {
                let inner = inner?.path();
                if inner.extension().is_some_and(|e| e == "zip") {
                    zips.push(inner);
                }
            }
        } else if path.extension().is_some_and(|e| e == "zip") {
            zips.push(path);
        }
    }
    zips.sort();
    for zip in zips {
        let relative = zip.strip_prefix(dir).unwrap_or(&zip).display().to_string();
        if let Some(source) = catalog.find_by_path(&relative) {
            found.push((source, ItemInput::Zip(zip)));
        } else {
            tracing::warn!(path = %zip.display(), "not a catalog data source; left out");
        }
    }
    Ok(())
}

/// The plan as a tree: each item under the last of its dependencies, others named after `also after`.
pub fn tree(items: &[Item]) -> String {
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); items.len()];
    let mut roots = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.after.iter().max() {
            Some(&parent) => children[parent].push(i),
            None => roots.push(i),
        }
    }
    let mut out = String::new();
    for (n, &root) in roots.iter().enumerate() {
        draw(items, &children, root, "", n + 1 == roots.len(), true, &mut out);
    }
    out
}

fn draw(items: &[Item], children: &[Vec<usize>], i: usize, prefix: &str, last: bool, root: bool, out: &mut String) {
    let item = &items[i];
    let branch = if root {
        ""
    } else if last {
        "└── "
    } else {
        "├── "
    };
    let others: Vec<&str> = {
        let parent = item.after.iter().max();
        item.after.iter().filter(|a| Some(*a) != parent).map(|&a| items[a].source.as_str()).collect()
    };
    let also = if others.is_empty() { String::new() } else { format!("  (also after {})", others.join(", ")) };
    let _ = writeln!(out, "{prefix}{branch}{}  {}{also}", item.source, item.input.display());
    let next_prefix = if root { String::new() } else { format!("{prefix}{}", if last { "    " } else { "│   " }) };
    for (n, &child) in children[i].iter().enumerate() {
        draw(items, children, child, &next_prefix, n + 1 == children[i].len(), false, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependents_follow_their_dependencies_and_hang_under_them() {
        let catalog = Catalog::builtin();
        let dir = tempfile::tempdir().unwrap();
        for s in ["student_attendance", "school_master", "district_master", "block_master", "cluster_master"] {
            let source = catalog.get(s).unwrap();
            let path = dir.path().join(source.emission_path());
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"").unwrap();
        }
        std::fs::write(dir.path().join("notes.zip"), b"").unwrap();
        let items =
            build(&catalog, &[dir.path().to_path_buf()], None, &[], &[], &cqube_convert::ConvertOptions::default())
                .unwrap();
        let names: Vec<&str> = items.iter().map(|i| i.source.as_str()).collect();
        assert_eq!(names, ["district_master", "block_master", "cluster_master", "school_master", "student_attendance"]);
        for (i, item) in items.iter().enumerate() {
            assert!(item.after.iter().all(|&a| a < i));
        }
        let tree = tree(&items);
        assert!(tree.starts_with("district_master  "), "{tree}");
        assert!(tree.contains("└── block_master"), "{tree}");
        assert!(tree.lines().last().unwrap().contains("└── student_attendance"), "{tree}");
        let err = build(&catalog, &[PathBuf::from("-")], None, &[], &[], &cqube_convert::ConvertOptions::default())
            .unwrap_err();
        assert!(format!("{err:#}").contains("stdin needs a data source"));
    }

    #[test]
    fn configured_sources_are_planned_only_without_inputs_and_can_be_narrowed() {
        let catalog = Catalog::builtin();
        let db =
            |source: &str| Configured::Database { source: source.into(), backend: cqube_source::Backend::Postgres };
        let configured = [db("student_attendance"), db("school_master")];
        let names = |only: &[String]| -> Vec<String> {
            build(&catalog, &[], None, &configured, only, &cqube_convert::ConvertOptions::default())
                .unwrap()
                .iter()
                .map(|i| i.source.clone())
                .collect()
        };
        assert_eq!(names(&[]), ["school_master", "student_attendance"], "dependency order, not config order");
        assert_eq!(names(&["student_attendance".into()]), ["student_attendance"]);
        let items = build(&catalog, &[], None, &configured, &[], &cqube_convert::ConvertOptions::default()).unwrap();
        assert_eq!(items[1].after, [0]);
        assert_eq!(
            (items[1].id.as_str(), items[1].input.display()),
            ("student_attendance:database", "postgres query".into())
        );
        let err = build(
            &catalog,
            &[],
            None,
            &configured,
            &["block_master".into()],
            &cqube_convert::ConvertOptions::default(),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("no [[source]] block_master"), "{err:#}");
        let stdin = build(
            &catalog,
            &[PathBuf::from("-")],
            Some("block_master"),
            &configured,
            &[],
            &cqube_convert::ConvertOptions::default(),
        )
        .unwrap();
        assert_eq!(stdin.len(), 1, "inputs given: the config's sources stay out");
    }

    #[test]
    fn issue_16_an_export_named_by_nothing_is_planned_by_its_header_as_convert_infers_it() {
        let dir = tempfile::tempdir().unwrap();
        let export = dir.path().join("july.csv");
        std::fs::write(&export, "StudentAttendanceId,StudentId,SchoolId,AcademicYear,Month,1,2\n1,2,3,2022-23,7,1,1\n")
            .unwrap();
        let catalog = Catalog::builtin();
        let items =
            build(&catalog, std::slice::from_ref(&export), None, &[], &[], &cqube_convert::ConvertOptions::default())
                .unwrap();
        assert_eq!((items[0].source.as_str(), &items[0].input), ("student_attendance", &ItemInput::Raw(export)));
        let vague = dir.path().join("other.csv");
        std::fs::write(&vague, "udise_sch_code,school_name,district_cd\n1,a,2\n").unwrap();
        let err = format!(
            "{:#}",
            build(&catalog, &[vague], None, &[], &[], &cqube_convert::ConvertOptions::default()).unwrap_err()
        );
        assert!(err.contains("closest: school_master (lacks required latitude, longitude)"), "{err}");
    }
}
