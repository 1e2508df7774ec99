#!/usr/bin/env bash
# Install weight of Kruimel, measured in fresh virtual environments (README, "Install").
#   bash bench/install_size.sh [workdir]     (default /tmp/kruimel-install-size)
# Prints one line per install: what was installed, the size of the venv (du -sh), and
# whether a chdb:// store works in it (open, create a table, insert, select).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-/tmp/kruimel-install-size}"
PYTHON="${PYTHON:-python3}"
rm -rf "$WORK" && mkdir -p "$WORK"

probe='
import asyncio, tempfile
from kruimel.store import Store, StoreError
try:
    s = Store.connect("chdb://" + tempfile.mkdtemp() + "/store")
except StoreError as e:
    print("chdb:// refused:", e)
else:
    # What Kruimel does on a store: both schemas (tables, views, TTLs), a decision recorded
    # and read back with parameters, a batch insert.
    from analytics.schema import MIGRATIONS, apply_retention
    from consent import ConsentConfig, ConsentLog, ConsentState
    s.migrate(MIGRATIONS); apply_retention(s)
    log = ConsentLog(s)
    config = ConsentConfig(controller="C", privacy_url="/p", policy_version="1",
                           secret_keys=("k" * 32,))
    async def decide():
        await log.start()
        state = ConsentState.decide(config, {"analytics": True})
        await log.record(state, "custom", "banner", "en", "h")
        return await log.records_for(state.id)
    records = asyncio.run(decide())
    s.command("CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x")
    s.insert("t", ["x"], [[1], [2]])
    print("chdb:// works: consent log", len(records), "record, insert+select", s.query("SELECT sum(x) FROM t"))
    s.close()
'

measure() {  # name, pip arguments...
  local name=$1; shift
  local venv="$WORK/$name"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$@" 2>/dev/null
  local size; size=$(du -sh "$venv" | cut -f1)
  local check; check=$(cd "$WORK" && "$venv/bin/python" -c "$probe" 2>&1 | tail -1)
  printf '%-34s %6s   %s\n' "$name" "$size" "$check"
}

"$PYTHON" -m venv "$WORK/empty"
printf '%-34s %6s   %s\n' "empty venv (pip only)" "$(du -sh "$WORK/empty" | cut -f1)" "-"
measure "kruimel (server ClickHouse only)" "$ROOT"
measure "kruimel[embedded]" "$ROOT[embedded]"
measure "kruimel[frameworks]" "$ROOT[frameworks]"
# chdb's own code, without the pandas/pyarrow/numpy its metadata requires.
measure "kruimel + chdb --no-deps" "$ROOT"
"$WORK/kruimel + chdb --no-deps/bin/pip" install -q --disable-pip-version-check --no-deps \
  chdb chdb-core 2>/dev/null
venv="$WORK/kruimel + chdb --no-deps"
printf '%-34s %6s   %s\n' "  ... after pip install --no-deps chdb chdb-core" \
  "$(du -sh "$venv" | cut -f1)" "$(cd "$WORK" && "$venv/bin/python" -c "$probe" 2>&1 | tail -1)"
