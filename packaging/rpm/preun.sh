# postern .rpm %preun: on erase (not upgrade), stop the running milters
# before their programs go away, as the .deb's prerm does.
if [ "$1" = 0 ] && [ -d /run/systemd/system ]; then
  systemctl stop 'postern@*.service' || true
fi
exit 0
