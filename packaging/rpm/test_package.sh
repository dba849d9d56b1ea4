#!/bin/sh
# test_package.sh BUILD_DIR
# Builds the .rpm with CPack into a private folder and checks what a mail
# admin relies on: the programs in /usr/sbin, the systemd unit, every
# packaged config marked %config(noreplace), the %post script that creates
# the service user and the plan key, %preun and %postun, and library
# requirements.
set -eu
build=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$build" && cpack -G RPM -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log" >&2; fail "cpack"; }
rpm=$(ls "$out"/postern-*.rpm 2>/dev/null | head -n 1)
[ -n "$rpm" ] || fail "no .rpm produced"
rpm -qpl "$rpm" >"$out/contents" 2>/dev/null
for prog in "$build"/bin/postern-* "$build"/bin/posternctl; do
  name=$(basename "$prog")
  grep -qx "/usr/sbin/$name" "$out/contents" || fail "$name not in /usr/sbin"
done
grep -qx '/usr/lib/systemd/system/postern@.service' "$out/contents" || fail "systemd unit missing"
rpm -qpc "$rpm" >"$out/configs" 2>/dev/null
for cfg in $(sed -n 's#^\(/etc/postern/.*\.yaml\)$#\1#p' "$out/contents"); do
  grep -qx "$cfg" "$out/configs" || fail "$cfg is not a %config file"
done
[ -s "$out/configs" ] || fail "no config files"
rpm -qp --scripts "$rpm" >"$out/scripts" 2>/dev/null
grep -q 'useradd --system' "$out/scripts" || fail "%post does not create the service user"
grep -q 'plan.key' "$out/scripts" || fail "%post does not make the plan key"
grep -q "preuninstall scriptlet" "$out/scripts" || fail "no %preun"
grep -q "systemctl stop 'postern@\*.service'" "$out/scripts" || fail "%preun does not stop the milters"
grep -q "postuninstall scriptlet" "$out/scripts" || fail "no %postun"
grep -q "rm -rf /var/spool/postfix/postern" "$out/scripts" || fail "%postun does not remove the socket folder"
rpm -qpR "$rpm" >"$out/requires" 2>/dev/null
for lib in libmilter libyaml-cpp libssl; do
  grep -q "$lib" "$out/requires" || fail "requires lack $lib: $(tr '\n' ' ' <"$out/requires")"
done
echo "ok: $(basename "$rpm") $(du -h "$rpm" | cut -f1)"
