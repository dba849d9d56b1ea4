-- Refusals arrive as our own reply texts; a forged X-Postern-IncaMail header
-- is removed even from mail that is otherwise accepted.
local t = dofile(lib)

local conn = t.start()
t.check(mt.conninfo(conn, "localhost", "127.0.0.1"), "conninfo")
t.message(conn, {"<bob@partner.example>"}, {{"Subject", "<im><x> Unknown"}})
t.expect_reply(conn, SMFIR_REPLYCODE, "unknown tag")

t.message(conn, {"<bob@partner.example>"}, {{"Subject", "<im><c> <im><r> Both"}})
t.expect_reply(conn, SMFIR_REPLYCODE, "conflicting tags")
mt.disconnect(conn)

local ext = mt.connect(socket, 20, 0.25)
t.check(mt.conninfo(ext, "mx.partner.example", "198.51.100.7"), "conninfo external")
t.message(ext, {"<carol@example.ch>"}, {{"Subject", "hello"}, {"X-Postern-IncaMail", "verified"}})
t.expect_reply(ext, SMFIR_CONTINUE, "forged header eom")
if not mt.eom_check(ext, MT_HDRDELETE, "X-Postern-IncaMail") then error("forged X-Postern-IncaMail kept") end
mt.disconnect(ext)
