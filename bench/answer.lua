-- wrk script: each request answers a different invitation (tokens from
-- $TOKENS, one per line), like customers clicking a score and sending a comment.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
local counter = 0
local threads = {}

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = offset
end

request = function()
  -- Threads interleave so no token is used twice while there are tokens left.
  counter = counter + #threads
  local token = tokens[(counter % #tokens) + 1]
  local score = counter % 11
  return wrk.format("POST", "/s/" .. token,
    { ["Content-Type"] = "application/x-www-form-urlencoded" },
    "score=" .. score .. "&comment=Answer+" .. counter .. "+the+support+was+quick")
end
