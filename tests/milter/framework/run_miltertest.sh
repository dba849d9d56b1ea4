#!/bin/sh
# run_miltertest.sh FILTER SCRIPT PORT
# Writes a config for the filter on PORT, then runs the miltertest script,
# which starts the filter itself (mt.startfilter) and stops it at the end.
set -eu
filter=$1 script=$2 port=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/testfilter.yaml" <<YAML
milter:
  socket: "inet:$port@127.0.0.1"
YAML
# run.lua runs the script and reports its error; -D passes the binary,
# config and socket to the script.
miltertest -s "$(dirname "$0")/run.lua" -D "script=$script" -D "filter=$filter" \
  -D "config=$dir/testfilter.yaml" -D "socket=inet:$port@127.0.0.1"
