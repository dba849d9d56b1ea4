/*
 * reference_milter - the smallest libmilter filter, in three sizes.
 * bench_throughput.py --reference runs it in place of the Postern chain to
 * measure the floor cost Postfix and libmilter put on a milter that does
 * (almost) nothing, so the chain's cost can be split into what Postern adds
 * and what any milter costs. The stage is how far it looks:
 *
 *   connect  accepts every connection at once (the cost of having any
 *            milter in smtpd_milters: Postfix's connect and negotiation per
 *            SMTP session, libmilter's thread per connection);
 *   eoh      reads the envelope and the headers (no replies negotiated
 *            where none is needed) and accepts at end of headers, as a
 *            milter that finds a message none of its business does;
 *   eom      reads the whole message and adds one header at end of
 *            message, as postern-policy does with its plan.
 *
 * It takes the harness's command line: -n (check config: always fine),
 * -f (foreground: always), -c FILE (the first "inet:PORT@HOST" or
 * "unix:PATH" in FILE is the socket; a unix one is opened to everyone, as
 * milter.socket_group does for the Postern milters; a "stage: NAME" line
 * picks the stage, connect by default).
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

enum stage { STAGE_CONNECT, STAGE_EOH, STAGE_EOM };
static enum stage stage = STAGE_CONNECT;

static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr) {
  (void)ctx;
  (void)host;
  (void)addr;
  return stage == STAGE_CONNECT ? SMFIS_ACCEPT : SMFIS_NOREPLY;
}

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                             unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                             unsigned long *pf2, unsigned long *pf3) {
  unsigned long want = SMFIP_NOHELO | SMFIP_NODATA | SMFIP_NOUNKNOWN | SMFIP_NR_CONN |
                       SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR;
  (void)ctx;
  (void)f2;
  (void)f3;
  if (stage == STAGE_CONNECT) return SMFIS_ALL_OPTS;
  if (stage == STAGE_EOH) want |= SMFIP_NOBODY;
  else want |= SMFIP_NR_BODY | SMFIP_NR_EOH;
  if ((f1 & want) != want || (stage == STAGE_EOM && (f0 & SMFIF_ADDHDRS) == 0)) return SMFIS_REJECT;
  *pf0 = stage == STAGE_EOM ? SMFIF_ADDHDRS : 0;
  *pf1 = want;
  *pf2 = 0;
  *pf3 = 0;
  return SMFIS_CONTINUE;
}

static sfsistat on_noreply_address(SMFICTX *ctx, char **argv) {
  (void)ctx;
  (void)argv;
  return SMFIS_NOREPLY;
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value) {
  (void)ctx;
  (void)name;
  (void)value;
  return SMFIS_NOREPLY;
}

static sfsistat on_eoh(SMFICTX *ctx) {
  (void)ctx;
  return stage == STAGE_EOH ? SMFIS_ACCEPT : SMFIS_NOREPLY;
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *chunk, size_t size) {
  (void)ctx;
  (void)chunk;
  (void)size;
  return SMFIS_NOREPLY;
}

static sfsistat on_eom(SMFICTX *ctx) {
  return smfi_addheader(ctx, "X-Reference-Plan", "none") == MI_SUCCESS ? SMFIS_CONTINUE : SMFIS_TEMPFAIL;
}

/* The socket (the first one named) and the stage from the config file. */
static int read_config(const char *path, char *out, size_t size) {
  FILE *f = fopen(path, "r");
  char line[512];
  if (f == NULL) return -1;
  while (fgets(line, sizeof line, f) != NULL) {
    char *start = strstr(line, "stage:");
    if (start != NULL) {
      if (strstr(start, "eoh") != NULL) stage = STAGE_EOH;
      else if (strstr(start, "eom") != NULL) stage = STAGE_EOM;
      continue;
    }
    start = strstr(line, "inet:");
    if (start == NULL) start = strstr(line, "unix:");
    if (start != NULL && out[0] == '\0') {
      size_t n = strcspn(start, "\"' \t\r\n");
      if (n >= size) break;
      memcpy(out, start, n);
      out[n] = '\0';
    }
  }
  fclose(f);
  return out[0] != '\0' ? 0 : -1;
}

int main(int argc, char **argv) {
  const char *config = NULL;
  char conn[256];
  struct smfiDesc desc;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "-n") == 0) return 0;
    if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) config = argv[++i];
  }
  conn[0] = '\0';
  if (config == NULL || read_config(config, conn, sizeof conn) != 0) {
    fprintf(stderr, "reference_milter: -c FILE with an inet:PORT@HOST or unix:PATH socket is needed\n");
    return 2;
  }
  memset(&desc, 0, sizeof desc);
  desc.xxfi_name = "reference";
  desc.xxfi_version = SMFI_VERSION;
  desc.xxfi_flags = SMFIF_ADDHDRS;
  desc.xxfi_connect = on_connect;
  desc.xxfi_negotiate = on_negotiate;
  desc.xxfi_envfrom = on_noreply_address;
  desc.xxfi_envrcpt = on_noreply_address;
  desc.xxfi_header = on_header;
  desc.xxfi_eoh = on_eoh;
  desc.xxfi_body = on_body;
  desc.xxfi_eom = on_eom;
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
