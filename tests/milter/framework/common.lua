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

-- One complete message with the given recipients; returns nothing, errors on
-- any step that does not continue (the last step's reply is left to check).
function M.message(conn, rcpts, headers)
  M.check(mt.mailfrom(conn, "<sender@example.org>"), "mailfrom")
  for _, r in ipairs(rcpts) do M.check(mt.rcptto(conn, r), "rcptto " .. r) end
  for _, h in ipairs(headers or {{"Subject", "hello"}}) do
    M.check(mt.header(conn, h[1], h[2]), "header")
  end
  -- miltertest refuses steps the filter switched off; Postfix skips them too.
  if not mt.test_option(conn, SMFIP_NOEOH) then M.check(mt.eoh(conn), "eoh") end
  if not mt.test_option(conn, SMFIP_NOBODY) then M.check(mt.bodystring(conn, "hello\r\n"), "body") end
  M.check(mt.eom(conn), "eom")
end

return M
