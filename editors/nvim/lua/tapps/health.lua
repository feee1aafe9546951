-- :checkhealth tapps
local M = {}

local health = vim.health

local python = require('tapps.python')

--- The command line the `tapps` config would start, from the resolved config.
--- @return string[]?
local function configured_cmd()
  local config = vim.lsp.config.tapps
  local cmd = config and config.cmd
  return type(cmd) == 'table' and cmd or nil
end

local function check_neovim()
  local v = vim.version()
  local version = ('%d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.11') == 1 then
    health.ok('Neovim ' .. version)
  else
    health.error('Neovim ' .. version .. ' is too old', { 'tapps needs Neovim 0.11 or newer (vim.lsp.config)' })
  end
end

--- @return string? path of the interpreter when found
local function check_interpreter()
  local cmd = configured_cmd()
  if not cmd then
    health.error('no `tapps` LSP config', { "call require('tapps').setup() or vim.lsp.enable('tapps')" })
    return nil
  end
  if not python.isolated(cmd) then
    health.warn(
      ('`%s` puts the current folder on sys.path: a project can replace tapps_lsp'):format(table.concat(cmd, ' ')),
      { 'start the server with `-I` before `-m tapps_lsp` (the default cmd does)' }
    )
  end
  local path = vim.fn.exepath(cmd[1])
  if path == '' then
    health.error(
      ('interpreter `%s` not found'):format(cmd[1]),
      { 'set g:tapps_python or setup({ python = ... }) to a Python that has tapps-lsp installed' }
    )
    return nil
  end
  health.ok(('interpreter: %s'):format(path))
  return path
end

--- Imports tapps_lsp the way the server is started (isolated, outside the project), so a
--- `tapps_lsp/` folder in the current project is neither run nor mistaken for the package.
--- @param interpreter string
local function check_import(interpreter)
  local code = 'import tapps_lsp; print(tapps_lsp.__version__, tapps_lsp.__file__)'
  local ok, result = pcall(function()
    local options = { text = true, cwd = python.cwd(), env = python.env }
    return vim.system(python.code_cmd(interpreter, code), options):wait(30000)
  end)
  if ok and result.code == 0 then
    local version, file = vim.trim(result.stdout):match('^(%S+)%s+(.*)$')
    health.ok(('tapps_lsp %s (%s)'):format(version or vim.trim(result.stdout), file or '?'))
    return
  end
  local detail = ok and vim.trim(result.stderr or '') or tostring(result)
  local last_line = detail:match('([^\n]*)$') or detail
  health.error(
    ('`%s -I -c "import tapps_lsp"` failed: %s'):format(interpreter, last_line),
    { ('install it: %s -m pip install tapps-lsp'):format(interpreter) }
  )
end

local function check_server()
  local clients = vim.lsp.get_clients({ name = 'tapps' })
  if #clients == 0 then
    health.warn('the server is not running', { 'open a Python file inside a project, then run :checkhealth tapps again' })
    return
  end
  for _, client in ipairs(clients) do
    local buffers = vim.tbl_count(client.attached_buffers)
    local root = client.root_dir or '(no root)'
    if client.initialized then
      health.ok(('server running (client %d, root %s, %d buffers attached)'):format(client.id, root, buffers))
      -- The server pulls only for clients that take its refresh (lsp/tapps.lua advertises it).
      local pull = client.server_capabilities.diagnosticProvider ~= nil
      health.info(pull and 'diagnostics: pulled, re-pulled when the server refreshes' or 'diagnostics: pushed')
    else
      health.warn(('server starting (client %d, root %s)'):format(client.id, root))
    end
  end
end

function M.check()
  health.start('tapps')
  check_neovim()
  local python = check_interpreter()
  if python then
    check_import(python)
  end
  check_server()
end

return M
