-- The real postern-policy over the milter protocol: forged X-Postern-*
-- headers go and a sealed plan comes, a rule's reject is our reply, hold
-- quarantines, and a split message whose copy cannot be handed on
-- (nothing listens for re-injection here) is tempfailed.
local t = dofile(lib)

local conn = t.start()
t.check(mt.conninfo(conn, "mail.example.net", "192.0.2.7"), "conninfo")

t.message(conn, {"<bob@example.com>"}, {{"To", "bob@example.com"}, {"Subject", "hello"},
                                        {"X-Postern-Plan", "1.forged.plan"}})
t.expect_reply(conn, SMFIR_CONTINUE, "plain message eom")
if not mt.eom_check(conn, MT_HDRCHANGE, "X-Postern-Plan", "") then error("forged X-Postern-Plan kept") end
if not mt.eom_check(conn, MT_HDRADD, "X-Postern-Plan") then error("no plan added") end

t.message(conn, {"<nobody@example.com>"}, {{"To", "nobody@example.com"}, {"Subject", "hello"}})
t.expect_reply(conn, SMFIR_REPLYCODE, "reject")

t.message(conn, {"<bob@example.com>"}, {{"To", "bob@example.com"}, {"Subject", "[hold] check"}})
t.expect_reply(conn, SMFIR_CONTINUE, "hold eom")
if not mt.eom_check(conn, MT_QUARANTINE, "held for review") then error("not quarantined") end

-- Two Bcc recipients: two groups, and the copy cannot be submitted.
t.message(conn, {"<bob@example.com>", "<carol@example.com>"}, {{"To", "undisclosed-recipients:;"}, {"Subject", "hi"}})
t.expect_reply(conn, SMFIR_REPLYCODE, "failed re-injection tempfails")
mt.disconnect(conn)
