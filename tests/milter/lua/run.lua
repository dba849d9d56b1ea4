-- Runs one miltertest script and says why it failed: miltertest itself
-- exits 1 on an error without printing it.
local ok, err = pcall(dofile, script)
if not ok then
  mt.echo("FAIL " .. script .. ": " .. tostring(err))
  error(err)
end
mt.echo("PASS " .. script)
