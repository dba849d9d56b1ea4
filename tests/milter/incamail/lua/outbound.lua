-- postern-incamail over the real milter protocol: a tagged message from an
-- internal client has its external recipient rewritten (delete + add) and
-- its internal one kept; untagged mail and mail from outside pass untouched.
local t = dofile(lib)

local conn = t.start()
t.check(mt.conninfo(conn, "localhost", "127.0.0.1"), "conninfo")
if not mt.test_action(conn, SMFIF_DELRCPT) then error("delete recipients not requested") end
if not mt.test_action(conn, SMFIF_ADDRCPT_PAR) then error("add recipients with args not requested") end
if not mt.test_option(conn, SMFIP_NR_HDR) then error("headers should be no-reply") end

t.message(conn, {"<bob@partner.example>", "<carol@example.ch>"},
          {{"From", "alice@example.ch"}, {"Subject", "<im><c> Offerte"}})
t.expect_reply(conn, SMFIR_CONTINUE, "tagged eom")
if not mt.eom_check(conn, MT_RCPTDELETE, "<bob@partner.example>") then error("external recipient not deleted") end
-- The added recipient carries NOTIFY/ORCPT (SMFIR_ADDRCPT_PAR), which this
-- miltertest's eom_check does not report; the golden cases check its exact
-- form and the e2e test its delivery.
if mt.eom_check(conn, MT_RCPTDELETE, "<carol@example.ch>") then error("internal recipient touched") end

-- Second message on the same connection: untagged, nothing changes.
t.message(conn, {"<bob@partner.example>"}, {{"Subject", "plain"}})
if mt.eom_check(conn, MT_RCPTDELETE, "<bob@partner.example>") then error("untagged mail rewritten") end
mt.disconnect(conn)

-- From outside the internal networks a tag changes nothing.
local ext = mt.connect(socket, 20, 0.25)
t.check(mt.conninfo(ext, "mx.partner.example", "198.51.100.7"), "conninfo external")
t.message(ext, {"<carol@example.ch>", "<bob@partner.example>"}, {{"Subject", "<im><c> from outside"}})
if mt.eom_check(ext, MT_RCPTDELETE, "<bob@partner.example>") then error("external sender rewritten") end
mt.disconnect(ext)
