-- GET of the path given after the run's tag (args[2]), signed in unless args[3] is "open".
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function on_init(args)
  path = args[2]
  open = args[3] == "open"
end

request = function()
  if open then return wrk.format("GET", path) end
  return wrk.format("GET", path, signed())
end
