-- Progress of tapps-lsp's background work ($/progress), shown in the message area.
--
-- Neovim 0.11 turns $/progress into LspProgress events but draws nothing itself. We echo
-- one line per update unless a progress UI that already draws every LspProgress is loaded
-- (fidget.nvim); `require('tapps').progress()` gives the same line to statuslines.
local M = {}

--- 'auto': echo unless another progress UI is loaded; true: always echo; false: never.
--- @type 'auto'|boolean
M.mode = 'auto'

local OTHER_UIS = { 'fidget' }

-- The title of a workspace scan, as the server sends it in `begin`.
local SCAN_TITLE = 'Reviewing workspace'

--- Work in progress, by client id and token.
--- @type table<string, { title: string, message?: string, percentage?: integer }>
local active = {}

--- @param work { title: string, message?: string, percentage?: integer }
--- @return string
local function describe(work)
  local parts = { 'tapps:', work.title }
  if work.percentage then
    parts[#parts + 1] = work.percentage .. '%'
  end
  if work.message and work.message ~= '' then
    parts[#parts + 1] = work.message
  end
  return table.concat(parts, ' ')
end

local function other_ui_loaded()
  for _, name in ipairs(OTHER_UIS) do
    if package.loaded[name] then
      return true
    end
  end
  return false
end

local function echo(text)
  if M.mode == false or (M.mode == 'auto' and other_ui_loaded()) then
    return
  end
  -- A line wider than the message area would stop the editor with a hit-enter prompt.
  local room = vim.v.echospace
  if vim.fn.strdisplaywidth(text) > room then
    text = vim.fn.strcharpart(text, 0, room - 1) .. '…'
  end
  vim.api.nvim_echo({ { text } }, false, {})
end

--- LspProgress callback.
--- @param args { data: { client_id: integer, params: lsp.ProgressParams } }
function M.on_progress(args)
  local client = vim.lsp.get_client_by_id(args.data.client_id)
  local value = args.data.params.value
  if not client or client.name ~= 'tapps' or type(value) ~= 'table' then
    return
  end
  local key = client.id .. ':' .. tostring(args.data.params.token)
  if value.kind == 'begin' then
    active[key] = { title = value.title, message = value.message, percentage = value.percentage }
    echo(describe(active[key]))
  elseif value.kind == 'report' and active[key] then
    local work = active[key]
    work.message = value.message or work.message
    work.percentage = value.percentage or work.percentage
    echo(describe(work))
  elseif value.kind == 'end' and active[key] then
    local work = active[key]
    active[key] = nil
    echo(describe({ title = work.title, message = value.message or 'done' }))
    if work.title == SCAN_TITLE then
      -- The scan reviewed files this client never opened: fetch their diagnostics.
      require('tapps.diagnostics').pull_workspace(client)
    end
  end
end

--- The line of a piece of work in progress (a scan), or '' when nothing runs.
--- @return string
function M.text()
  local _, work = next(active)
  return work and describe(work) or ''
end

return M
