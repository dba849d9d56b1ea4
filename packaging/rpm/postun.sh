# postern .rpm %postun: on erase (not upgrade), remove the socket folder
# %post made. The plan key and the key store (/var/lib/postern: private
# keys) are kept; remove them by hand if they are no longer needed.
if [ "$1" = 0 ]; then
  rm -rf /var/spool/postfix/postern
fi
exit 0
