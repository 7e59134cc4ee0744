//! `catalog`, `convert`, `validate` and `gen` through the real binary; zips are checked with unzip, Python's
//! zipfile and csv (with cQube's reader settings) and 7z, not only with our own code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cqube-emit"));
    cmd.env_remove("CQUBE_EMIT_CONFIG").env_remove("CQUBE_EMIT_ON_ERROR").env("NO_COLOR", "1");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("cqube-emit runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn generate(dir: &Path, source: &str, rows: u64, dirty: bool) -> PathBuf {
    let path = dir.join(format!("{source}.csv"));
    let mut cmd = bin();
    cmd.args(["gen", "--source", source, "--rows", &rows.to_string(), "--schools", "3000", "-o"]).arg(&path);
    if dirty {
        cmd.arg("--dirty");
    }
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    path
}

fn python(script: &str, args: &[&Path]) -> String {
    let out = Command::new("python3").arg("-c").arg(script).args(args).output().expect("python3 runs");
    assert!(out.status.success(), "python failed: {}", text(&out.stderr));
    text(&out.stdout)
}

/// Reads a zip's one CSV with Python exactly as cQube's reader is configured, printing rows and a JSON dump.
const CQUBE_READER: &str = r#"
import csv, io, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None, "CRC mismatch"
[info] = z.infolist()
delim = sys.argv[2] if len(sys.argv) > 2 else "|"
rows = list(csv.reader(io.TextIOWrapper(z.open(info), encoding="utf-8", newline=""),
                       delimiter=delim, quotechar='"', escapechar="\\", doublequote=True))
print(json.dumps({"name": info.filename, "rows": rows}))
"#;

fn read_zip(zip: &Path) -> (String, Vec<Vec<String>>) {
    read_zip_with_delimiter(zip, b'|')
}

#[test]
fn convert_output_passes_unzip_python_and_7z() {
    let dir = tempfile::tempdir().unwrap();
    let input = generate(dir.path(), "student_attendance", 5000, false);
    let zip = dir.path().join("student_attendance.zip");
    let out = run(bin().args(["convert", "--source", "student_attendance"]).arg(&input).arg("-o").arg(&zip));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("5000 in, 5000 out, 0 rejected"), "{}", text(&out.stderr));

    let unzip = run(Command::new("unzip").arg("-t").arg(&zip));
    assert!(unzip.status.success() && text(&unzip.stdout).contains("No errors detected"), "{}", text(&unzip.stdout));
    let seven = run(Command::new("7z").arg("t").arg(&zip));
    assert!(seven.status.success() && text(&seven.stdout).contains("Everything is Ok"), "{}", text(&seven.stdout));
    let (name, rows) = read_zip(&zip);
    assert_eq!(name, "student_attendance.csv");
    assert_eq!(rows.len(), 5001);
    assert_eq!(
        rows[0][..7],
        ["StudentAttendanceId", "StudentId", "SchoolId", "AadhaarUID", "AcademicYear", "Month", "1"]
    );
    // every input row arrives with the same values, NULL day cells as empty (a null to cQube's validator)
    let input_rows = python(
        "import csv,json,sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))))",
        &[&input],
    );
    let input_rows: Vec<Vec<String>> = serde_json::from_str(&input_rows).unwrap();
    for (a, b) in input_rows.iter().zip(&rows).skip(1) {
        let expected: Vec<&str> = a.iter().map(|v| if v == "NULL" { "" } else { v.as_str() }).collect();
        assert_eq!(b, &expected);
    }
}

#[test]
fn texts_with_quotes_commas_and_devanagari_read_back_exactly_in_python() {
    let dir = tempfile::tempdir().unwrap();
    let input = generate(dir.path(), "school_master", 3000, false);
    let zip = dir.path().join("s.zip");
    let out = run(bin().arg("convert").arg(&input).arg("-o").arg(&zip));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("data source: school_master (inferred from the file name)"));
    let (_, rows) = read_zip(&zip);
    let names = python(
        "import csv,json,sys; print(json.dumps([r[1] for r in csv.reader(open(sys.argv[1], newline='', encoding='utf-8'))]))",
        &[&input],
    );
    let names: Vec<String> = serde_json::from_str(&names).unwrap();
    let got: Vec<&String> = rows.iter().map(|r| &r[1]).collect();
    assert_eq!(got.len(), names.len());
    assert!(
        names.iter().any(|n| n.contains('"')) && names.iter().any(|n| n.contains(',')),
        "the generator made hard names"
    );
    assert!(names.iter().any(|n| n.chars().any(|c| ('\u{900}'..='\u{97f}').contains(&c))), "and Devanagari ones");
    for (want, have) in names.iter().zip(got) {
        assert_eq!(want.trim(), have);
    }
}

#[test]
fn stdin_to_stdout_and_gzip_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let input = generate(dir.path(), "block_master", 50, false);
    let gz = dir.path().join("blocks.data");
    let status =
        Command::new("sh").arg("-c").arg(format!("gzip -c {} > {}", input.display(), gz.display())).status().unwrap();
    assert!(status.success());
    let zip = dir.path().join("out.zip");
    let out = run(bin()
        .args(["convert", "-s", "block_master", "-", "-o", "-", "--json"])
        .stdin(std::fs::File::open(&gz).unwrap())
        .stdout(std::fs::File::create(&zip).unwrap()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // with the zip on stdout, the JSON summary goes to stderr
    let summary: serde_json::Value = serde_json::from_str(text(&out.stderr).lines().last().unwrap()).unwrap();
    assert_eq!(summary["gzip"], true);
    assert_eq!(summary["rows_out"], summary["rows_in"]);
    let (name, rows) = read_zip(&zip);
    assert_eq!((name.as_str(), rows.len() as u64), ("block_mst.csv", summary["rows_out"].as_u64().unwrap() + 1));
}

#[test]
fn source_date_epoch_makes_zips_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let input = generate(dir.path(), "block_master", 40, false);
    let zip = |name: &str, epoch: &str| {
        let out = dir.path().join(name);
        let status =
            bin().env("SOURCE_DATE_EPOCH", epoch).arg("convert").arg(&input).arg("-o").arg(&out).status().unwrap();
        assert!(status.success());
        std::fs::read(out).unwrap()
    };
    let (a, b, c) = (zip("a.zip", "1700000000"), zip("b.zip", "1700000000"), zip("c.zip", "1800000000"));
    assert_eq!(a, b);
    assert_ne!(a, c, "the timestamp is in the zip");
}

#[test]
fn a_failed_conversion_names_the_place_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.csv");
    std::fs::write(&input, "block_name,udise_block_code,udise_dist_code\nA,750101,7501\nB,75O102,7501\n").unwrap();
    let zip = dir.path().join("out.zip");
    let out = run(bin().args(["convert", "-s", "block_master"]).arg(&input).arg("-o").arg(&zip));
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:3: column udise_block_code: value \"75O102\": not an integer", input.display())),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("bad.csv")], "no zip and no partial file");
}

/// Issue 18: `auto` is an emission's level; `convert`, whose one output's size is compared, refuses it wherever it
/// comes from, before reading anything.
#[test]
fn convert_refuses_level_auto_from_a_flag_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("block.csv");
    std::fs::write(&input, "block_name,udise_block_code,udise_dist_code\nA,750101,7501\n").unwrap();
    let by_flag = run(bin().args(["convert", "-s", "block_master", "--level", "auto"]).arg(&input));
    let by_env = run(bin().args(["convert", "-s", "block_master"]).arg(&input).env("CQUBE_EMIT_LEVEL", "auto"));
    for (out, origin) in [(by_flag, "flag --level"), (by_env, "env CQUBE_EMIT_LEVEL")] {
        assert_eq!(out.status.code(), Some(2), "a usage error");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(&format!("level auto ({origin}) is for emit only")), "{stderr}");
        assert!(stderr.contains("hint: give convert --level 0-9"), "{stderr}");
    }
    let bad = run(bin().args(["convert", "-s", "block_master", "--level", "10"]).arg(&input));
    assert!(text(&bad.stderr).contains("expected 0-9 or auto, got \"10\""), "{}", text(&bad.stderr));
}

#[test]
fn skipping_writes_a_rejects_report_and_exits_partial() {
    let dir = tempfile::tempdir().unwrap();
    let input = generate(dir.path(), "student_attendance", 4000, true);
    let rejects = dir.path().join("rejects.csv");
    let out = run(bin().args(["validate", "--on-error", "skip", "--json", "--rejects"]).arg(&rejects).arg(&input));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rejected = summary["rows_rejected"].as_u64().unwrap();
    assert!(rejected > 0);
    let report = std::fs::read_to_string(&rejects).unwrap();
    let mut lines = report.lines();
    assert_eq!(lines.next(), Some("file,line,column,value,rule,code"));
    assert_eq!(lines.count() as u64, rejected);
    assert!(report.contains(&format!("{},", input.display())));
}

#[test]
fn config_file_maps_columns_and_env_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("blocks.csv");
    std::fs::write(&input, "Name,Code,District\nA,750101,7501\nB,x,7501\n").unwrap();
    let config = dir.path().join("cqube-emit.toml");
    std::fs::write(
        &config,
        "[convert]\non_error = \"fail\"\n\n[[source]]\nname = \"block_master\"\n[source.columns]\nName = \"block_name\"\nCode = \"udise_block_code\"\nDistrict = \"udise_dist_code\"\n[source.constants]\nudise_state_code = \"75\"\n",
    )
    .unwrap();
    let zip = dir.path().join("b.zip");
    // the file says fail; the environment says skip, and wins
    let out = run(bin()
        .arg("--config")
        .arg(&config)
        .env("CQUBE_EMIT_ON_ERROR", "skip")
        .args(["convert", "-s", "block_master"])
        .arg(&input)
        .arg("-o")
        .arg(&zip));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let (_, rows) = read_zip(&zip);
    assert_eq!(
        rows,
        vec![
            vec!["block_name", "udise_block_code", "udise_dist_code", "udise_state_code"],
            vec!["A", "750101", "7501", "75"]
        ]
    );
    let strict = run(bin().arg("--config").arg(&config).args(["validate", "-s", "block_master"]).arg(&input));
    assert_eq!(strict.status.code(), Some(3));
}

#[test]
fn catalog_lists_shows_and_refuses_unknown_names() {
    let all = run(bin().args(["catalog", "--json"]));
    assert!(all.status.success());
    assert_eq!(text(&all.stdout).lines().count(), 62);
    let one = run(bin().args(["catalog", "sch_enr_age", "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(v["dir"], "udise");
    assert_eq!(v["columns"][0]["name"], "udise_sch_code");
    assert_eq!(v["columns"].as_array().unwrap().len(), 27);
    let table = text(&run(bin().args(["catalog", "student_attendance"])).stdout);
    assert!(table.contains("Month") && table.contains("range 1..=12"), "{table}");
    let unknown = run(bin().args(["catalog", "attendance"]));
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("hint: did you mean student_attendance, teacher_attendance?"));
}

#[test]
fn gen_is_deterministic_and_gen_all_makes_a_valid_emission_folder() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(bin().args(["gen", "-s", "school_master", "--rows", "300", "--seed", "9"]));
    let b = run(bin().args(["gen", "-s", "school_master", "--rows", "300", "--seed", "9"]));
    let c = run(bin().args(["gen", "-s", "school_master", "--rows", "300", "--seed", "10"]));
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);

    let root = dir.path().join("cqube_emission");
    let out = run(bin().args(["gen", "--all"]).arg(&root).args(["--rows", "200", "--schools", "20"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let catalog = cqube_core::Catalog::builtin();
    for source in catalog.sources() {
        let zip = root.join(source.emission_path());
        let (name, rows) = read_zip_with_delimiter(&zip, source.delimiter);
        assert_eq!(name, format!("{}.csv", source.file_stem));
        assert_eq!(rows[0].join(&char::from(source.delimiter).to_string()), source.header_line());
        assert!(rows.len() > 1, "{} has rows", source.name);
    }
}

fn read_zip_with_delimiter(zip: &Path, delimiter: u8) -> (String, Vec<Vec<String>>) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(CQUBE_READER)
        .arg(zip)
        .arg(char::from(delimiter).to_string())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", zip.display());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect())
        .collect();
    (v["name"].as_str().unwrap().to_owned(), rows)
}

#[test]
fn help_teaches_with_examples_and_exit_codes() {
    let help = text(&run(bin().arg("--help")).stdout);
    assert!(help.contains("Exit codes:") && help.contains("130  interrupted"), "{help}");
    let convert = text(&run(bin().args(["convert", "--help"])).stdout);
    assert!(convert.contains("cqube-emit convert --source student_attendance"), "{convert}");
    assert!(convert.contains("--on-error"), "{convert}");
}

#[test]
fn config_show_names_each_origin_and_never_prints_a_password() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pg.url"), "postgresql://emit:FileSecret9@db.example:5432/state\n").unwrap();
    let config = dir.path().join("cqube-emit.toml");
    std::fs::write(
        &config,
        "[convert]\non_error = \"fail\"\nlevel = 3\n\n[emit]\njobs = 5\n\n[daemon]\ntimezone = \"Asia/Kolkata\"\n\n\
         [[source]]\nname = \"student_attendance\"\ntype = \"postgres\"\ntable = \"att\"\nurl_file = \"pg.url\"\n\
         schedule = \"0 30 1 * * *\"\n\n\
         [[source]]\nname = \"school_master\"\ntype = \"mysql\"\nquery = \"select * from schools\"\nurl_env = \"TEST_MY_URL\"\n",
    )
    .unwrap();
    let show = |json: bool| {
        let mut cmd = bin();
        cmd.arg("--config")
            .arg(&config)
            .env("CQUBE_EMIT_ON_ERROR", "skip")
            .env("CQUBE_EMIT_MAX_COMPRESSION_RATIO", "250")
            .env("CQUBE_EMIT_PROTOCOL", "post")
            .env("CQUBE_EMIT_TOKEN", "TokenSecret7")
            .env("TEST_MY_URL", "mysql://root:EnvSecret8@127.0.0.1:3306/x")
            .args(["config", "show"]);
        if json {
            cmd.arg("--json");
        }
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", text(&out.stderr));
        (text(&out.stdout), text(&out.stderr))
    };
    let file = format!("file {}", config.display());
    let (json_out, json_err) = show(true);
    let v: serde_json::Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(v["config_file"]["origin"], "flag --config");
    // the environment beats the file, the file beats the default
    assert_eq!(v["convert"]["on_error"]["value"], "skip");
    assert_eq!(v["convert"]["on_error"]["origin"], "env CQUBE_EMIT_ON_ERROR");
    assert_eq!(v["convert"]["level"]["value"], 3);
    assert_eq!(v["convert"]["level"]["origin"], file.as_str());
    assert_eq!(v["convert"]["chunk_bytes"]["origin"], "default");
    assert_eq!(v["emit"]["jobs"]["value"], 5);
    assert_eq!(v["emit"]["max_compression_ratio"]["origin"], "env CQUBE_EMIT_MAX_COMPRESSION_RATIO");
    assert_eq!(v["emit"]["max_entry_bytes"]["value"], 64_u64 << 30, "cqube-zip's default");
    assert_eq!(
        (&v["emit"]["protocol"]["value"], &v["emit"]["protocol"]["origin"]),
        (&"post".into(), &"env CQUBE_EMIT_PROTOCOL".into())
    );
    assert_eq!(
        (&v["emit"]["post_max_bytes"]["value"], &v["emit"]["post_max_bytes"]["origin"]),
        (&(5_u64 << 30).into(), &"default".into())
    );
    assert_eq!(v["emit"]["token"]["value"], "***");
    assert_eq!(v["daemon"]["timezone"]["origin"], file.as_str());
    assert_eq!(v["daemon"]["stop_grace_seconds"]["origin"], "default");
    let sources = v["sources"].as_array().unwrap();
    assert_eq!(sources[0]["table"], "att");
    assert_eq!(sources[0]["schedule"], "0 30 1 * * *");
    assert_eq!(sources[0]["url"], "postgresql://emit:***@db.example:5432/state");
    assert_eq!(sources[0]["url_origin"], format!("file {}", dir.path().join("pg.url").display()));
    assert_eq!(sources[1]["url"], "mysql://root:***@127.0.0.1:3306/x");
    assert_eq!(sources[1]["url_origin"], "env TEST_MY_URL");

    let (table, table_err) = show(false);
    assert!(table.contains("env CQUBE_EMIT_ON_ERROR") && table.contains(&file), "{table}");
    assert!(table.contains("url = mysql://root:***@127.0.0.1:3306/x"), "{table}");
    for output in [json_out, json_err, table, table_err] {
        for secret in ["FileSecret9", "EnvSecret8", "TokenSecret7"] {
            assert!(!output.contains(secret), "{secret} leaked: {output}");
        }
    }
}

#[test]
fn daemon_refuses_bad_schedules_zones_and_public_status_addresses_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cqube-emit.toml");
    let source = "[[source]]\nname = \"student_attendance\"\npath = \"att_*.csv\"\n";
    let daemon = |toml: &str, flags: &[&str]| {
        std::fs::write(&config, toml).unwrap();
        let out = run(bin().arg("--config").arg(&config).arg("daemon").args(flags));
        (out.status.code(), text(&out.stderr))
    };
    let (code, err) = daemon(source, &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no [[source]] has a schedule"), "{err}");
    let (code, err) = daemon(&format!("{source}schedule = \"0 61 * * *\"\n"), &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("[[source]] student_attendance: schedule \"0 61 * * *\""), "{err}");
    let scheduled = format!("{source}schedule = \"0 30 1 * * *\"\n");
    let (code, err) = daemon(&scheduled, &["--timezone", "Asia/Bangalore"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("timezone \"Asia/Bangalore\""), "{err}");
    let (code, err) = daemon(&scheduled, &["--listen", "0.0.0.0:8471"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("loopback only"), "{err}");
    let (code, err) = daemon("[[source]]\nname = \"student_attendance\"\nschedule = \"0 30 1 * * *\"\n", &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("needs a path glob or a database query"), "{err}");
}

#[test]
fn a_mistyped_source_gets_the_closest_name() {
    let out = run(bin().args(["catalog", "student_attendence"]));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("hint: did you mean student_attendance? (`cqube-emit catalog` lists them)"), "{err}");
    let out = run(bin().args(["convert", "--source", "school_mastr", "-o", "-", "-"]).stdin(Stdio::null()));
    assert!(text(&out.stderr).contains("did you mean school_master?"), "{}", text(&out.stderr));
}

#[test]
fn version_names_the_commit_and_its_date() {
    let out = run(bin().arg("--version"));
    let version = text(&out.stdout);
    // "cqube-emit 0.1.0 (0123456789ab 2026-12-02)", or "unknown commit unknown date" outside a git checkout
    let inner = version.trim().split_once(" (").map(|(_, rest)| rest.trim_end_matches(')')).unwrap_or_default();
    let (commit, date) = inner.split_once(' ').unwrap_or_default();
    let is_commit = commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit());
    let is_date = date.len() == 10 && date.as_bytes()[4] == b'-';
    assert!((is_commit && is_date) || inner == "unknown commit unknown date", "{version:?}");
}

#[test]
fn completions_load_in_bash_and_name_every_subcommand() {
    let out = run(bin().args(["completions", "bash"]));
    assert!(out.status.success());
    let script = text(&out.stdout);
    for sub in ["emit", "convert", "serve", "token", "completions", "man"] {
        assert!(script.contains(sub), "no {sub} in the completion script");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cqube-emit.bash");
    std::fs::write(&file, script).unwrap();
    let loaded =
        run(Command::new("bash").arg("-c").arg(format!("source {} && complete -p cqube-emit", file.display())));
    assert!(text(&loaded.stdout).contains("cqube-emit"), "bash did not register it: {}", text(&loaded.stderr));
    // The Debian package ships these; `make man` regenerates them.
    let packaged = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/completions");
    for (shell, file) in [("bash", "cqube-emit.bash"), ("zsh", "_cqube-emit"), ("fish", "cqube-emit.fish")] {
        let fresh = run(bin().args(["completions", shell])).stdout;
        assert!(
            fresh == std::fs::read(packaged.join(file)).unwrap(),
            "packaging/completions/{file} is stale: make man"
        );
    }
}

/// man/ is generated by `make man`; this fails when a flag or help text changed without regenerating it.
#[test]
fn committed_man_pages_are_current() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(bin().args(["man", "-o"]).arg(dir.path()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../man");
    let names = |d: &Path| {
        let mut n: Vec<String> =
            std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        n.sort();
        n
    };
    assert_eq!(names(dir.path()), names(&committed), "run `make man`");
    for name in names(dir.path()) {
        let fresh = std::fs::read(dir.path().join(&name)).unwrap();
        assert!(fresh == std::fs::read(committed.join(&name)).unwrap(), "man/{name} is stale: run `make man`");
    }
    assert!(names(dir.path()).contains(&"cqube-emit-emit.1".to_owned()));
}

/// `cqube-emit.example.toml` is the documented config: with every `# key = value` line uncommented (except those
/// showing an example instead of the default, marked `default:`), it loads, every value it states is the code's
/// default, and every key `config show` knows is in it.
#[test]
fn the_example_config_loads_and_states_the_code_defaults() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let example = std::fs::read_to_string(root.join("cqube-emit.example.toml")).unwrap();
    let is_toml = |rest: &str| {
        rest.starts_with('[')
            || rest.split_once(" = ").is_some_and(|(key, _)| {
                key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') || (key.starts_with('"') && key.ends_with('"'))
            })
    };
    let uncommented: Vec<&str> = example
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if is_toml(rest) && !line.contains("default:") => rest,
            _ => line,
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cqube-emit.toml");
    std::fs::write(&file, uncommented.join("\n")).unwrap();
    let show = |config: Option<&Path>| {
        let mut cmd = bin();
        cmd.current_dir(dir.path()).args(["config", "show", "--json"]);
        for (var, _) in std::env::vars().filter(|(v, _)| v.starts_with("CQUBE_EMIT_")) {
            cmd.env_remove(var);
        }
        match config {
            Some(path) => cmd.arg("--config").arg(path),
            None => cmd.arg("--config").arg("/dev/null"),
        };
        let out = run(&mut cmd);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let (defaults, loaded) = (show(None), show(Some(&file)));
    let mut from_file = 0;
    for section in ["convert", "emit", "daemon"] {
        for (key, default) in defaults[section].as_object().unwrap() {
            // The token is never a file key: it comes from token_file, the environment or --token.
            if key != "token" {
                assert!(example.contains(&format!("# {key} = ")), "[{section}] {key} is missing from the example");
            }
            let setting = &loaded[section][key];
            if setting["origin"].as_str().unwrap().starts_with("file") {
                from_file += 1;
                assert_eq!(
                    setting["value"], default["value"],
                    "[{section}] {key}: the example's value is not the default"
                );
            }
        }
    }
    assert!(from_file >= 15, "only {from_file} values came from the example");
    assert_eq!(loaded["sources"].as_array().map(Vec::len), Some(2), "{loaded}");
}

#[test]
fn gen_says_when_a_master_has_fewer_rows_than_asked() {
    let out = run(bin().args(["gen", "--source", "school_master", "--rows", "1000", "--schools", "30", "-o", "-"]));
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).lines().count(), 31, "a header and one row per school");
    let err = text(&out.stderr);
    assert!(err.contains("school_master: 30 rows, not 1000") && err.contains("raise --schools"), "{err}");
    let enough = run(bin().args(["gen", "--source", "school_master", "--rows", "20", "--schools", "30", "-o", "-"]));
    assert!(!text(&enough.stderr).contains("warning"), "{}", text(&enough.stderr));
}

#[test]
fn token_list_columns_fit_long_names_and_expiry_times() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    for (name, expires) in [("a-rather-long-token-name-for-gujarat", "90d"), ("b", "never")] {
        let mut create = bin();
        create.args(["token", "create", "--name", name, "--expires", expires, "--data-dir"]).arg(&data);
        assert!(run(&mut create).status.success());
    }
    let out = run(bin().args(["token", "list", "--data-dir"]).arg(&data));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    // every column starts where its header starts: no value runs into the next column
    for header in ["id", "admin", "state", "expires (UTC)", "last used (UTC)", "sources"] {
        let at = lines[0].find(header).unwrap();
        for line in &lines[1..] {
            assert!(line[..at].ends_with("  ") && !line[at..].starts_with(' '), "{header} in {line:?}\n{table}");
        }
    }
}

#[test]
fn help_explains_commands_and_topics_and_suggests_on_a_typo() {
    let topic = run(bin().args(["help", "exit-codes"]));
    assert!(text(&topic.stdout).contains("130  interrupted"));
    let config = text(&run(bin().args(["help", "configuration"])).stdout);
    assert!(config.contains("CQUBE_EMIT_") && config.contains("cqube-emit.example.toml"), "{config}");
    let delivery = text(&run(bin().args(["help", "delivery"])).stdout);
    assert!(["--api", "--protocol post", "--s3", "5 GiB"].iter().all(|w| delivery.contains(w)), "{delivery}");
    let nested = text(&run(bin().args(["help", "token", "create"])).stdout);
    assert!(nested.contains("Usage: cqube-emit token create"), "{nested}");
    let typo = run(bin().args(["help", "exit-code"]));
    assert_eq!(typo.status.code(), Some(2));
    assert!(text(&typo.stderr).contains("did you mean exit-codes?"), "{}", text(&typo.stderr));
}

/// Each command's long help opens with its one-line summary and then its examples, before the details.
#[test]
fn long_help_shows_examples_right_after_the_summary() {
    for command in ["catalog", "convert", "validate", "gen", "emit", "run", "daemon", "plan", "ls", "get", "help"] {
        let help = text(&run(bin().args([command, "--help"])).stdout);
        let mut paragraphs = help.split("\n\n");
        let (_summary, second) = (paragraphs.next(), paragraphs.next().unwrap_or_default());
        assert!(second.starts_with("Examples:"), "{command}: the examples do not come second:\n{help}");
    }
}

#[test]
fn serve_on_a_busy_port_says_so_once() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let mut serve = bin();
    serve.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"]).arg(dir.path().join("server"));
    let out = run(&mut serve);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert_eq!(err.matches("Address already in use").count(), 1, "{err}");
    assert!(err.contains(&format!("binding 127.0.0.1:{port}")), "{err}");
}

/// A district master whose first row's inityear is a plain year: plausible data cQube never reads (issue 16).
fn district_with_plain_inityear(dir: &Path) -> PathBuf {
    let input = dir.join("district_mst.csv");
    std::fs::write(&input, "district_name|udise_district_code|inityear|is_active\nD1|7501|2001|1\nD2|7502|1995-96|1\n")
        .unwrap();
    input
}

#[test]
fn issue_16_a_check_cqube_does_not_enforce_warns_and_is_raised_by_strict_env_or_config() {
    let dir = tempfile::tempdir().unwrap();
    let input = district_with_plain_inityear(dir.path());
    let zip = dir.path().join("d.zip");
    let out = run(bin().args(["convert", "--json", "-o"]).arg(&zip).arg(&input));
    assert_eq!(out.status.code(), Some(0), "a warning never fails a file: {}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((summary["rows_out"].as_u64(), summary["rows_warned"].as_u64()), (Some(2), Some(1)));
    assert_eq!(
        summary["warned"],
        serde_json::json!([{"column": "inityear", "rule": "academic year YYYY-YY", "count": 1, "first_line": 2,
            "first_value": "2001", "values": [{"value": "2001", "count": 1}], "other": 0}])
    );
    assert_eq!(read_zip(&zip).1[1], ["D1", "7501", "2001", "1"], "the row is sent as it is");
    let human = text(&run(bin().args(["validate"]).arg(&input)).stderr);
    assert!(human.contains("warned: 1 rows kept that break a check cQube does not enforce"), "{human}");
    assert!(human.contains("inityear: academic year YYYY-YY: 1 cells, first at line 2 (\"2001\")"), "{human}");

    let strict = run(bin().args(["validate", "--strict"]).arg(&input));
    assert_eq!(strict.status.code(), Some(3), "{}", text(&strict.stderr));
    assert!(text(&strict.stderr).contains(":2: column inityear: value \"2001\": fails check: academic year YYYY-YY"));
    let by_env = run(bin().env("CQUBE_EMIT_STRICT", "true").args(["validate", "--on-error", "skip"]).arg(&input));
    assert_eq!(by_env.status.code(), Some(1), "one row rejected: {}", text(&by_env.stderr));

    let config = dir.path().join("cqube-emit.toml");
    std::fs::write(&config, "[convert]\nstrict_checks = [\"district_master.inityear\"]\n").unwrap();
    let per_rule = run(bin().arg("--config").arg(&config).arg("validate").arg(&input));
    assert_eq!(per_rule.status.code(), Some(3), "{}", text(&per_rule.stderr));
    let shown = text(&run(bin().arg("--config").arg(&config).args(["config", "show"])).stdout);
    assert!(shown.contains("strict_checks") && shown.contains("district_master.inityear"), "{shown}");
    std::fs::write(&config, "[convert]\nstrict_checks = [\"district_master.district_name\"]\n").unwrap();
    let unknown = run(bin().arg("--config").arg(&config).arg("validate").arg(&input));
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("district_master.district_name names no column with a warning rule"));
}

#[test]
fn issue_16_catalog_shows_each_rules_severity_and_consequence() {
    let school = text(&run(bin().args(["catalog", "school_master"])).stdout);
    assert!(school.contains("latitude, longitude: non-zero [error]"), "{school}");
    assert!(school.contains("in cQube: school moved to table school_invalid_data"), "{school}");
    assert!(school.contains("source: INGESTION.md §2.5"), "{school}");
    assert!(school.contains("sch_loc_r_u: range 1..=2 [warning]\n      in cQube: nothing (not enforced)"), "{school}");
    let district = text(&run(bin().args(["catalog", "district_master"])).stdout);
    assert!(district.contains("inityear: academic year YYYY-YY [warning]"), "{district}");
    assert!(district.contains("not read by flow"), "{district}");
    let json: serde_json::Value =
        serde_json::from_slice(&run(bin().args(["catalog", "student_attendance", "--json"])).stdout).unwrap();
    let month = &json["columns"][5];
    assert_eq!((month["name"].as_str(), month["checks"][0]["severity"].as_str()), (Some("Month"), Some("error")));
    assert!(month["checks"][0]["consequence"].as_str().unwrap().starts_with("year derivation wrong"));
}

#[test]
fn issue_16_convert_refuses_a_header_it_cannot_place_and_names_the_closest_sources() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.csv");
    std::fs::write(&input, "udise_sch_code|school_name|district_cd\n1|a|2\n").unwrap();
    let out = run(bin().args(["convert", "-o"]).arg(dir.path().join("x.zip")).arg(&input));
    assert_eq!(out.status.code(), Some(2), "no guess, no zip of empty cells");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("closest: school_master (lacks required latitude, longitude)"), "{stderr}");
    assert!(stderr.contains("hint: pass --source NAME"), "{stderr}");
    assert!(!dir.path().join("x.zip").exists());
}
