-- A failure in a no-reply step (headers) is given as a tempfail at end of
-- message; the connection stays usable; an unknown client family works.
local t = dofile(lib)

local conn = t.start()
t.check(mt.conninfo(conn, "localhost", "unspec"), "conninfo unspec")
t.message(conn, {"<alice@example.com>"}, {{"Subject", "x"}, {"X-Throw", "yes"}})
t.expect_reply(conn, SMFIR_REPLYCODE, "eom after throw")
if not mt.eom_check(conn, MT_SMTPREPLY, "451", "4.3.0", "temporary failure in mail processing, try again later") then
  error("tempfail without the expected reply text")
end
if mt.eom_check(conn, MT_HDRADD) then error("a failed message must not be modified") end

t.message(conn, {"<alice@example.com>"})
t.expect_reply(conn, SMFIR_CONTINUE, "eom after recovery")
if not mt.eom_check(conn, MT_HDRADD, "X-Postern-Test", "client=null rcpts=1 message=1") then
  error("message after failure: header missing or wrong: " .. tostring(mt.getheader(conn, "X-Postern-Test", 0)))
end

-- Abort mid-message, then a full message on the same connection.
t.check(mt.mailfrom(conn, "<sender@example.org>"), "mailfrom")
t.check(mt.rcptto(conn, "<a@example.com>"), "rcptto")
t.check(mt.abort(conn), "abort")
t.message(conn, {"<b@example.com>"})
t.expect_reply(conn, SMFIR_CONTINUE, "eom after abort")
if not mt.eom_check(conn, MT_HDRADD, "X-Postern-Test", "client=null rcpts=1 message=2") then
  error("abort did not reset the message state")
end
mt.disconnect(conn)
