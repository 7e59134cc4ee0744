# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_cqube_emit_global_optspecs
    string join \n json v/verbose q/quiet no-progress log-format= config= catalog= h/help V/version
end

function __fish_cqube_emit_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_cqube_emit_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_cqube_emit_using_subcommand
    set -l cmd (__fish_cqube_emit_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -s V -l version -d 'Print version'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "catalog" -d 'List the data sources cQube accepts, or show one in full.'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "convert" -d 'Convert a raw export into a cQube-ready zip (pipe-delimited, catalog header, one CSV per zip).'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "validate" -d 'Check an export, or a whole cqube_emission folder, against the catalog; nothing is written or sent.'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "gen" -d 'Generate deterministic synthetic data for any data source (for trials and benchmarks).'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "bench" -d 'Measure this machine before a real run: convert and emit generated data, and recommend settings.'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "emit" -d 'Emit exports to cQube through the emission API (or its bucket, --s3): converted, zipped, sent in parts.'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "run" -d 'Emit every source of the config file once, in dependency order (for cron and systemd timers).'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "daemon" -d 'Run the config\'s sources on their cron schedules until stopped (SIGTERM).'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "plan" -d 'Show the order `emit` would send files in, as a tree of dependencies.'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "resume" -d 'Continue an interrupted or failed `emit` job from its journal.'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "verify" -d 'Download an emitted object through the API and check its zip CRC, header and rows.'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "ls" -d 'List what a bucket holds (default: the emission bucket), through the API.'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "get" -d 'Download one object through the API (a presigned GET), e.g. to see what cQube received.'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "config" -d 'Show the resolved configuration and where each value came from (secrets masked)'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "uploads" -d 'See and clear the server\'s multipart uploads (admin token): list, abort'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "serve" -d 'Run the emission API (cQube-compatible endpoints, multipart uploads, acknowledgements)'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "token" -d 'Create, list or revoke API tokens'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "user" -d 'Manage emission users, who trade a password for a short-lived token at POST /data/auth'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "emissions" -d 'List acknowledged emissions from the server\'s database'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "migrate-state" -d 'Copy a SQLite data directory\'s state into the PostgreSQL database replicas will share'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "help" -d 'Help on a command (`help emit`, `help token create`) or a topic: configuration, delivery, exit-codes.'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "completions" -d 'Print a shell completion script.'
complete -c cqube-emit -n "__fish_cqube_emit_needs_command" -f -a "man" -d 'Write the man pages (one per subcommand), e.g. for a package.'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand catalog" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand catalog" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand catalog" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand catalog" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand catalog" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand catalog" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand catalog" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand catalog" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -s s -l source -d 'Catalog data source (see `cqube-emit catalog`). Inferred from the file name or header when omitted' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -l delimiter -d 'Input field separator: a character, or `tab`. Detected (comma, tab, semicolon, pipe) when omitted' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -l encoding -d 'Input encoding: utf-8, utf-16le, utf-16be, windows-1252 (latin1). Detected when omitted. [env: CQUBE_EMIT_ENCODING]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -l on-error -d 'What a bad row does: `fail` stops at the first one (no output); `skip` leaves it out and reports it. [env: CQUBE_EMIT_ON_ERROR]' -r -f -a "fail\t''
skip\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -l max-errors -d 'With --on-error skip: stop once more than N rows were rejected. [env: CQUBE_EMIT_MAX_ERRORS]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -l rejects -d 'Write every rejected row (file, line, column, value, rule) to this CSV report' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -l report -d 'Write a data-quality report (rejected and warned rows by rule, nulls per column, duplicates, codes missing from masters, what cQube would drop): FILE.json or FILE.html, by extension' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -l null-token -d 'A value that means null (repeatable). Default: empty, NULL, null, NA, N/A' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -l threads -d 'Worker threads (default: all cores). [env: CQUBE_EMIT_THREADS]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -s o -l output -d 'Output zip, or - for stdout. Default: ./<file_stem>.zip' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -l level -d 'Deflate level 0-9: lower is faster, higher is smaller (`auto` is for emit). [env: CQUBE_EMIT_LEVEL]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -l strict -d 'Reject rows that break a warning rule too (a check cQube does not enforce, such as district_master inityear\'s format); by default they are only counted. Config `[convert] strict`. [env: CQUBE_EMIT_STRICT]'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -l thousands-separator -d 'Accept thousands separators in numbers (1,234 -> 1234)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand convert" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -s s -l source -d 'Catalog data source (see `cqube-emit catalog`). Inferred from the file name or header when omitted' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -l delimiter -d 'Input field separator: a character, or `tab`. Detected (comma, tab, semicolon, pipe) when omitted' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -l encoding -d 'Input encoding: utf-8, utf-16le, utf-16be, windows-1252 (latin1). Detected when omitted. [env: CQUBE_EMIT_ENCODING]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -l on-error -d 'What a bad row does: `fail` stops at the first one (no output); `skip` leaves it out and reports it. [env: CQUBE_EMIT_ON_ERROR]' -r -f -a "fail\t''
skip\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -l max-errors -d 'With --on-error skip: stop once more than N rows were rejected. [env: CQUBE_EMIT_MAX_ERRORS]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -l rejects -d 'Write every rejected row (file, line, column, value, rule) to this CSV report' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -l report -d 'Write a data-quality report (rejected and warned rows by rule, nulls per column, duplicates, codes missing from masters, what cQube would drop): FILE.json or FILE.html, by extension' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -l null-token -d 'A value that means null (repeatable). Default: empty, NULL, null, NA, N/A' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -l threads -d 'Worker threads (default: all cores). [env: CQUBE_EMIT_THREADS]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -l masters -d 'A cqube_emission folder of masters emitted earlier: rows whose school, cluster, block, district, exam or question codes are in neither these nor the checked folder\'s own masters are errors (unknown_school, ...)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -l strict -d 'Reject rows that break a warning rule too (a check cQube does not enforce, such as district_master inityear\'s format); by default they are only counted. Config `[convert] strict`. [env: CQUBE_EMIT_STRICT]'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -l thousands-separator -d 'Accept thousands separators in numbers (1,234 -> 1234)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand validate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -s s -l source -d 'Generate this data source' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -l all -d 'Generate every data source with known columns into DIR, laid out as cqube_emission/<dir>/<stem>.zip' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -l rows -d 'Data rows (with --all: rows of the largest transactional sources; masters list the whole universe)' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -l seed -d 'Seed: the same seed gives the same bytes' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -l schools -d 'Schools in the generated universe (districts, blocks and clusters scale with it)' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -l format -d '`csv`: a raw comma-delimited export; `zip`: converted to a cQube-ready zip' -r -f -a "csv\t''
zip\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -s o -l output -d 'Output file, or - for stdout (with --source). Default: stdout for csv, ./<stem>.zip for zip' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -l level -d 'Deflate level for zips' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -l dirty -d 'Realistic mess: mixed date formats, stray spaces and quotes, null tokens, ~1% invalid rows, a few duplicate keys. Raw CSV only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand gen" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -s s -l source -d 'Data source to generate' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -l rows -d 'Rows to generate: exactly this many, or at most this many with --seconds. Default: as many as fit the time budget (at most 512 MiB of CSV)' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -l seconds -d 'Size the input from a sample so the whole run takes about this long. Default 60 (without --rows)' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -l levels -d 'Deflate levels to convert at, comma-separated; the lowest is also emitted. Default 1,5,6,9' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -l seed -d 'Generator seed' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -l api -d 'Emission API base URL (what `cqube-emit serve` prints). Config key `emit.api`. [env: CQUBE_EMIT_API]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -l token -d 'API token. Prefer CQUBE_EMIT_TOKEN or a token file: a flag shows in `ps`. [env: CQUBE_EMIT_TOKEN]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -l token-file -d 'File holding the API token. Config key `emit.token_file`. [env: CQUBE_EMIT_TOKEN_FILE]' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -l protocol -d 'How files are delivered: a cqube-emit server\'s multipart API, a stock cQube\'s presigned POST (one per file, at most 5 GiB, restarted rather than resumed), or auto: ask the API. Config key `emit.protocol`. [env: CQUBE_EMIT_PROTOCOL]' -r -f -a "auto\t'Ask the API: multipart when it lists it, else post'
multipart\t'A cqube-emit server\'s `/uploads` endpoints: parts in parallel, resumable, acknowledged'
post\t'Stock cQube\'s `upload-url`: one presigned POST per file, at most 5 GiB, restarted rather than resumed'"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -l s3 -d 'Deliver straight to the emission bucket, as `aws s3 cp` would, with AWS credentials that may write it (AWS_* variables or a profile). Excludes --api. Config key `emit.s3`. [env: CQUBE_EMIT_S3]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -l s3-endpoint -d 'S3-compatible store for --s3, e.g. http://minio:9000 (else AWS_ENDPOINT_URL, else AWS). Config key `emit.s3_endpoint`. [env: CQUBE_EMIT_S3_ENDPOINT]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -l s3-path-style -d 'Path-style requests for --s3 (URL/BUCKET/KEY), as MinIO, SeaweedFS and most S3-compatible stores need. Config key `emit.s3_path_style`. [env: CQUBE_EMIT_S3_PATH_STYLE]'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -s s -l source -d 'Data source of stdin or of a raw file whose name does not say; with no inputs, the configured source to send' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l on-error -d 'What a bad row in a converted export does (fail the file, or skip the row). Config `[convert] on_error`. [env: CQUBE_EMIT_ON_ERROR]' -r -f -a "fail\t''
skip\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l rejects -d 'Write every row left out of a converted export (file, line, column, value, rule) to this CSV report' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l report -d 'Write a data-quality report of every file (rejected and warned rows by rule, nulls per column, duplicates, codes missing from masters, what cQube would drop): FILE.json or FILE.html, by extension' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l masters -d 'A cqube_emission folder of masters emitted earlier (school, cluster, block, district, exam and question masters): rows whose codes are in neither these nor the plan\'s own masters are errors (unknown_school, ...)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l level -d 'Deflate level 0-9 for converted exports, or auto: each file\'s level moves between 1 and 7 as its uploads keep up or fall behind (lower when the link waits for parts, higher when parts wait for the link). Config `[convert] level`. [env: CQUBE_EMIT_LEVEL]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l api -d 'Emission API base URL (what `cqube-emit serve` prints). Config key `emit.api`. [env: CQUBE_EMIT_API]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l token -d 'API token. Prefer CQUBE_EMIT_TOKEN or a token file: a flag shows in `ps`. [env: CQUBE_EMIT_TOKEN]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l token-file -d 'File holding the API token. Config key `emit.token_file`. [env: CQUBE_EMIT_TOKEN_FILE]' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l protocol -d 'How files are delivered: a cqube-emit server\'s multipart API, a stock cQube\'s presigned POST (one per file, at most 5 GiB, restarted rather than resumed), or auto: ask the API. Config key `emit.protocol`. [env: CQUBE_EMIT_PROTOCOL]' -r -f -a "auto\t'Ask the API: multipart when it lists it, else post'
multipart\t'A cqube-emit server\'s `/uploads` endpoints: parts in parallel, resumable, acknowledged'
post\t'Stock cQube\'s `upload-url`: one presigned POST per file, at most 5 GiB, restarted rather than resumed'"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l s3 -d 'Deliver straight to the emission bucket, as `aws s3 cp` would, with AWS credentials that may write it (AWS_* variables or a profile). Excludes --api. Config key `emit.s3`. [env: CQUBE_EMIT_S3]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l s3-endpoint -d 'S3-compatible store for --s3, e.g. http://minio:9000 (else AWS_ENDPOINT_URL, else AWS). Config key `emit.s3_endpoint`. [env: CQUBE_EMIT_S3_ENDPOINT]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -s j -l jobs -d 'Files emitted at once; a dependent still waits for its dependencies\' acknowledgements. Default 2. [env: CQUBE_EMIT_JOBS]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l parts-in-flight -d 'Part PUTs running at once, over all files. Default 4. [env: CQUBE_EMIT_PARTS_IN_FLIGHT]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l part-size-bytes -d 'First part size in bytes (5 MiB..5 GiB); doubles every 1,000 parts. Default 8 MiB. [env: CQUBE_EMIT_PART_SIZE_BYTES]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l max-retries -d 'Retries per request (transport errors, 5xx, SlowDown). Default 8. [env: CQUBE_EMIT_MAX_RETRIES]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l request-timeout-seconds -d 'Time limit for one request, a part PUT included. Default 300. [env: CQUBE_EMIT_REQUEST_TIMEOUT_SECONDS]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l journal-dir -d 'Where resume journals are kept. Default $XDG_STATE_HOME/cqube-emit/jobs (~/.local/state/cqube-emit/jobs). [env: CQUBE_EMIT_JOURNAL_DIR]' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l max-entry-bytes -d 'A prepared zip whose entry decompresses past this many bytes is refused. Default 64 GiB' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l max-compression-ratio -d 'A prepared zip whose entry expands more than this many times its compressed size (past its first MiB) is refused as a zip bomb. Default 100; real cQube data stays near 20 or below' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l normalize -d 'Re-encode zips through the conversion engine instead of sending them as they are'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l resume -d 'Continue this job\'s journal: parts already stored are not sent again'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l strict -d 'Reject rows of converted exports that break a warning rule too (a check cQube does not enforce); by default they are counted and sent. Config `[convert] strict`. [env: CQUBE_EMIT_STRICT]'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l dry-run -d 'Print the plan, labelled (dry-run), and send nothing'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l full -d 'Database sources with a watermark: read every row, not only those past the last acknowledged watermark (for backfills). The new watermark is still recorded with the acknowledgement'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l s3-path-style -d 'Path-style requests for --s3 (URL/BUCKET/KEY), as MinIO, SeaweedFS and most S3-compatible stores need. Config key `emit.s3_path_style`. [env: CQUBE_EMIT_S3_PATH_STYLE]'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -s s -l source -d 'Only these configured sources (repeatable); default all. Their dependencies are not added' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l on-error -d 'What a bad row in a converted export does (fail the file, or skip the row). Config `[convert] on_error`. [env: CQUBE_EMIT_ON_ERROR]' -r -f -a "fail\t''
skip\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l rejects -d 'Write every row left out of a converted export (file, line, column, value, rule) to this CSV report' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l report -d 'Write a data-quality report of every file (rejected and warned rows by rule, nulls per column, duplicates, codes missing from masters, what cQube would drop): FILE.json or FILE.html, by extension' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l masters -d 'A cqube_emission folder of masters emitted earlier (school, cluster, block, district, exam and question masters): rows whose codes are in neither these nor the plan\'s own masters are errors (unknown_school, ...)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l level -d 'Deflate level 0-9 for converted exports, or auto: each file\'s level moves between 1 and 7 as its uploads keep up or fall behind (lower when the link waits for parts, higher when parts wait for the link). Config `[convert] level`. [env: CQUBE_EMIT_LEVEL]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l api -d 'Emission API base URL (what `cqube-emit serve` prints). Config key `emit.api`. [env: CQUBE_EMIT_API]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l token -d 'API token. Prefer CQUBE_EMIT_TOKEN or a token file: a flag shows in `ps`. [env: CQUBE_EMIT_TOKEN]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l token-file -d 'File holding the API token. Config key `emit.token_file`. [env: CQUBE_EMIT_TOKEN_FILE]' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l protocol -d 'How files are delivered: a cqube-emit server\'s multipart API, a stock cQube\'s presigned POST (one per file, at most 5 GiB, restarted rather than resumed), or auto: ask the API. Config key `emit.protocol`. [env: CQUBE_EMIT_PROTOCOL]' -r -f -a "auto\t'Ask the API: multipart when it lists it, else post'
multipart\t'A cqube-emit server\'s `/uploads` endpoints: parts in parallel, resumable, acknowledged'
post\t'Stock cQube\'s `upload-url`: one presigned POST per file, at most 5 GiB, restarted rather than resumed'"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l s3 -d 'Deliver straight to the emission bucket, as `aws s3 cp` would, with AWS credentials that may write it (AWS_* variables or a profile). Excludes --api. Config key `emit.s3`. [env: CQUBE_EMIT_S3]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l s3-endpoint -d 'S3-compatible store for --s3, e.g. http://minio:9000 (else AWS_ENDPOINT_URL, else AWS). Config key `emit.s3_endpoint`. [env: CQUBE_EMIT_S3_ENDPOINT]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -s j -l jobs -d 'Files emitted at once; a dependent still waits for its dependencies\' acknowledgements. Default 2. [env: CQUBE_EMIT_JOBS]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l parts-in-flight -d 'Part PUTs running at once, over all files. Default 4. [env: CQUBE_EMIT_PARTS_IN_FLIGHT]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l part-size-bytes -d 'First part size in bytes (5 MiB..5 GiB); doubles every 1,000 parts. Default 8 MiB. [env: CQUBE_EMIT_PART_SIZE_BYTES]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l max-retries -d 'Retries per request (transport errors, 5xx, SlowDown). Default 8. [env: CQUBE_EMIT_MAX_RETRIES]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l request-timeout-seconds -d 'Time limit for one request, a part PUT included. Default 300. [env: CQUBE_EMIT_REQUEST_TIMEOUT_SECONDS]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l journal-dir -d 'Where resume journals are kept. Default $XDG_STATE_HOME/cqube-emit/jobs (~/.local/state/cqube-emit/jobs). [env: CQUBE_EMIT_JOURNAL_DIR]' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l max-entry-bytes -d 'A prepared zip whose entry decompresses past this many bytes is refused. Default 64 GiB' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l max-compression-ratio -d 'A prepared zip whose entry expands more than this many times its compressed size (past its first MiB) is refused as a zip bomb. Default 100; real cQube data stays near 20 or below' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l strict -d 'Reject rows of converted exports that break a warning rule too (a check cQube does not enforce); by default they are counted and sent. Config `[convert] strict`. [env: CQUBE_EMIT_STRICT]'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l dry-run -d 'Print the plan, labelled (dry-run), and send nothing'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l full -d 'Database sources with a watermark: read every row, not only those past the last acknowledged watermark (for backfills). The new watermark is still recorded with the acknowledgement'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l s3-path-style -d 'Path-style requests for --s3 (URL/BUCKET/KEY), as MinIO, SeaweedFS and most S3-compatible stores need. Config key `emit.s3_path_style`. [env: CQUBE_EMIT_S3_PATH_STYLE]'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand daemon" -l timezone -d 'IANA time zone of the schedules, e.g. Asia/Kolkata (the default). Config `daemon.timezone`. [env: CQUBE_EMIT_TIMEZONE]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand daemon" -l status-file -d 'Status file. Default $XDG_STATE_HOME/cqube-emit/daemon-status.json. Config `daemon.status_file`. [env: CQUBE_EMIT_STATUS_FILE]' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand daemon" -l listen -d 'Serve GET /status on this loopback address (e.g. 127.0.0.1:8471). Config `daemon.listen`. [env: CQUBE_EMIT_STATUS_LISTEN]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand daemon" -l stop-grace-seconds -d 'Seconds running emissions get after SIGTERM before they are killed. Default 30. [env: CQUBE_EMIT_STOP_GRACE_SECONDS]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand daemon" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand daemon" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand daemon" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand daemon" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand daemon" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand daemon" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand daemon" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand daemon" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand plan" -s s -l source -d 'As for `emit`' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand plan" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand plan" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand plan" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand plan" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand plan" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand plan" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand plan" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l api -d 'Emission API base URL (what `cqube-emit serve` prints). Config key `emit.api`. [env: CQUBE_EMIT_API]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l token -d 'API token. Prefer CQUBE_EMIT_TOKEN or a token file: a flag shows in `ps`. [env: CQUBE_EMIT_TOKEN]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l token-file -d 'File holding the API token. Config key `emit.token_file`. [env: CQUBE_EMIT_TOKEN_FILE]' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l protocol -d 'How files are delivered: a cqube-emit server\'s multipart API, a stock cQube\'s presigned POST (one per file, at most 5 GiB, restarted rather than resumed), or auto: ask the API. Config key `emit.protocol`. [env: CQUBE_EMIT_PROTOCOL]' -r -f -a "auto\t'Ask the API: multipart when it lists it, else post'
multipart\t'A cqube-emit server\'s `/uploads` endpoints: parts in parallel, resumable, acknowledged'
post\t'Stock cQube\'s `upload-url`: one presigned POST per file, at most 5 GiB, restarted rather than resumed'"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l s3 -d 'Deliver straight to the emission bucket, as `aws s3 cp` would, with AWS credentials that may write it (AWS_* variables or a profile). Excludes --api. Config key `emit.s3`. [env: CQUBE_EMIT_S3]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l s3-endpoint -d 'S3-compatible store for --s3, e.g. http://minio:9000 (else AWS_ENDPOINT_URL, else AWS). Config key `emit.s3_endpoint`. [env: CQUBE_EMIT_S3_ENDPOINT]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -s j -l jobs -d 'Files emitted at once; a dependent still waits for its dependencies\' acknowledgements. Default 2. [env: CQUBE_EMIT_JOBS]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l parts-in-flight -d 'Part PUTs running at once, over all files. Default 4. [env: CQUBE_EMIT_PARTS_IN_FLIGHT]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l part-size-bytes -d 'First part size in bytes (5 MiB..5 GiB); doubles every 1,000 parts. Default 8 MiB. [env: CQUBE_EMIT_PART_SIZE_BYTES]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l max-retries -d 'Retries per request (transport errors, 5xx, SlowDown). Default 8. [env: CQUBE_EMIT_MAX_RETRIES]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l request-timeout-seconds -d 'Time limit for one request, a part PUT included. Default 300. [env: CQUBE_EMIT_REQUEST_TIMEOUT_SECONDS]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l journal-dir -d 'Where resume journals are kept. Default $XDG_STATE_HOME/cqube-emit/jobs (~/.local/state/cqube-emit/jobs). [env: CQUBE_EMIT_JOURNAL_DIR]' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l max-entry-bytes -d 'A prepared zip whose entry decompresses past this many bytes is refused. Default 64 GiB' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l max-compression-ratio -d 'A prepared zip whose entry expands more than this many times its compressed size (past its first MiB) is refused as a zip bomb. Default 100; real cQube data stays near 20 or below' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l s3-path-style -d 'Path-style requests for --s3 (URL/BUCKET/KEY), as MinIO, SeaweedFS and most S3-compatible stores need. Config key `emit.s3_path_style`. [env: CQUBE_EMIT_S3_PATH_STYLE]'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand resume" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand verify" -l api -d 'Emission API base URL (what `cqube-emit serve` prints). Config key `emit.api`. [env: CQUBE_EMIT_API]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand verify" -l token -d 'API token. Prefer CQUBE_EMIT_TOKEN or a token file: a flag shows in `ps`. [env: CQUBE_EMIT_TOKEN]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand verify" -l token-file -d 'File holding the API token. Config key `emit.token_file`. [env: CQUBE_EMIT_TOKEN_FILE]' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand verify" -l protocol -d 'How files are delivered: a cqube-emit server\'s multipart API, a stock cQube\'s presigned POST (one per file, at most 5 GiB, restarted rather than resumed), or auto: ask the API. Config key `emit.protocol`. [env: CQUBE_EMIT_PROTOCOL]' -r -f -a "auto\t'Ask the API: multipart when it lists it, else post'
multipart\t'A cqube-emit server\'s `/uploads` endpoints: parts in parallel, resumable, acknowledged'
post\t'Stock cQube\'s `upload-url`: one presigned POST per file, at most 5 GiB, restarted rather than resumed'"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand verify" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand verify" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand verify" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand verify" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand verify" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand verify" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand verify" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand ls" -l api -d 'Emission API base URL (what `cqube-emit serve` prints). Config key `emit.api`. [env: CQUBE_EMIT_API]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand ls" -l token -d 'API token. Prefer CQUBE_EMIT_TOKEN or a token file: a flag shows in `ps`. [env: CQUBE_EMIT_TOKEN]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand ls" -l token-file -d 'File holding the API token. Config key `emit.token_file`. [env: CQUBE_EMIT_TOKEN_FILE]' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand ls" -l protocol -d 'How files are delivered: a cqube-emit server\'s multipart API, a stock cQube\'s presigned POST (one per file, at most 5 GiB, restarted rather than resumed), or auto: ask the API. Config key `emit.protocol`. [env: CQUBE_EMIT_PROTOCOL]' -r -f -a "auto\t'Ask the API: multipart when it lists it, else post'
multipart\t'A cqube-emit server\'s `/uploads` endpoints: parts in parallel, resumable, acknowledged'
post\t'Stock cQube\'s `upload-url`: one presigned POST per file, at most 5 GiB, restarted rather than resumed'"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand ls" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand ls" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand ls" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand ls" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand ls" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand ls" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand ls" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand get" -s o -l output -d 'Where to write it; `-` for stdout. Default: the key\'s file name in the working directory' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand get" -l api -d 'Emission API base URL (what `cqube-emit serve` prints). Config key `emit.api`. [env: CQUBE_EMIT_API]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand get" -l token -d 'API token. Prefer CQUBE_EMIT_TOKEN or a token file: a flag shows in `ps`. [env: CQUBE_EMIT_TOKEN]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand get" -l token-file -d 'File holding the API token. Config key `emit.token_file`. [env: CQUBE_EMIT_TOKEN_FILE]' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand get" -l protocol -d 'How files are delivered: a cqube-emit server\'s multipart API, a stock cQube\'s presigned POST (one per file, at most 5 GiB, restarted rather than resumed), or auto: ask the API. Config key `emit.protocol`. [env: CQUBE_EMIT_PROTOCOL]' -r -f -a "auto\t'Ask the API: multipart when it lists it, else post'
multipart\t'A cqube-emit server\'s `/uploads` endpoints: parts in parallel, resumable, acknowledged'
post\t'Stock cQube\'s `upload-url`: one presigned POST per file, at most 5 GiB, restarted rather than resumed'"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand get" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand get" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand get" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand get" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand get" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand get" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand get" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and not __fish_seen_subcommand_from show" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and not __fish_seen_subcommand_from show" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and not __fish_seen_subcommand_from show" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and not __fish_seen_subcommand_from show" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and not __fish_seen_subcommand_from show" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and not __fish_seen_subcommand_from show" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and not __fish_seen_subcommand_from show" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and not __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and not __fish_seen_subcommand_from show" -f -a "show" -d 'Print every resolved setting and where it came from (default, file PATH, env VAR); secrets are masked.'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and __fish_seen_subcommand_from show" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and __fish_seen_subcommand_from show" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and __fish_seen_subcommand_from show" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and __fish_seen_subcommand_from show" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and not __fish_seen_subcommand_from list abort" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and not __fish_seen_subcommand_from list abort" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and not __fish_seen_subcommand_from list abort" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and not __fish_seen_subcommand_from list abort" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and not __fish_seen_subcommand_from list abort" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and not __fish_seen_subcommand_from list abort" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and not __fish_seen_subcommand_from list abort" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and not __fish_seen_subcommand_from list abort" -s h -l help -d 'Print help'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and not __fish_seen_subcommand_from list abort" -f -a "list" -d 'List the server\'s multipart uploads, oldest first (admin token).'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and not __fish_seen_subcommand_from list abort" -f -a "abort" -d 'Abort an upload and remove its parts from the store (admin token: any upload).'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from list" -l state -d 'Only uploads in this state' -r -f -a "open\t''
expired\t''
completing\t''
completed\t''
failed\t''
aborted\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from list" -l api -d 'Emission API base URL (what `cqube-emit serve` prints). Config key `emit.api`. [env: CQUBE_EMIT_API]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from list" -l token -d 'API token. Prefer CQUBE_EMIT_TOKEN or a token file: a flag shows in `ps`. [env: CQUBE_EMIT_TOKEN]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from list" -l token-file -d 'File holding the API token. Config key `emit.token_file`. [env: CQUBE_EMIT_TOKEN_FILE]' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from list" -l protocol -d 'How files are delivered: a cqube-emit server\'s multipart API, a stock cQube\'s presigned POST (one per file, at most 5 GiB, restarted rather than resumed), or auto: ask the API. Config key `emit.protocol`. [env: CQUBE_EMIT_PROTOCOL]' -r -f -a "auto\t'Ask the API: multipart when it lists it, else post'
multipart\t'A cqube-emit server\'s `/uploads` endpoints: parts in parallel, resumable, acknowledged'
post\t'Stock cQube\'s `upload-url`: one presigned POST per file, at most 5 GiB, restarted rather than resumed'"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from list" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from list" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from list" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from list" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from list" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from abort" -l api -d 'Emission API base URL (what `cqube-emit serve` prints). Config key `emit.api`. [env: CQUBE_EMIT_API]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from abort" -l token -d 'API token. Prefer CQUBE_EMIT_TOKEN or a token file: a flag shows in `ps`. [env: CQUBE_EMIT_TOKEN]' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from abort" -l token-file -d 'File holding the API token. Config key `emit.token_file`. [env: CQUBE_EMIT_TOKEN_FILE]' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from abort" -l protocol -d 'How files are delivered: a cqube-emit server\'s multipart API, a stock cQube\'s presigned POST (one per file, at most 5 GiB, restarted rather than resumed), or auto: ask the API. Config key `emit.protocol`. [env: CQUBE_EMIT_PROTOCOL]' -r -f -a "auto\t'Ask the API: multipart when it lists it, else post'
multipart\t'A cqube-emit server\'s `/uploads` endpoints: parts in parallel, resumable, acknowledged'
post\t'Stock cQube\'s `upload-url`: one presigned POST per file, at most 5 GiB, restarted rather than resumed'"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from abort" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from abort" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from abort" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from abort" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from abort" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from abort" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from abort" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand uploads; and __fish_seen_subcommand_from abort" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand serve" -l listen -d 'Address to listen on (default 127.0.0.1:8470). Config key `server.listen`, env CQUBE_EMIT_SERVER_LISTEN' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand serve" -l data-dir -d 'Server data directory (SQLite state, embedded store). Default ./cqube-server-data (relative to the working directory). Config key `server.data_dir`, env CQUBE_EMIT_SERVER_DATA_DIR' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand serve" -l database-url -d 'PostgreSQL state shared by server replicas, e.g. postgresql://cqube@db.internal/cqube_emit (default: SQLite in the data directory). Prefer the env var or `server.database_url_file`: the URL may carry a password. Config key `server.database_url`, env CQUBE_EMIT_SERVER_DATABASE_URL' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand serve" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand serve" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand serve" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand serve" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand serve" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand serve" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand serve" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -s h -l help -d 'Print help'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -f -a "create" -d 'Create a token and print it (only the token) on stdout; it is shown once and stored as a hash'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -f -a "list" -d 'List tokens (never their secrets)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -f -a "revoke" -d 'Revoke the live token with this name'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from create" -l name -d 'Unique name, shown in logs and acknowledgements' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from create" -l sources -d 'Data sources the token may emit, comma-separated (default: all)' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from create" -l expires -d 'Lifetime: e.g. 90d, 12h, 30m, 3600s, or `never` (default: never)' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from create" -l data-dir -d 'Server data directory (SQLite state, embedded store). Default ./cqube-server-data (relative to the working directory). Config key `server.data_dir`, env CQUBE_EMIT_SERVER_DATA_DIR' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from create" -l database-url -d 'PostgreSQL state shared by server replicas, e.g. postgresql://cqube@db.internal/cqube_emit (default: SQLite in the data directory). Prefer the env var or `server.database_url_file`: the URL may carry a password. Config key `server.database_url`, env CQUBE_EMIT_SERVER_DATABASE_URL' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from create" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from create" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from create" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from create" -l admin -d 'Allow admin-only endpoints and every bucket'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from create" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from create" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from create" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from list" -l data-dir -d 'Server data directory (SQLite state, embedded store). Default ./cqube-server-data (relative to the working directory). Config key `server.data_dir`, env CQUBE_EMIT_SERVER_DATA_DIR' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from list" -l database-url -d 'PostgreSQL state shared by server replicas, e.g. postgresql://cqube@db.internal/cqube_emit (default: SQLite in the data directory). Prefer the env var or `server.database_url_file`: the URL may carry a password. Config key `server.database_url`, env CQUBE_EMIT_SERVER_DATABASE_URL' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from list" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from list" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from list" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from list" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from list" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from revoke" -l data-dir -d 'Server data directory (SQLite state, embedded store). Default ./cqube-server-data (relative to the working directory). Config key `server.data_dir`, env CQUBE_EMIT_SERVER_DATA_DIR' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from revoke" -l database-url -d 'PostgreSQL state shared by server replicas, e.g. postgresql://cqube@db.internal/cqube_emit (default: SQLite in the data directory). Prefer the env var or `server.database_url_file`: the URL may carry a password. Config key `server.database_url`, env CQUBE_EMIT_SERVER_DATABASE_URL' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from revoke" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from revoke" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from revoke" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from revoke" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from revoke" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from revoke" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from revoke" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand token; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and not __fish_seen_subcommand_from create remove" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and not __fish_seen_subcommand_from create remove" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and not __fish_seen_subcommand_from create remove" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and not __fish_seen_subcommand_from create remove" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and not __fish_seen_subcommand_from create remove" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and not __fish_seen_subcommand_from create remove" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and not __fish_seen_subcommand_from create remove" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and not __fish_seen_subcommand_from create remove" -s h -l help -d 'Print help'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and not __fish_seen_subcommand_from create remove" -f -a "create" -d 'Create or replace an emission user; the password is read from stdin (first line) or CQUBE_EMIT_USER_PASSWORD. Replacing a user revokes the session tokens it signed in for, so a narrowed scope applies at once'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and not __fish_seen_subcommand_from create remove" -f -a "remove" -d 'Remove an emission user and revoke the session tokens it signed in for'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from create" -l sources -d 'Data sources the user\'s tokens may emit, comma-separated (default: all)' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from create" -l data-dir -d 'Server data directory (SQLite state, embedded store). Default ./cqube-server-data (relative to the working directory). Config key `server.data_dir`, env CQUBE_EMIT_SERVER_DATA_DIR' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from create" -l database-url -d 'PostgreSQL state shared by server replicas, e.g. postgresql://cqube@db.internal/cqube_emit (default: SQLite in the data directory). Prefer the env var or `server.database_url_file`: the URL may carry a password. Config key `server.database_url`, env CQUBE_EMIT_SERVER_DATABASE_URL' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from create" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from create" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from create" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from create" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from create" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from create" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from remove" -l data-dir -d 'Server data directory (SQLite state, embedded store). Default ./cqube-server-data (relative to the working directory). Config key `server.data_dir`, env CQUBE_EMIT_SERVER_DATA_DIR' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from remove" -l database-url -d 'PostgreSQL state shared by server replicas, e.g. postgresql://cqube@db.internal/cqube_emit (default: SQLite in the data directory). Prefer the env var or `server.database_url_file`: the URL may carry a password. Config key `server.database_url`, env CQUBE_EMIT_SERVER_DATABASE_URL' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from remove" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from remove" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from remove" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from remove" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from remove" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand user; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emissions" -l source -d 'Only this data source' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emissions" -l since -d 'Only emissions completed at or after this time (RFC 3339 or YYYY-MM-DD)' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emissions" -l data-dir -d 'Server data directory (SQLite state, embedded store). Default ./cqube-server-data (relative to the working directory). Config key `server.data_dir`, env CQUBE_EMIT_SERVER_DATA_DIR' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emissions" -l database-url -d 'PostgreSQL state shared by server replicas, e.g. postgresql://cqube@db.internal/cqube_emit (default: SQLite in the data directory). Prefer the env var or `server.database_url_file`: the URL may carry a password. Config key `server.database_url`, env CQUBE_EMIT_SERVER_DATABASE_URL' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emissions" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emissions" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emissions" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emissions" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emissions" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emissions" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emissions" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand emissions" -s h -l help -d 'Print help'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand migrate-state" -l data-dir -d 'Server data directory (SQLite state, embedded store). Default ./cqube-server-data (relative to the working directory). Config key `server.data_dir`, env CQUBE_EMIT_SERVER_DATA_DIR' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand migrate-state" -l database-url -d 'PostgreSQL state shared by server replicas, e.g. postgresql://cqube@db.internal/cqube_emit (default: SQLite in the data directory). Prefer the env var or `server.database_url_file`: the URL may carry a password. Config key `server.database_url`, env CQUBE_EMIT_SERVER_DATABASE_URL' -r
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand migrate-state" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand migrate-state" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand migrate-state" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand migrate-state" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand migrate-state" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand migrate-state" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand migrate-state" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand migrate-state" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand help" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand help" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand help" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand help" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand help" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand help" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand help" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand completions" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand completions" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand completions" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand completions" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand completions" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand completions" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand completions" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand man" -s o -l out-dir -d 'Write cqube-emit.1 and one cqube-emit-<command>.1 per subcommand into this directory (created if missing)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand man" -l log-format -d 'Log format on stderr' -r -f -a "text\t''
json\t''"
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand man" -l config -d 'Config file (default: $CQUBE_EMIT_CONFIG, then ./cqube-emit.toml when present)' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand man" -l catalog -d 'Catalog override (JSON, same shape as the built-in catalog): replaces or adds data sources' -r -F
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand man" -l json -d 'Print machine-readable JSON on stdout (one object per line) instead of tables'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand man" -s v -l verbose -d 'More log detail on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand man" -s q -l quiet -d 'Less output on stderr: errors only'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand man" -l no-progress -d 'Never draw progress bars (also CQUBE_EMIT_NO_PROGRESS or NO_COLOR)'
complete -c cqube-emit -n "__fish_cqube_emit_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
