-- wrk script: sends prepared requests in turn and counts response statuses.
--
-- Arguments (after "--" on the wrk command line):
--   1. a file of requests, one per line: method, Host, path and email
--      address separated by tabs;
--   2. optional: a file holding the body template of every request, in which
--      each "%ADDRESS%" is replaced by the line's address;
--   3. optional: the Content-Type of that body.
-- done() prints one line "BENCH-RESULT {json}" with the request count,
-- duration, latency percentiles and the count of each status.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

local prepared = {}
local nextIndex = 1
statuses = {}
emptyBodies = 0

local function readFile(path)
   local f = assert(io.open(path, "rb"))
   local text = f:read("*a")
   f:close()
   return text
end

function init(args)
   local template = nil
   local contentType = args[3]
   if args[2] and args[2] ~= "" then
      template = readFile(args[2])
   end
   for line in io.lines(args[1]) do
      local method, host, path, address = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
      if method then
         local headers = { Host = host }
         local body = nil
         if template then
            -- The address is inserted as Outlook does, without escaping;
            -- generated addresses contain no XML special characters.
            body = template:gsub("%%ADDRESS%%", function() return address end)
            headers["Content-Type"] = contentType
         end
         table.insert(prepared, wrk.format(method, path, headers, body))
      end
   end
   assert(#prepared > 0, "no requests in " .. args[1])
   -- Threads start at different places in the list.
   nextIndex = (id * 7919) % #prepared + 1
end

function request()
   local r = prepared[nextIndex]
   nextIndex = nextIndex % #prepared + 1
   return r
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if body == nil or #body == 0 then
      emptyBodies = emptyBodies + 1
   end
end

function done(summary, latency, requests)
   local counts = {}
   local empty = 0
   for _, thread in ipairs(threads) do
      local threadStatuses = thread:get("statuses")
      for status, count in pairs(threadStatuses) do
         counts[status] = (counts[status] or 0) + count
      end
      empty = empty + thread:get("emptyBodies")
   end
   local parts = {}
   for status, count in pairs(counts) do
      table.insert(parts, string.format('"%d": %d', status, count))
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH-RESULT {"requests": %d, "durationMicroseconds": %d, "bytes": %d, '
         .. '"p50Microseconds": %d, "p90Microseconds": %d, "p99Microseconds": %d, '
         .. '"maxMicroseconds": %d, "socketErrors": {"connect": %d, "read": %d, '
         .. '"write": %d, "timeout": %d}, "emptyBodies": %d, "statuses": {%s}}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, errors.connect, errors.read, errors.write, errors.timeout,
      empty, table.concat(parts, ", ")))
end
