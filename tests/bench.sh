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

export DEBIAN_FRONTEND=noninteractive
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
packages=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || packages+=(postgresql)
[ -x /usr/sbin/smtp-sink ] || packages+=(postfix)
if [ ${#packages[@]} -gt 0 ]; then
  echo "postfix postfix/main_mailer_type select Local only" | as_root debconf-set-selections
  as_root apt-get update -qq && as_root apt-get install -y -qq "${packages[@]}" >/dev/null || { echo "could not install ${packages[*]}"; exit 1; }
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$" || as_root pg_createcluster "$version" main >/dev/null
pg_lsclusters -h | grep "^$version *main" | grep -q online || as_root pg_ctlcluster "$version" main start
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
as_root su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
# The benchmark prints PostgreSQL's five most expensive statements; that needs the module preloaded (one restart).
if ! as_root su postgres -c "psql -tAc 'SHOW shared_preload_libraries'" | grep -q pg_stat_statements; then
  as_root su postgres -c "psql -q -c \"ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'\""
  as_root pg_ctlcluster "$version" main restart
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
fi
export RC_TEST_POSTGRES="Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres"

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
