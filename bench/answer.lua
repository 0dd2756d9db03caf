-- wrk script: each request answers a different invitation (tokens from
-- $TOKENS, one per line), like customers clicking a score and sending a
-- comment. $THREADS must match wrk's -t so threads take turns through the list.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
local stride = tonumber(os.getenv("THREADS") or "2")
local next_id = 0
local counter = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  counter = id
end

request = function()
  local token = tokens[(counter % #tokens) + 1]
  local score = counter % 11
  counter = counter + stride
  return wrk.format("POST", "/s/" .. token,
    { ["Content-Type"] = "application/x-www-form-urlencoded" },
    "score=" .. score .. "&comment=Answer+" .. counter .. "+the+support+was+quick")
end
