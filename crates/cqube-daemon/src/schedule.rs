//! Sources sharing a schedule form a group; a group fires as one run.

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use cqube_settings::config::FileConfig;
use croner::Cron;

/// Sources that share a schedule, and their next firing.
#[derive(Debug)]
pub struct Group {
    /// The cron expression, whitespace normalized.
    pub schedule: String,
    cron: Cron,
    /// The `[[source]]` names, in config order.
    pub sources: Vec<String>,
    /// The next firing.
    pub next: DateTime<Tz>,
    /// The child of the run in progress.
    pub running: Option<u32>,
}

impl Group {
    /// Moves `next` past `now` (a schedule that never fires again waits ten years).
    pub fn advance(&mut self, now: &DateTime<Tz>) {
        self.next = self.cron.find_next_occurrence(now, false).unwrap_or(*now + chrono::Duration::days(3650));
    }
}

/// The scheduled `[[source]]`s of `config` (read from `config_file`) grouped by schedule, each group's next firing
/// after `now`. A source that cannot run, a schedule that does not parse or never fires, and a config without any
/// schedule are errors.
pub fn groups(config: &FileConfig, config_file: &Path, now: &DateTime<Tz>) -> anyhow::Result<Vec<Group>> {
    let mut groups: Vec<Group> = Vec::new();
    for source in &config.sources {
        let Some(schedule) = &source.schedule else { continue };
        let name = &source.name;
        if source.kind.is_none() && source.path.is_none() {
            anyhow::bail!("[[source]] {name}: a schedule needs a path glob or a database query to run");
        }
        if let Some(Err(e)) = source.database(Some(config_file)) {
            return Err(e);
        }
        let schedule = schedule.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(group) = groups.iter_mut().find(|g| g.schedule == schedule) {
            group.sources.push(name.clone());
            continue;
        }
        let cron = croner::parser::CronParser::new()
            .parse(&schedule)
            .map_err(|e| anyhow::anyhow!("[[source]] {name}: schedule {schedule:?}: {e}"))?;
        let next = cron
            .find_next_occurrence(now, false)
            .map_err(|e| anyhow::anyhow!("[[source]] {name}: schedule {schedule:?} never fires: {e}"))?;
        groups.push(Group { schedule, cron, sources: vec![name.clone()], next, running: None });
    }
    if groups.is_empty() {
        anyhow::bail!("no [[source]] has a schedule\n\nhint: schedule = \"0 30 1 * * *\" runs it at 01:30 every day");
    }
    Ok(groups)
}

/// A time as the status and the events show it: RFC 3339 to the second, with the zone's offset.
pub fn timestamp<Z: chrono::TimeZone>(t: &DateTime<Z>) -> String
where
    Z::Offset: std::fmt::Display,
{
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The current time in `zone`.
pub fn now_in(zone: Tz) -> DateTime<Tz> {
    Utc::now().with_timezone(&zone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn config(toml: &str) -> FileConfig {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn sources_sharing_a_schedule_share_a_group_and_fire_at_its_next_occurrence() {
        let config = config(
            "[[source]]\nname = \"a\"\npath = \"a.csv\"\nschedule = \"0 30 1 * * *\"\n\
             [[source]]\nname = \"b\"\npath = \"b.csv\"\nschedule = \"0  30 1 * * *\"\n\
             [[source]]\nname = \"c\"\npath = \"c.csv\"\nschedule = \"0 0 2 * * *\"\n\
             [[source]]\nname = \"d\"\npath = \"d.csv\"\n",
        );
        let now = chrono_tz::Asia::Kolkata.with_ymd_and_hms(2026, 1, 5, 1, 0, 0).unwrap();
        let mut groups = groups(&config, Path::new("/etc/cqube-emit.toml"), &now).unwrap();
        let shape: Vec<_> =
            groups.iter().map(|g| (g.schedule.as_str(), g.sources.clone(), timestamp(&g.next))).collect();
        assert_eq!(
            shape,
            [
                ("0 30 1 * * *", vec!["a".to_owned(), "b".to_owned()], "2026-01-05T01:30:00+05:30".to_owned()),
                ("0 0 2 * * *", vec!["c".to_owned()], "2026-01-05T02:00:00+05:30".to_owned()),
            ]
        );
        let fired = groups[0].next;
        groups[0].advance(&fired);
        assert_eq!(timestamp(&groups[0].next), "2026-01-06T01:30:00+05:30");
    }

    #[test]
    fn a_source_that_cannot_run_a_bad_schedule_and_no_schedule_at_all_are_refused() {
        let now = now_in(chrono_tz::UTC);
        let file = Path::new("/etc/cqube-emit.toml");
        let err = |toml: &str| groups(&config(toml), file, &now).unwrap_err().to_string();
        assert!(err("[[source]]\nname = \"a\"\nschedule = \"0 30 1 * * *\"\n").contains("needs a path glob"));
        let bad = err("[[source]]\nname = \"a\"\npath = \"a.csv\"\nschedule = \"0 61 * * *\"\n");
        assert!(bad.starts_with("[[source]] a: schedule \"0 61 * * *\""), "{bad}");
        assert!(err("[[source]]\nname = \"a\"\npath = \"a.csv\"\n").contains("no [[source]] has a schedule"));
    }
}
