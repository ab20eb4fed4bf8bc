-- POST /transfers between the accounts the harness opened (ids 1..args[2]), each request
-- with an Idempotency-Key of its own.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function on_init(args)
  accounts = tonumber(args[2])
  math.randomseed(os.time() + #thread_tag)
end

request = function()
  local from = math.random(accounts)
  local to = from % accounts + 1
  local body = string.format(
    '{"from_account": %d, "to_account": %d, "amount_cents": %d}', from, to, math.random(100))
  local headers = {["Content-Type"] = "application/json", ["Idempotency-Key"] = unique("bench")}
  return wrk.format("POST", "/transfers", signed(headers), body)
end
