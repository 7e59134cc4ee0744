//! `help`, `completions` and `man`: help on a command or a topic, and the shell's and the manual's view of the same
//! clap definitions as `--help`, so none of them drifts from the others.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, CommandFactory};

use crate::cli::Cli;
use crate::exit::ExitStatus;

/// Topics `cqube-emit help TOPIC` explains besides the commands: name and text.
const TOPICS: &[(&str, &str)] = &[
    ("configuration", include_str!("../help/configuration.txt")),
    ("delivery", include_str!("../help/delivery.txt")),
    ("exit-codes", include_str!("../help/exit-codes.txt")),
];

/// `help` arguments.
#[derive(Debug, Args)]
pub struct HelpArgs {
    /// A command (`emit`, `token create`) or a topic: configuration, delivery, exit-codes.
    pub topic: Vec<String>,
}

/// Prints a command's long help or a topic; an unknown name is a usage error naming the closest.
#[allow(clippy::print_stdout)] // the help is this command's data
pub fn help(args: &HelpArgs) -> anyhow::Result<ExitStatus> {
    let mut cmd = Cli::command();
    let Some(first) = args.topic.first() else {
        cmd.print_long_help()?;
        return Ok(ExitStatus::Success);
    };
    if let Some((_, text)) = TOPICS.iter().find(|(name, _)| name == first) {
        print!("{text}");
        return Ok(ExitStatus::Success);
    }
    let mut current = &mut cmd;
    for (depth, word) in args.topic.iter().enumerate() {
        let names: Vec<String> = current.get_subcommands().map(|s| s.get_name().to_owned()).collect();
        let Some(sub) = current.find_subcommand_mut(word) else {
            let mut known: Vec<&str> = names.iter().map(String::as_str).collect();
            if depth == 0 {
                known.extend(TOPICS.iter().map(|(name, _)| *name));
            }
            let close: Vec<&str> = known.iter().copied().filter(|k| strsim::jaro_winkler(word, k) >= 0.85).collect();
            let hint = if close.is_empty() { String::new() } else { format!("did you mean {}? ", close.join(", ")) };
            return Err(crate::exit::fail(
                ExitStatus::Usage,
                anyhow::anyhow!("no command or topic {word:?}\n\nhint: {hint}one of: {}", known.join(", ")),
            ));
        };
        current = sub;
    }
    let name = args.topic.join(" ");
    current.set_bin_name(format!("cqube-emit {name}"));
    current.print_long_help()?;
    Ok(ExitStatus::Success)
}

/// `completions` flags.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `man` flags.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write cqube-emit.1 and one cqube-emit-<command>.1 per subcommand into this directory (created if missing).
    #[arg(long, short = 'o', default_value = "man")]
    pub out_dir: PathBuf,
}

pub fn completions(args: &CompletionsArgs) -> ExitStatus {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "cqube-emit", &mut std::io::stdout().lock());
    ExitStatus::Success
}

pub fn man(args: &ManArgs) -> anyhow::Result<ExitStatus> {
    let written = write_man_pages(&args.out_dir)?;
    crate::global::note(&format!("wrote {written} man pages to {}", args.out_dir.display()));
    Ok(ExitStatus::Success)
}

/// Renders the man pages into `dir`; returns how many.
pub fn write_man_pages(dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // The plain version: the committed pages (man/) stay current across commits.
    let mut cmd = Cli::command().version(env!("CARGO_PKG_VERSION"));
    cmd.build();
    let mut pages = vec![("cqube-emit".to_owned(), cmd.clone())];
    pages.extend(cmd.get_subcommands().filter(|s| s.get_name() != "help").map(|s| {
        let name = format!("cqube-emit-{}", s.get_name());
        (name.clone(), s.clone().name(name))
    }));
    for (name, page) in &pages {
        let path = dir.join(format!("{name}.1"));
        let mut out = Vec::new();
        clap_mangen::Man::new(page.clone()).render(&mut out)?;
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(&out))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(pages.len())
}
