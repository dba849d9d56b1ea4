#!/bin/sh
# test_package.sh BUILD_DIR
# Builds the .deb with CPack into a private folder and checks what a mail
# admin relies on: the programs in /usr/sbin, the systemd unit, every
# packaged config as a conffile, the postinst that creates the service user
# and the plan key, the prerm and postrm (purge removes what postinst made
# but the key store), and the library dependencies found by dpkg-shlibdeps.
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
# prerm stops the milters; postrm purge, run on a scratch copy of the paths,
# removes the plan key, /etc/postern and the socket folder but keeps the key
# store with its private keys.
for script in prerm postrm; do
  [ -x "$out/control/$script" ] || fail "no executable $script"
  sh -n "$out/control/$script" || fail "$script is not valid sh"
done
grep -q "systemctl stop 'postern@\*.service'" "$out/control/prerm" || fail "prerm does not stop the milters"
scratch="$out/purge"
mkdir -p "$scratch/etc" "$scratch/spool/postern" "$scratch/lib/private"
echo key >"$scratch/etc/plan.key"
touch "$scratch/spool/postern/spf.sock" "$scratch/lib/private/alice.key"
sed -e "s#/etc/postern#$scratch/etc#g" -e "s#/var/spool/postfix/postern#$scratch/spool/postern#g" \
    -e "s#/var/lib/postern#$scratch/lib#g" "$out/control/postrm" >"$out/postrm.scratch"
sh "$out/postrm.scratch" remove 2>/dev/null
[ -e "$scratch/etc/plan.key" ] || fail "postrm remove deleted the plan key"
sh "$out/postrm.scratch" purge 2>"$out/purge.err"
[ ! -e "$scratch/etc" ] || fail "postrm purge left $(ls "$scratch/etc")"
[ ! -e "$scratch/spool/postern" ] || fail "postrm purge left the socket folder"
[ -e "$scratch/lib/private/alice.key" ] || fail "postrm purge deleted the key store"
grep -q "kept the key store" "$out/purge.err" || fail "postrm purge does not say the key store was kept"
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
