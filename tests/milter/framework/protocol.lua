-- Negotiation asks for only what the filter needs; per-recipient reject;
-- the end-of-message header; two messages on one connection.
local t = dofile(lib)

local conn = t.start()
t.check(mt.conninfo(conn, "client.example.org", "192.0.2.7"), "conninfo")

-- Steps the filter does not use are switched off, no-reply where it always continues.
if not mt.test_option(conn, SMFIP_NOBODY) then error("body not switched off") end
if not mt.test_option(conn, SMFIP_NOHELO) then error("helo not switched off") end
if not mt.test_option(conn, SMFIP_NR_MAIL) then error("mail not no-reply") end
if not mt.test_option(conn, SMFIP_NR_HDR) then error("headers not no-reply") end
if not mt.test_option(conn, SMFIP_NR_CONN) then error("connect not no-reply") end
if mt.test_option(conn, SMFIP_NR_RCPT) then error("rcpt must reply") end
-- DATA is always asked for, with a reply, though the test filter does not use
-- it: the reply carries the TCP ACK that cleanup's first header write would
-- otherwise wait for (Nagle against delayed ACK, 40 ms per message).
if mt.test_option(conn, SMFIP_NODATA) then error("data must stay on") end
if mt.test_option(conn, SMFIP_NR_DATA) then error("data must reply") end
if not mt.test_action(conn, SMFIF_ADDHDRS) then error("add headers not requested") end
if mt.test_action(conn, SMFIF_CHGBODY) then error("body change requested without need") end

t.check(mt.mailfrom(conn, "<sender@example.org>"), "mailfrom")
t.check(mt.rcptto(conn, "<reject@example.com>"), "rcptto reject")
-- A reject with our own text arrives as a reply code (SMFIR_REPLYCODE).
t.expect_reply(conn, SMFIR_REPLYCODE, "rcpt reject")
t.check(mt.rcptto(conn, "<alice@example.com>"), "rcptto alice")
t.expect_reply(conn, SMFIR_CONTINUE, "rcpt alice")
t.check(mt.header(conn, "Subject", "hello"), "header")
if not mt.test_option(conn, SMFIP_NOEOH) then error("eoh not switched off") end
t.check(mt.eom(conn), "eom")
t.expect_reply(conn, SMFIR_CONTINUE, "eom")
if not mt.eom_check(conn, MT_HDRADD, "X-Postern-Test", "client=192.0.2.7 rcpts=1 message=1") then
  error("first message: header missing or wrong: " .. tostring(mt.getheader(conn, "X-Postern-Test", 0)))
end

t.message(conn, {"<bob@example.com>", "<carol@example.com>"})
t.expect_reply(conn, SMFIR_CONTINUE, "second eom")
if not mt.eom_check(conn, MT_HDRADD, "X-Postern-Test", "client=192.0.2.7 rcpts=2 message=2") then
  error("second message: header missing or wrong")
end
mt.disconnect(conn)
