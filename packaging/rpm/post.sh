# postern .rpm %post: the service user, the private state folders and the
# plan key, as packaging/deb/postinst does for the .deb.
if ! getent passwd postern >/dev/null; then
  useradd --system --user-group --home-dir /var/lib/postern --no-create-home --shell /sbin/nologin postern
fi
install -d -o postern -g postern -m 0750 /var/lib/postern
for d in certs private anchors intermediates crls; do
  install -d -o postern -g postern -m 0700 "/var/lib/postern/$d"
done
# The milters' UNIX sockets, in Postfix's queue directory (see the .deb's
# postinst): postern:postfix 0750, postern in group postfix.
if getent group postfix >/dev/null; then
  usermod -a -G postfix postern
  install -d -o postern -g postfix -m 0750 /var/spool/postfix/postern
else
  echo "postern: no postfix group; install Postfix, then reinstall postern" >&2
fi
chown root:postern /etc/postern
chmod 0750 /etc/postern
for f in /etc/postern/*.yaml; do
  [ -e "$f" ] && chown root:postern "$f" && chmod 0640 "$f"
done
if [ ! -e /etc/postern/plan.key ]; then
  (umask 077 && head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' > /etc/postern/plan.key.new)
  chown postern:postern /etc/postern/plan.key.new
  mv /etc/postern/plan.key.new /etc/postern/plan.key
fi
exit 0
