-- GET /todos/{key} of a todo the harness created before the run (args[2]).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function on_init(args)
  path = "/todos/" .. args[2]
end

request = function()
  return wrk.format("GET", path, signed())
end
