/*
 * reference_milter - the smallest libmilter filter: it accepts every
 * connection at once. bench_throughput.py --reference runs it in place of
 * the Postern chain to measure the floor cost of having any milter in
 * smtpd_milters (Postfix's connect and negotiation per SMTP session,
 * libmilter's thread per connection), so the chain's cost can be split into
 * what Postern adds and what any milter costs.
 *
 * It takes the harness's command line: -n (check config: always fine),
 * -f (foreground: always), -c FILE (the first "inet:PORT@HOST" or
 * "unix:PATH" in FILE is the socket; a unix one is opened to everyone, as
 * milter.socket_group does for the Postern milters).
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr) {
  (void)ctx;
  (void)host;
  (void)addr;
  return SMFIS_ACCEPT;
}

static int socket_from(const char *path, char *out, size_t size) {
  FILE *f = fopen(path, "r");
  char line[512];
  if (f == NULL) return -1;
  while (fgets(line, sizeof line, f) != NULL) {
    char *start = strstr(line, "inet:");
    if (start == NULL) start = strstr(line, "unix:");
    if (start != NULL) {
      size_t n = strcspn(start, "\"' \t\r\n");
      if (n >= size) break;
      memcpy(out, start, n);
      out[n] = '\0';
      fclose(f);
      return 0;
    }
  }
  fclose(f);
  return -1;
}

int main(int argc, char **argv) {
  const char *config = NULL;
  char conn[256];
  struct smfiDesc desc;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "-n") == 0) return 0;
    if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) config = argv[++i];
  }
  if (config == NULL || socket_from(config, conn, sizeof conn) != 0) {
    fprintf(stderr, "reference_milter: -c FILE with an inet:PORT@HOST or unix:PATH socket is needed\n");
    return 2;
  }
  memset(&desc, 0, sizeof desc);
  desc.xxfi_name = "reference";
  desc.xxfi_version = SMFI_VERSION;
  desc.xxfi_connect = on_connect;
  if (smfi_setconn(conn) == MI_FAILURE || smfi_register(desc) == MI_FAILURE) {
    fprintf(stderr, "reference_milter: cannot listen on %s\n", conn);
    return 1;
  }
  if (strncmp(conn, "unix:", 5) == 0) {
    if (smfi_opensocket(1) == MI_FAILURE || chmod(conn + 5, 0666) != 0) {
      fprintf(stderr, "reference_milter: cannot open %s to Postfix\n", conn);
      return 1;
    }
  }
  return smfi_main() == MI_SUCCESS ? 0 : 1;
}
