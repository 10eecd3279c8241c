# Sourced by tests/run.sh and tests/bench.sh: installs Debian packages and starts PostgreSQL, idempotently, as root
# or through sudo.
export DEBIAN_FRONTEND=noninteractive
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# install_packages name... : the missing ones, from Debian (Postfix set up for local mail only).
install_packages() {
  [ $# -gt 0 ] || return 0
  echo "Installing $* from Debian packages..."
  echo "postfix postfix/main_mailer_type select Local only" | as_root debconf-set-selections
  echo "postfix postfix/mailname string rc-test.localdomain" | as_root debconf-set-selections
  as_root apt-get update -qq && as_root apt-get install -y -qq "$@" >/dev/null || { echo "could not install $*"; return 1; }
}

# start_postgres: the newest installed PostgreSQL's main cluster, created and started when needed, user postgres
# with password postgres; exports RC_TEST_POSTGRES.
start_postgres() {
  pg_version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$pg_version main$" || as_root pg_createcluster "$pg_version" main >/dev/null
  pg_lsclusters -h | grep "^$pg_version *main" | grep -q online || as_root pg_ctlcluster "$pg_version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
  as_root su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  export RC_TEST_POSTGRES="Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres"
}
