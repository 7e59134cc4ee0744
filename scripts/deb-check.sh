#!/usr/bin/env bash
# Builds the Debian package (make deb), installs it with dpkg -i, checks what it put where, and removes it again;
# then the README's `cargo install` from this checkout (it reuses the release build). Needs root (CI runs as root).
# Run by .ci/run after make test.
set -euo pipefail
cd "$(dirname "$0")/.."
make deb
deb=$(ls -t "${CARGO_TARGET_DIR:-$HOME/.cache/cqube-emit/target}"/debian/cqube-emit_*.deb | head -n1)
echo "deb-check: installing $deb"
dpkg -i "$deb"
trap 'dpkg -r cqube-emit >/dev/null' EXIT
version=$(/usr/bin/cqube-emit --version)
echo "deb-check: $version"
[[ $version == "cqube-emit "* ]] || { echo "deb-check: unexpected version line" >&2; exit 1; }
for path in /usr/share/man/man1/cqube-emit-emit.1.gz /usr/share/bash-completion/completions/cqube-emit \
    /lib/systemd/system/cqube-emit.service /lib/systemd/system/cqube-emit-run.timer \
    /usr/share/doc/cqube-emit/examples/cqube-emit.toml; do
    [[ -e $path ]] || { echo "deb-check: the package did not install $path" >&2; dpkg -L cqube-emit >&2; exit 1; }
done
getent passwd cqube-emit >/dev/null || { echo "deb-check: postinst did not create the cqube-emit user" >&2; exit 1; }
[[ -d /etc/cqube-emit ]] || { echo "deb-check: postinst did not create /etc/cqube-emit" >&2; exit 1; }
# The packaged example config loads as it is (every key commented out).
/usr/bin/cqube-emit config show --config /usr/share/doc/cqube-emit/examples/cqube-emit.toml >/dev/null
# The README's install command works from a clean clone (.ci/run runs on one).
root=$(mktemp -d)
trap 'dpkg -r cqube-emit >/dev/null; rm -rf "$root"' EXIT
cargo install --locked --path crates/cqube-emit --root "$root"
installed=$("$root/bin/cqube-emit" --version)
[[ $installed == "$version" ]] || { echo "deb-check: cargo install gave '$installed', the package '$version'" >&2; exit 1; }
echo "deb-check: ok (package and cargo install)"
