#!/bin/sh
# test_package.sh BUILD_DIR
# Builds the .deb with CPack into a private folder and checks what a mail
# admin relies on: the programs in /usr/sbin, the systemd unit, every
# packaged config as a conffile, the postinst that creates the service user
# and the plan key, and the library dependencies found by dpkg-shlibdeps.
set -eu
build=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log" >&2; fail "cpack"; }
deb=$(ls "$out"/postern_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || fail "no .deb produced"
dpkg-deb -c "$deb" | awk '{print $6}' >"$out/contents"
for prog in "$build"/bin/postern-* "$build"/bin/posternctl; do
  name=$(basename "$prog")
  grep -qx "./usr/sbin/$name" "$out/contents" || fail "$name not in /usr/sbin"
done
grep -qx './usr/lib/systemd/system/postern@.service' "$out/contents" || fail "systemd unit missing"
mkdir "$out/control"
dpkg-deb -e "$deb" "$out/control"
for cfg in $(sed -n 's#^\./etc/postern/\(.*\.yaml\)$#\1#p' "$out/contents"); do
  grep -qx "/etc/postern/$cfg" "$out/control/conffiles" || fail "/etc/postern/$cfg is not a conffile"
done
[ -s "$out/control/conffiles" ] || fail "no conffiles"
grep -q 'adduser --system' "$out/control/postinst" || fail "postinst does not create the service user"
sh -n "$out/control/postinst" || fail "postinst is not valid sh"
# The plan key the milters share: the postinst's own lines, run in a scratch
# folder, must make a key the milters accept (0600, at least 32 bytes).
sed -n '/plan.key.new)/p' "$out/control/postinst" | sed "s#/etc/postern#$out#g" | sh
[ "$(stat -c %a "$out/plan.key.new")" = 600 ] || fail "plan key is not mode 0600"
[ "$(wc -c <"$out/plan.key.new")" -ge 32 ] || fail "plan key is shorter than 32 bytes"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libmilter libyaml-cpp libssl3; do
  echo "$depends" | grep -q "$lib" || fail "Depends lacks $lib: $depends"
done
# Stripped: no debug sections in the installed programs.
mkdir "$out/root"
dpkg-deb -x "$deb" "$out/root"
for prog in "$out"/root/usr/sbin/*; do
  if readelf -S "$prog" | grep -q '\.debug_info'; then fail "$(basename "$prog") is not stripped"; fi
done
echo "ok: $(basename "$deb") $(du -h "$deb" | cut -f1)"
