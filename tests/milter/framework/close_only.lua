-- Connections that close before (or right after) negotiation must not
-- disturb the filter: the next connection is served normally.
local t = dofile(lib)

local first = t.start()
mt.disconnect(first, false)          -- abrupt, nothing sent

local second = mt.connect(socket, 20, 0.25)
if second == nil then error("filter died after an abrupt close") end
t.check(mt.negotiate(second, nil, nil, nil), "negotiate")
mt.disconnect(second, true)          -- polite close right after negotiation

for i = 1, 20 do                     -- many short connections
  local c = mt.connect(socket, 20, 0.25)
  if c == nil then error("connect " .. i) end
  mt.disconnect(c, i % 2 == 0)
end

local conn = mt.connect(socket, 20, 0.25)
if conn == nil then error("filter died after close-only connections") end
t.check(mt.conninfo(conn, "client.example.org", "198.51.100.1"), "conninfo")
t.message(conn, {"<alice@example.com>"})
t.expect_reply(conn, SMFIR_CONTINUE, "eom")
if not mt.eom_check(conn, MT_HDRADD, "X-Postern-Test", "client=198.51.100.1 rcpts=1 message=1") then
  error("header missing or wrong")
end
mt.disconnect(conn)
