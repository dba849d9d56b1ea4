// The configuration keys every Postern milter has. Kept apart from the
// libmilter adapter so filter libraries and their tests can declare their
// schemas without linking libmilter.
#include "postern/milter/program.hpp"

namespace postern::milter {

void declare_common_keys(config::Schema& schema, const std::string& default_socket) {
  using config::Type;
  schema.section("milter", "How Postfix reaches this milter and what happens when it fails");
  schema.key({.path = "milter.socket",
              .type = Type::string,
              .default_value = default_socket,
              .doc = "listening socket: inet:PORT@HOST, inet6:PORT@HOST or unix:/path (restart to change)"});
  schema.key({.path = "milter.socket_mode",
              .type = Type::string,
              .default_value = "\"0660\"",
              .doc = "permissions of a unix: socket, octal (restart to change)"});
  schema.key({.path = "milter.socket_group",
              .type = Type::string,
              .default_value = "\"\"",
              .doc = "group of a unix: socket, usually postfix so that Postfix can connect (empty: unchanged)"});
  schema.key({.path = "milter.timeout",
              .type = Type::duration,
              .default_value = "300s",
              .doc = "how long to wait for Postfix to say something before dropping the connection",
              .min = 1000,
              .max = 3600 * 1000});
  schema.key({.path = "milter.backlog",
              .type = Type::integer,
              .default_value = "128",
              .doc = "listen queue length of the milter socket",
              .min = 1,
              .max = 65535});
  schema.key({.path = "milter.on_internal_error",
              .type = Type::string,
              .default_value = "tempfail",
              .doc = "answer when processing fails unexpectedly; tempfail keeps the mail at the sender",
              .choices = {"tempfail", "accept", "reject"}});
  schema.key({.path = "milter.user",
              .type = Type::string,
              .default_value = "\"\"",
              .doc = "drop root privileges to this user after opening the socket (empty: keep the user started as)"});
  schema.section("log", "Logging");
  schema.key({.path = "log.level",
              .type = Type::string,
              .default_value = "info",
              .doc = "least important level that is logged",
              .choices = {"debug", "info", "warning", "error"}});
}

}  // namespace postern::milter
