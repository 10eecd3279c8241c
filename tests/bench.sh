#!/usr/bin/env bash
# The release check of the send path's speed: the campaign benchmark three times (PostgreSQL and SQLite, 100,000
# recipients each) and its figures against the ones committed for the last release
# (tests/RetentionCampaigns.Benchmarks/baseline.json). Fails when the median ratio to the floor (Postfix's
# smtp-source on the same sink, same run) drops by more than 15 %. Installs and starts what it needs like
# tests/run.sh (PostgreSQL with pg_stat_statements preloaded, Postfix's smtp-sink and smtp-source), idempotently.
# Takes about 12 minutes on a 2-core machine; run nothing else meanwhile. Options are passed to the benchmark
# (e.g. --postgres-only). RC_BENCH_OUT keeps the runs' JSON files in that folder.
set -uo pipefail
cd "$(dirname "$0")/.."

. tests/setup.sh
packages=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || packages+=(postgresql)
[ -x /usr/sbin/smtp-sink ] || packages+=(postfix)
install_packages "${packages[@]}" || exit 1
start_postgres
# The benchmark prints PostgreSQL's five most expensive statements; that needs the module preloaded (one restart).
if ! as_root su postgres -c "psql -tAc 'SHOW shared_preload_libraries'" | grep -q pg_stat_statements; then
  as_root su postgres -c "psql -q -c \"ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'\""
  as_root pg_ctlcluster "$pg_version" main restart
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
fi

dotnet build tests/RetentionCampaigns.Benchmarks -c Release -nologo -v quiet -maxcpucount:2 || exit 1
bench=tests/RetentionCampaigns.Benchmarks/bin/Release/net10.0/RetentionCampaigns.Benchmarks.dll
out=${RC_BENCH_OUT:-$(mktemp -d)}
mkdir -p "$out"
runs=()
for run in 1 2 3; do
  echo "== campaign, run $run of 3"
  dotnet "$bench" campaign --json "$out/campaign-$run.json" "$@"
  [ -f "$out/campaign-$run.json" ] || { echo "run $run wrote no figures"; exit 1; }
  runs+=("$out/campaign-$run.json")
done
dotnet "$bench" guard --baseline tests/RetentionCampaigns.Benchmarks/baseline.json "${runs[@]}"
