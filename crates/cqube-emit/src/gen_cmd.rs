//! `cqube-emit gen`: deterministic synthetic exports, raw or as cQube-ready zips.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use cqube_core::{Catalog, DataSource};
use cqube_gen::{GenOptions, GenReport, Universe};
use cqube_zip::ZipOptions;
use serde::Serialize;

use crate::exit::{ExitStatus, fail};
use crate::global::GlobalArgs;

/// `gen` flags.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["source", "all"]))]
pub struct GenArgs {
    /// Generate this data source.
    #[arg(short, long)]
    pub source: Option<String>,
    /// Generate every data source with known columns into DIR, laid out as cqube_emission/<dir>/<stem>.zip.
    #[arg(long, value_name = "DIR")]
    pub all: Option<PathBuf>,
    /// Data rows (with --all: rows of the largest transactional sources; masters list the whole universe).
    #[arg(long, default_value_t = 1000)]
    pub rows: u64,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Schools in the generated universe (districts, blocks and clusters scale with it).
    #[arg(long, default_value_t = 200)]
    pub schools: u32,
    /// Realistic mess: mixed date formats, stray spaces and quotes, null tokens, ~1% invalid rows, a few
    /// duplicate keys. Raw CSV only.
    #[arg(long, conflicts_with = "format")]
    pub dirty: bool,
    /// `csv`: a raw comma-delimited export; `zip`: converted to a cQube-ready zip.
    #[arg(long, value_enum)]
    pub format: Option<GenFormat>,
    /// Output file, or - for stdout (with --source). Default: stdout for csv, ./<stem>.zip for zip.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Deflate level for zips.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=9))]
    pub level: Option<u32>,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenFormat {
    Csv,
    Zip,
}

#[derive(Serialize)]
struct Generated<'a> {
    source: &'a str,
    path: String,
    rows: u64,
    invalid_rows: u64,
    duplicate_key_rows: u64,
    bytes: u64,
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
pub fn run(args: &GenArgs, catalog: &Catalog, global: &GlobalArgs) -> anyhow::Result<ExitStatus> {
    let universe = Universe::new(args.seed, args.schools);
    let mut zip = ZipOptions::default();
    if let Some(level) = args.level {
        zip.level = level;
    }
    let mut made = Vec::new();
    if let Some(dir) = &args.all {
        let format = args.format.unwrap_or(if args.dirty { GenFormat::Csv } else { GenFormat::Zip });
        for source in catalog.sources().iter().filter(|s| s.columns_known()) {
            let rows = cqube_gen::default_rows(source, &universe, args.rows);
            let opts = GenOptions { seed: args.seed, rows, dirty: args.dirty, universe: universe.clone() };
            let ext = if format == GenFormat::Zip { "zip" } else { "csv" };
            let path = dir.join(&source.dir).join(format!("{}.{ext}", source.file_stem));
            std::fs::create_dir_all(path.parent().expect("joined paths have a parent"))
                .with_context(|| format!("creating {}", dir.display()))?;
            let report = generate_to_file(source, &opts, format, &path, catalog, zip)?;
            made.push((source, path.display().to_string(), report));
        }
    } else {
        let name = args.source.as_deref().expect("clap requires --source or --all");
        let source =
            catalog.get(name).ok_or_else(|| fail(ExitStatus::Usage, anyhow::anyhow!(catalog.unknown_source(name))))?;
        let format = args.format.unwrap_or(GenFormat::Csv);
        let opts = GenOptions { seed: args.seed, rows: args.rows, dirty: args.dirty, universe };
        let default = match format {
            GenFormat::Csv => PathBuf::from("-"),
            GenFormat::Zip => PathBuf::from(format!("{}.zip", source.file_stem)),
        };
        let path = args.output.clone().unwrap_or(default);
        let report = if path.as_os_str() == "-" {
            let stdout = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            generate(source, &opts, format, stdout, catalog, zip)?
        } else {
            generate_to_file(source, &opts, format, &path, catalog, zip)?
        };
        // A master lists each entity of the universe once, so it cannot have more rows than the universe holds.
        if report.rows < args.rows && !args.dirty {
            crate::global::note(&format!(
                "warning: {name}: {} rows, not {}: a master has one row per entity and the universe has {} schools; \
                 raise --schools for more",
                report.rows, args.rows, args.schools
            ));
        }
        made.push((source, path.display().to_string(), report));
    }
    let stdout_taken = args.all.is_none()
        && args.output.as_deref().is_none_or(|p| p.as_os_str() == "-")
        && args.format != Some(GenFormat::Zip);
    for (source, path, r) in &made {
        if global.json {
            let line = serde_json::to_string(&Generated {
                source: &source.name,
                path: path.clone(),
                rows: r.rows,
                invalid_rows: r.invalid_rows,
                duplicate_key_rows: r.duplicate_key_rows,
                bytes: r.bytes,
            })?;
            if stdout_taken { eprintln!("{line}") } else { println!("{line}") }
        } else if !global.quiet {
            let dirt = if args.dirty {
                format!(" ({} invalid, {} duplicate-key rows)", r.invalid_rows, r.duplicate_key_rows)
            } else {
                String::new()
            };
            eprintln!("{:<38} {:>9} rows{dirt} -> {path}", source.name, r.rows);
        }
    }
    Ok(ExitStatus::Success)
}

fn generate_to_file(
    source: &DataSource,
    opts: &GenOptions,
    format: GenFormat,
    path: &Path,
    catalog: &Catalog,
    zip: ZipOptions,
) -> anyhow::Result<GenReport> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    generate(source, opts, format, BufWriter::with_capacity(1 << 20, file), catalog, zip)
        .with_context(|| format!("generating {}", path.display()))
}

/// `source`'s rows in `format`: raw CSV, or converted into a zip at `zip`'s level.
fn generate<W: Write>(
    source: &DataSource,
    opts: &GenOptions,
    format: GenFormat,
    out: W,
    catalog: &Catalog,
    zip: ZipOptions,
) -> anyhow::Result<GenReport> {
    cqube_emission::generate::write(catalog, source, opts, (format == GenFormat::Zip).then_some(zip), out)
}
