-- Shared helpers for the framework's miltertest scripts.
local M = {}

function M.start()
  mt.startfilter(filter, "-f", "-c", config)
  local conn = mt.connect(socket, 40, 0.25)
  if conn == nil then error("cannot connect to " .. socket) end
  return conn
end

function M.check(result, what)
  if result ~= nil then error(what .. ": " .. tostring(result)) end
end

function M.expect_reply(conn, want, what)
  if mt.getreply(conn) ~= want then
    error(what .. ": unexpected reply " .. tostring(mt.getreply(conn)))
  end
end

-- One message with the given recipients and headers, step by step as
-- Postfix sends it. When a step that replies answers other than continue,
-- the message ends there (as the MTA would end it) with an abort, and the
-- answer is left for the caller to check with mt.getreply.
function M.message(conn, rcpts, headers)
  local function stopped()
    local r = mt.getreply(conn)
    return r ~= SMFIR_CONTINUE and r ~= SMFIR_SKIP and r ~= nil and r ~= 0
  end
  local function finish()
    local r = mt.getreply(conn)
    mt.abort(conn)
    return r
  end
  M.check(mt.mailfrom(conn, "<sender@example.org>"), "mailfrom")
  if stopped() then return finish() end
  for _, r in ipairs(rcpts) do M.check(mt.rcptto(conn, r), "rcptto " .. r) end
  for _, h in ipairs(headers or {{"Subject", "hello"}}) do
    M.check(mt.header(conn, h[1], h[2]), "header")
  end
  -- miltertest refuses steps the filter switched off; Postfix skips them too.
  if not mt.test_option(conn, SMFIP_NOEOH) then
    M.check(mt.eoh(conn), "eoh")
    if stopped() then return finish() end
  end
  if not mt.test_option(conn, SMFIP_NOBODY) then
    M.check(mt.bodystring(conn, "hello\r\n"), "body")
    if stopped() then return finish() end
  end
  M.check(mt.eom(conn), "eom")
end

return M
