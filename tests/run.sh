#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine with the .NET SDK. Installs from Debian packages when missing,
# idempotently: PostgreSQL (started, password set), Python 3 with aiosmtpd (a recording SMTP server; the mail
# tests also read our messages back with its email package) and dkimpy (an independent DKIM verifier), Postfix
# (smtp-sink, smtp-source, and a running local-only Postfix delivering to a test mailbox and bouncing mail for
# unknown local users), Dovecot (the bounce mailbox over IMAP and POP3), openssl, Chromium (browser tests) and npm (the
# UI's scripts). Runs every test project and ends with one line "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

packages=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || packages+=(postgresql)
command -v python3 >/dev/null 2>&1 || packages+=(python3)
/usr/bin/python3 -c "import aiosmtpd" >/dev/null 2>&1 || packages+=(python3-aiosmtpd)
/usr/bin/python3 -c "import dkim, nacl" >/dev/null 2>&1 || packages+=(python3-dkim python3-nacl)
[ -f /usr/share/dovecot/protocols.d/imapd.protocol ] || packages+=(dovecot-imapd)
[ -f /usr/share/dovecot/protocols.d/pop3d.protocol ] || packages+=(dovecot-pop3d)
[ -x /usr/sbin/smtp-sink ] || packages+=(postfix)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
[ -x /usr/bin/chromium ] || packages+=(chromium)   # the browser tests drive Debian's Chromium, never a downloaded one
command -v npm >/dev/null 2>&1 || packages+=(npm)  # the build restores htmx and Chart.js from npm
if [ ${#packages[@]} -gt 0 ]; then
  echo "Installing ${packages[*]} from Debian packages..."
  echo "postfix postfix/main_mailer_type select Local only" | as_root debconf-set-selections
  echo "postfix postfix/mailname string rc-test.localdomain" | as_root debconf-set-selections
  as_root apt-get update -qq && as_root apt-get install -y -qq "${packages[@]}" >/dev/null || { echo "could not install ${packages[*]}"; exit 1; }
fi

# A real Postfix on the loopback delivering to a local mailbox, for the delivery test. It takes mail for any local
# user (empty local_recipient_maps) and bounces what it cannot deliver to the sender, a VERP address of user
# rcbounce (recipient_delimiter +), whose mailbox Dovecot serves over IMAP and POP3 on the loopback: the bounce tests.
id rcmail >/dev/null 2>&1 || as_root useradd --create-home rcmail
id rcbounce >/dev/null 2>&1 || as_root useradd --create-home rcbounce
export RC_TEST_IMAP_PASSWORD=rcbounce-secret
echo "rcbounce:$RC_TEST_IMAP_PASSWORD" | as_root chpasswd
as_root install -d -o rcbounce -g rcbounce /home/rcbounce/mail
as_root postconf -e "inet_interfaces = loopback-only" "mydestination = localhost, localhost.localdomain, \$myhostname" \
  "local_recipient_maps =" "recipient_delimiter = +"
as_root postfix status >/dev/null 2>&1 || as_root postfix start >/dev/null 2>&1 || as_root postfix reload >/dev/null 2>&1
as_root postfix reload >/dev/null 2>&1
echo "listen = 127.0.0.1" | as_root tee /etc/dovecot/conf.d/99-rc-test.conf >/dev/null
pidof dovecot >/dev/null 2>&1 && as_root doveadm reload || as_root dovecot
export RC_TEST_MAILBOX=/var/mail/rcmail RC_TEST_MAILBOX_ADDRESS=rcmail@localhost.localdomain

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  as_root pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | grep "^$version *main" | grep -q online; then
  as_root pg_ctlcluster "$version" main start
fi
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
as_root su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
export RC_TEST_POSTGRES="Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres"

results=$(mktemp -d)
dotnet build RetentionCampaigns.sln -c Release -nologo -v quiet -maxcpucount:2 || { echo "0 passed, 1 failed"; exit 1; }
status=0
for project in tests/*.Tests/*.csproj; do
  dotnet test "$project" -c Release --no-build --logger "trx;LogFilePrefix=$(basename "$project" .csproj)" \
    --results-directory "$results" || status=1
done

passed=0; failed=0; skipped=0; counted=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(get passed))); failed=$((failed + $(get failed)))
  skipped=$((skipped + $(get notExecuted))); counted=1
done
[ "$counted" = 1 ] || { status=1; failed=$((failed + 1)); }
[ "$failed" = 0 ] || status=1
line="$passed passed, $failed failed"
[ "$skipped" = 0 ] || line="$line, $skipped skipped"
echo "$line"
exit $status
