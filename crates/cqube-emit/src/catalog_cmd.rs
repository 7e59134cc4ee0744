//! `cqube-emit catalog [NAME]`: what the emitter knows about cQube's data sources.

use std::io::Write;

use anyhow::Context;
use clap::Args;
use cqube_core::{Catalog, ColumnType, DataSource, Rule, Severity};

use crate::exit::{ExitStatus, fail};

/// `catalog` flags.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Show one data source in full (columns, types, key, dependencies).
    pub name: Option<String>,
}

#[allow(clippy::print_stdout)] // the listing is this command's data
pub fn run(args: &CatalogArgs, catalog: &Catalog, json: bool) -> anyhow::Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    match &args.name {
        None if json => {
            for s in catalog.sources() {
                serde_json::to_writer(&mut out, s)?;
                writeln!(out)?;
            }
        }
        None => {
            writeln!(out, "{:<38} {:<17} {:<40} {:>4}  {:<6}  DEPENDS ON", "NAME", "GROUP", "FILE", "COLS", "CONF")?;
            for s in catalog.sources() {
                let cols = if s.columns_known() { s.columns.len().to_string() } else { "?".into() };
                writeln!(
                    out,
                    "{:<38} {:<17} {:<40} {:>4}  {:<6}  {}",
                    s.name,
                    s.group,
                    s.emission_path(),
                    cols,
                    s.confidence,
                    s.depends_on.join(",")
                )?;
            }
            let unknown: Vec<&str> =
                catalog.sources().iter().filter(|s| !s.columns_known()).map(|s| s.name.as_str()).collect();
            if !unknown.is_empty() {
                writeln!(out, "\ncolumns unknown (add them with --catalog FILE): {}", unknown.join(", "))?;
            }
        }
        Some(name) => {
            let source = catalog
                .get(name)
                .ok_or_else(|| fail(ExitStatus::Usage, anyhow::anyhow!(catalog.unknown_source(name))))?;
            if json {
                serde_json::to_writer_pretty(&mut out, source)?;
                writeln!(out)?;
            } else {
                show(&mut out, source).context("writing to stdout")?;
            }
        }
    }
    Ok(ExitStatus::Success)
}

fn show(out: &mut impl Write, s: &DataSource) -> std::io::Result<()> {
    writeln!(out, "{}  ({} group, confidence {})", s.name, s.group, s.confidence)?;
    writeln!(out, "  file:       cqube_emission/{}", s.emission_path())?;
    writeln!(out, "  delimiter:  {:?}", char::from(s.delimiter))?;
    writeln!(out, "  key:        {}", if s.key.is_empty() { "(none)".into() } else { s.key.join(", ") })?;
    writeln!(
        out,
        "  depends on: {}",
        if s.depends_on.is_empty() { "(nothing)".into() } else { s.depends_on.join(", ") }
    )?;
    if !s.notes.is_empty() {
        writeln!(out, "  notes:      {}", s.notes)?;
    }
    if !s.columns_known() {
        return writeln!(out, "\n  columns unknown: describe them in a catalog override (--catalog FILE)");
    }
    writeln!(out, "\n  {:>3}  {:<28} {:<26} {:<8} CHECKS", "#", "COLUMN", "TYPE", "REQUIRED")?;
    for (i, c) in s.columns.iter().enumerate() {
        let checks: Vec<String> = c.checks.iter().map(|r| format!("{} [{}]", r.check, r.severity)).collect();
        writeln!(
            out,
            "  {:>3}  {:<28} {:<26} {:<8} {}",
            i + 1,
            c.name,
            type_label(c.ty, &c.declared_type),
            if c.required { "yes" } else { "" },
            checks.join("; ")
        )?;
    }
    show_rules(out, s)
}

/// Each rule once, with the columns it applies to: its severity, what cQube does when it is broken, and where that
/// is documented.
fn show_rules(out: &mut impl Write, s: &DataSource) -> std::io::Result<()> {
    let mut rules: Vec<(&Rule, Vec<&str>)> = Vec::new();
    for c in &s.columns {
        for rule in &c.checks {
            match rules.iter_mut().find(|(r, _)| *r == rule) {
                Some((_, columns)) => columns.push(&c.name),
                None => rules.push((rule, vec![&c.name])),
            }
        }
    }
    if !s.references.is_empty() {
        writeln!(out, "\n  references (errors; checked when the master is emitted with it or given by --masters):")?;
        for r in &s.references {
            writeln!(out, "  {}: must be in {}.{} [{}]", r.column, r.master, r.master_column, r.rule)?;
            writeln!(out, "      in cQube: {}", r.consequence)?;
            writeln!(out, "      source: {}", r.reference)?;
        }
    }
    if rules.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n  checks (an error rejects the row; a warning is counted, and rejects only with --strict):")?;
    for (rule, columns) in rules {
        let columns = match columns.as_slice() {
            [first, .., last] if columns.len() > 3 => format!("{first}..{last} ({} columns)", columns.len()),
            all => all.join(", "),
        };
        writeln!(out, "  {columns}: {} [{}]", rule.check, rule.severity)?;
        match (rule.severity, &rule.consequence) {
            (Severity::Error, Some(consequence)) => writeln!(out, "      in cQube: {consequence}")?,
            _ => writeln!(out, "      in cQube: nothing (not enforced)")?,
        }
        writeln!(out, "      source: {}", rule.reference)?;
    }
    Ok(())
}

fn type_label(ty: ColumnType, declared: &str) -> String {
    let ours = match ty {
        ColumnType::Int { width } => width.sql_name().to_owned(),
        ColumnType::Decimal => "decimal".into(),
        ColumnType::Date => "date".into(),
        ColumnType::Timestamp => "timestamp".into(),
        ColumnType::Time => "time".into(),
        ColumnType::Bool { digits: false } => "boolean".into(),
        ColumnType::Bool { digits: true } => "boolean (1/0)".into(),
        ColumnType::Text { max_chars: Some(n) } => format!("text (≤{n})"),
        ColumnType::Text { max_chars: None } => "text".into(),
    };
    if declared.is_empty() || declared.eq_ignore_ascii_case(&ours) { ours } else { format!("{ours} [{declared}]") }
}
