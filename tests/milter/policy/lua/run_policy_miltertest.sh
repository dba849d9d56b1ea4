#!/bin/sh
# run_policy_miltertest.sh FILTER SCRIPT PORT RULES
# postern-policy needs a plan key (mode 0600) and its rules file: writes
# both settings beside a fresh key, then runs the script like every other
# miltertest (tests/milter/lua/run_miltertest.sh). Re-injection goes to
# port 1 on loopback, where nothing listens: a split message must tempfail.
set -eu
filter=$1 script=$2 port=$3 rules=$4
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
(umask 077 && printf 'miltertest-plan-key-0123456789abcdef-0123456789' >"$dir/plan.key")
cat >"$dir/extra.yaml" <<YAML
policy:
  rules: "$rules"
plan:
  secret_file: "$dir/plan.key"
reinjection:
  port: 1
  connect_timeout: 2s
notifications:
  sender: postmaster@gw.example.org
YAML
"$here/../../lua/run_miltertest.sh" "$filter" "$script" "$port" "$dir/extra.yaml"
