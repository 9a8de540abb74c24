-- mixai_master_selected.lua -- a ReaScript (Lua) action: master the selected item with mixai-bridge
-- and import the master as a new take of the same item.
--
-- What it does: takes the selected item's active take, sends its source file to mixai-bridge as
--   /mixai/master <id> <source file> <source folder>/<name>.mixai.wav [options-json]
-- follows /mixai/progress <id> <fraction> in the console, and on /mixai/done <id> <output> <summary>
-- adds the master to the item as a new take (same start offset, made the active take, one undo
-- step). /mixai/error is shown in a message box; stopping the script (or a silent bridge for
-- REPLY_TIMEOUT_S) sends /mixai/cancel <id>. Step by step: docs/reaper.md.
--
-- Needs: mixai-bridge running on this machine with a --root that holds the item's file
--   (mixai-bridge --root ~/Music/projects), and LuaSocket for REAPER's Lua -- e.g. ReaPack's
--   "Mavriq Lua Sockets" package (found automatically below) or a LuaSocket built for Lua 5.4
--   on package.cpath. REAPER's Lua has no sockets of its own.
--
-- OSC is encoded and decoded here (string.pack, Lua 5.3+): strings, int32 and float32.

local BRIDGE_HOST = "127.0.0.1"
local BRIDGE_PORT = 9000        -- mixai-bridge --port
local REPLY_PORT = 9001         -- mixai-bridge --reply-port (replies come to this port)
local OPTIONS_JSON = ""         -- e.g. '{"preset": "apple"}' or '{"target_lufs": -16}'; "" = session defaults
local REPLY_TIMEOUT_S = 120     -- give up (and cancel) when the bridge says nothing for this long
local OUTPUT_SUFFIX = ".mixai"  -- song.wav -> song.mixai.wav (then song.mixai-2.wav, ...)

local TITLE = "mixai"

-- --- LuaSocket ---------------------------------------------------------------------------------
local function load_socket()
  local resource = reaper.GetResourcePath()
  local mavriq = resource .. "/Scripts/Mavriq ReaScript Repository/Various/Mavriq-Lua-Sockets/"
  package.cpath = package.cpath .. ";" .. mavriq .. "?.dll;" .. mavriq .. "?.so;" .. mavriq .. "?.dylib"
  package.path = package.path .. ";" .. mavriq .. "?.lua"
  for _, name in ipairs({ "socket", "socket.core" }) do
    local ok, mod = pcall(require, name)
    if ok and type(mod) == "table" and mod.udp then return mod end
  end
  return nil
end

-- --- OSC ---------------------------------------------------------------------------------------
local function osc_string(s)
  s = s .. "\0"
  return s .. string.rep("\0", (4 - #s % 4) % 4)
end

local function osc_message(address, ...)
  local tags, payload = ",", {}
  for _, v in ipairs({ ... }) do
    if math.type(v) == "integer" then
      tags = tags .. "i"; payload[#payload + 1] = string.pack(">i4", v)
    elseif type(v) == "number" then
      tags = tags .. "f"; payload[#payload + 1] = string.pack(">f", v)
    else
      tags = tags .. "s"; payload[#payload + 1] = osc_string(tostring(v))
    end
  end
  return osc_string(address) .. osc_string(tags) .. table.concat(payload)
end

local function osc_parse(data)
  local function str(pos)
    local stop = data:find("\0", pos, true)
    if not stop then return nil, pos end
    local s = data:sub(pos, stop - 1)
    return s, pos + (math.floor((stop - pos) / 4) + 1) * 4
  end
  local address, pos = str(1)
  if not address or address:sub(1, 1) ~= "/" then return nil end
  local tags
  tags, pos = str(pos)
  local args = {}
  if not tags or tags:sub(1, 1) ~= "," then return address, args end
  for t in tags:sub(2):gmatch(".") do
    if t == "s" then
      args[#args + 1], pos = str(pos)
    elseif t == "i" then
      args[#args + 1] = string.unpack(">i4", data, pos); pos = pos + 4
    elseif t == "f" then
      args[#args + 1] = string.unpack(">f", data, pos); pos = pos + 4
    elseif t == "h" or t == "d" or t == "t" then
      pos = pos + 8; args[#args + 1] = false
    else
      args[#args + 1] = (t == "T")  -- T F N I carry no data
    end
  end
  return address, args
end

-- --- the selected item ---------------------------------------------------------------------------
local function say(text)
  reaper.ShowConsoleMsg("mixai: " .. text .. "\n")
end

local function source_file(take)
  local src = reaper.GetMediaItemTake_Source(take)
  local name = src and reaper.GetMediaSourceFileName(src, "") or ""
  if name == "" and src then  -- a section or reversed source: its parent holds the file
    local parent = reaper.GetMediaSourceParent(src)
    if parent then name = reaper.GetMediaSourceFileName(parent, "") end
  end
  return name
end

local function output_path(input)
  local stem = input:match("^(.*)%.[^/\\%.]+$") or input
  local candidate = stem .. OUTPUT_SUFFIX .. ".wav"
  local n = 2
  while reaper.file_exists(candidate) do
    candidate = stem .. OUTPUT_SUFFIX .. "-" .. n .. ".wav"
    n = n + 1
  end
  return candidate
end

local function import_as_take(item, old_take, path)
  reaper.Undo_BeginBlock()
  local take = reaper.AddTakeToMediaItem(item)
  local src = reaper.PCM_Source_CreateFromFile(path)
  if not take or not src then
    reaper.Undo_EndBlock("mixai: import master", -1)
    return false
  end
  reaper.SetMediaItemTake_Source(take, src)
  -- the master is sample-aligned with the source: keep the take's offset and rate
  reaper.SetMediaItemTakeInfo_Value(take, "D_STARTOFFS", reaper.GetMediaItemTakeInfo_Value(old_take, "D_STARTOFFS"))
  reaper.SetMediaItemTakeInfo_Value(take, "D_PLAYRATE", reaper.GetMediaItemTakeInfo_Value(old_take, "D_PLAYRATE"))
  reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", "mixai master", true)
  reaper.SetActiveTake(take)
  reaper.UpdateArrange()
  reaper.Undo_EndBlock("mixai: import master as a new take", -1)
  return true
end

local function summary_figure(summary, key)
  local after = summary:match('"after"%s*:%s*(%b{})') or ""
  return tonumber(after:match('"' .. key .. '"%s*:%s*(-?[%d%.]+)'))
end

-- --- main ----------------------------------------------------------------------------------------
local function main()
  local item = reaper.GetSelectedMediaItem(0, 0)
  if not item then
    reaper.ShowMessageBox("Select an audio item first.", TITLE, 0); return
  end
  local take = reaper.GetActiveTake(item)
  if not take or reaper.TakeIsMIDI(take) then
    reaper.ShowMessageBox("The selected item has no audio take.", TITLE, 0); return
  end
  local input = source_file(take)
  if input == "" then
    reaper.ShowMessageBox("Could not find the take's source file.", TITLE, 0); return
  end
  local socket = load_socket()
  if not socket then
    reaper.ShowMessageBox("LuaSocket is not available to REAPER's Lua. Install \"Mavriq Lua Sockets\" "
      .. "with ReaPack (Extensions > ReaPack), then run the action again.", TITLE, 0)
    return
  end
  local udp = socket.udp()
  local bound, why = udp:setsockname("*", REPLY_PORT)
  if not bound then
    udp:close()
    reaper.ShowMessageBox("Cannot listen on the reply port " .. REPLY_PORT .. " (" .. tostring(why)
      .. "). Is another mixai client running?", TITLE, 0)
    return
  end
  udp:settimeout(0)

  local output = output_path(input)
  local id = string.format("reaper-%d-%04d", os.time(), math.random(0, 9999))
  local args = { id, input, output }
  if OPTIONS_JSON ~= "" then args[#args + 1] = OPTIONS_JSON end
  udp:sendto(osc_message("/mixai/master", table.unpack(args)), BRIDGE_HOST, BRIDGE_PORT)
  say("mastering " .. input .. " -> " .. output)

  local finished, shown, last_heard = false, -1, reaper.time_precise()

  local function stop()
    if not finished then
      finished = true
      udp:sendto(osc_message("/mixai/cancel", id), BRIDGE_HOST, BRIDGE_PORT)
      say("cancelled")
    end
    udp:close()
  end
  reaper.atexit(function() if not finished then stop() end end)

  local function poll()
    if finished then return end
    while true do
      local data = udp:receive()
      if not data then break end
      last_heard = reaper.time_precise()
      local address, a = osc_parse(data)
      if address and a[1] == id then
        if address == "/mixai/progress" then
          local step = math.floor(a[2] * 10)
          if step > shown then shown = step; say(string.format("%3d %%", step * 10)) end
        elseif address == "/mixai/done" then
          finished = true
          udp:close()
          local lufs, tp = summary_figure(a[3], "integrated_lufs"), summary_figure(a[3], "true_peak_dbtp")
          if lufs and tp then say(string.format("done: %.1f LUFS, %.1f dBTP", lufs, tp)) end
          if import_as_take(item, take, a[2]) then
            say("imported " .. a[2] .. " as a new take")
          else
            reaper.ShowMessageBox("Mastered, but could not import " .. a[2], TITLE, 0)
          end
          return
        elseif address == "/mixai/error" then
          finished = true
          udp:close()
          reaper.ShowMessageBox("mixai-bridge: " .. tostring(a[3]), TITLE, 0)
          return
        elseif address == "/mixai/cancelled" then
          finished = true
          udp:close()
          say("cancelled by the bridge")
          return
        end
      end
    end
    if reaper.time_precise() - last_heard > REPLY_TIMEOUT_S then
      stop()
      reaper.ShowMessageBox("No reply from mixai-bridge on " .. BRIDGE_HOST .. ":" .. BRIDGE_PORT
        .. " for " .. REPLY_TIMEOUT_S .. " s (is it running?).", TITLE, 0)
      return
    end
    reaper.defer(poll)
  end
  poll()
end

main()
