#!/usr/bin/env bash
# demo-incamail.sh - a simulated IncaMail platform beside the demo gateway
#
#   ci/demo-incamail.sh start   after `ci/demo-gateway start`: start the platform
#                               and route the gateway's .incamail.ch mail to it
#   ci/demo-incamail.sh stop    stop the platform (before `ci/demo-gateway stop`)
#   ci/demo-incamail.sh check   posternctl incamail check-connection against it
#
# The platform is a second private Postfix on 127.0.0.1 (port
# $POSTERN_DEMO_INCAMAIL_PORT, default 2535) with a test CA of its own: it takes
# mail only over TLS from a client certificate of that CA, as IncaMail does, and
# delivers into var/demo/delivered/incamail/. The gateway gets the "incamail"
# transport, transport and TLS policy entries of postfix-examples/incamail/ (test
# certificates and this host put in), so tagged mail really goes over mutually
# authenticated TLS. Needs root, like the gateway.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${POSTERN_BUILD_DIR:-$ROOT/build}"
PORT="${POSTERN_DEMO_INCAMAIL_PORT:-2535}"
DEMO="$ROOT/var/demo"

die() { printf 'error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

[ $# -eq 1 ] || { usage >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "run as root: sudo $0 $1"
# var/demo may be a link to a place the pipe(8) user can reach.
[ -e "$DEMO" ] || die "no demo gateway in $DEMO: run ci/demo-gateway start first"
DEMO="$(realpath "$DEMO")"
PLATFORM="$DEMO/incamail-platform"
platform() {
  POSTERN_SOURCE_DIR="$ROOT" python3 "$ROOT/tests/e2e/incamail/incamail_platform.py" "$@"
}

case "$1" in
  start)
    [ -f "$DEMO/state.json" ] || die "the demo gateway is not running: ci/demo-gateway start"
    platform stop --base "$PLATFORM" >/dev/null 2>&1 || true
    platform start --base "$PLATFORM" --port "$PORT" --deliver-dir "$DEMO/delivered" \
      --gateway-base "$DEMO" > "$PLATFORM.json"
    cat "$PLATFORM.json"
    echo "IncaMail platform on 127.0.0.1:$PORT; tagged mail to external recipients lands in $DEMO/delivered/incamail/"
    ;;
  stop)
    platform stop --base "$PLATFORM" && echo stopped || echo "not running"
    ;;
  check)
    [ -f "$PLATFORM.json" ] || die "the platform is not running: $0 start"
    field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$PLATFORM.json" "$1"; }
    exec "$BUILD/bin/posternctl" incamail check-connection "127.0.0.1:$(field port)" --ca "$(field ca)" \
      --match "$(field match)" --sha1 "$(field sha1)" --sha256 "$(field sha256)" \
      --cert "$(field client_cert)" --key "$(field client_key)"
    ;;
  -h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
