-- POST /todos with a key no other request used.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

request = function()
  local body = '{"key": "' .. unique("bench") .. '", "value": "benchmark"}'
  return wrk.format("POST", "/todos", signed({["Content-Type"] = "application/json"}), body)
end
