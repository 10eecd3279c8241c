#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine with the .NET SDK. Installs from Debian packages when missing,
# idempotently: PostgreSQL (started, password set), Python 3 with aiosmtpd (a recording SMTP server; the mail
# tests also read our messages back with its email package) and dkimpy (an independent DKIM verifier), Postfix
# (smtp-sink, smtp-source, and a running local-only Postfix delivering to a test mailbox and bouncing mail for
# unknown local users), Dovecot (the bounce mailbox over IMAP and POP3), openssl, Chromium (browser tests) and npm (the
# UI's scripts). Runs every test project and ends with one line "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")/.."

. tests/setup.sh

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
install_packages "${packages[@]}" || exit 1

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

start_postgres

results=$(mktemp -d)
dotnet build RetentionCampaigns.sln -c Release -nologo -v quiet -maxcpucount:2 || { echo "0 passed, 1 failed"; exit 1; }
# Should a test host die (a native crash has no managed exception), --blame names the test it was running and the
# runtime writes a crash report (every thread's stack, native and managed frames), printed below.
crashes="$results/crashes"; mkdir -p "$crashes"
# A test host still running after this many minutes is hung (the whole suite takes about 25): the runtime's createdump
# writes its crash report (every thread) and the host is killed, so that --blame names the tests it was running and the
# run fails well within CI's limit.
hang_minutes=${RC_TEST_HANG_MINUTES:-45}
createdump=$(ls -d "$(dirname "$(readlink -f "$(command -v dotnet)")")"/shared/Microsoft.NETCore.App/*/ | sort -V | tail -1)createdump
stop_hung() {
  for pid in $(pgrep -f "tests/$1/bin/.*testhost"); do
    "$createdump" --crashreportonly -f "$crashes/hung.$pid" "$pid" >/dev/null 2>&1
    kill -9 "$pid"
  done
}
status=0; passed=0; failed=0; skipped=0
for project in tests/*.Tests/*.csproj; do
  name=$(basename "$project" .csproj)
  (sleep $((hang_minutes * 60)) && stop_hung "$name") &
  watchdog=$!
  DOTNET_DbgEnableMiniDump=1 DOTNET_DbgMiniDumpType=1 DOTNET_EnableCrashReport=1 DOTNET_DbgMiniDumpName="$crashes/%e.%p.dmp" \
    dotnet test "$project" -c Release --no-build --blame --logger "trx;LogFilePrefix=$name" --results-directory "$results"
  code=$?
  pkill -P "$watchdog" sleep 2>/dev/null; kill "$watchdog" 2>/dev/null
  project_failed=0
  for trx in "$results/$name"_*.trx; do
    [ -f "$trx" ] || continue
    counters=$(grep -o '<Counters [^>]*>' "$trx")
    get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
    passed=$((passed + $(get passed))); project_failed=$((project_failed + $(get failed)))
    skipped=$((skipped + $(get notExecuted)))
  done
  if [ "$code" != 0 ]; then
    status=1
    # A run that stopped without a failed test (the host died, or never started) still counts as a failure.
    [ "$project_failed" != 0 ] || { project_failed=1; echo "$name: the test run stopped before its end (counted as one failure)"; }
  fi
  failed=$((failed + project_failed))
done
for report in "$crashes"/*.crashreport.json; do
  [ -f "$report" ] || continue
  # A hung host's report (hung.<pid>, written by stop_hung) has no crashed thread: every thread is printed instead.
  case "$(basename "$report")" in
    hung.*) python3 tests/crash_report.py --every-thread "$report" ;;
    *) python3 tests/crash_report.py "$report" ;;
  esac
done
[ "$failed" = 0 ] || status=1
line="$passed passed, $failed failed"
[ "$skipped" = 0 ] || line="$line, $skipped skipped"
echo "$line"
exit $status
