-- GET /todos filtered by a substring of the key, one page.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

request = function()
  return wrk.format("GET", "/todos?key_contains=seed-1&limit=20", signed())
end
