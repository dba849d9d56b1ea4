#!/bin/sh
# run_miltertest.sh FILTER SCRIPT PORT [EXTRA_YAML]
# Writes a config for the filter on PORT (plus EXTRA_YAML, the filter's own
# sections), then runs the miltertest script through run.lua, which reports
# the script's error. The script starts the filter itself (mt.startfilter
# with the globals filter, config and socket) and may load the shared
# helpers with dofile(lib).
set -eu
filter=$1 script=$2 port=$3 extra=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
{
  printf 'milter:\n  socket: "inet:%s@127.0.0.1"\n' "$port"
  [ -z "$extra" ] || cat "$extra"
} >"$dir/filter.yaml"
miltertest -s "$here/run.lua" -D "script=$script" -D "lib=$here/common.lua" -D "filter=$filter" \
  -D "config=$dir/filter.yaml" -D "socket=inet:$port@127.0.0.1"
