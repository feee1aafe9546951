-- Shared set-up of the Neovim end-to-end scripts. Each script is run as
-- `nvim --headless --clean -u tests/nvim/<script>.lua` by test_nvim.py, which passes:
--   TAPPS_TEST_PLUGIN   editors/nvim (put on 'runtimepath')
--   TAPPS_TEST_PYTHON   the interpreter that has tapps-lsp installed
--   TAPPS_TEST_PROJECT  the workspace the script works in (also the cwd)
-- Scripts print one JSON object per line on stdout (`emit`); the pytest module asserts on
-- them. Failures end Neovim with a non-zero exit code after printing what was seen.
local M = {}

M.plugin = assert(os.getenv('TAPPS_TEST_PLUGIN'), 'TAPPS_TEST_PLUGIN not set')
M.python = assert(os.getenv('TAPPS_TEST_PYTHON'), 'TAPPS_TEST_PYTHON not set')
M.project = assert(os.getenv('TAPPS_TEST_PROJECT'), 'TAPPS_TEST_PROJECT not set')

-- No file-info message on :edit: it would only be noise in a failure's output.
vim.opt.shortmess:append('F')

local started = vim.uv.hrtime()

--- Print one observation for the pytest side (headless `print` goes to stderr, unterminated),
--- stamped with the milliseconds since Neovim read this file.
--- @param step string
--- @param data? table
function M.emit(step, data)
  data = data or {}
  data.step = step
  data.t_ms = math.floor((vim.uv.hrtime() - started) / 1e6)
  io.stdout:write(vim.json.encode(data), '\n')
  io.stdout:flush()
end

--- Wait for `predicate`, processing events meanwhile; fail with `describe()` on timeout.
--- @param ms integer
--- @param predicate fun(): boolean
--- @param what string
--- @param describe? fun(): any what was seen instead, for the failure message
function M.wait(ms, predicate, what, describe)
  if not vim.wait(ms, predicate, 10) then
    local seen = describe and vim.inspect(describe()) or ''
    error(('timed out after %d ms waiting for %s; seen: %s'):format(ms, what, seen), 0)
  end
end

--- @param bufnr integer
--- @return vim.lsp.Client
function M.attached_client(bufnr)
  local client
  M.wait(30000, function()
    client = vim.lsp.get_clients({ bufnr = bufnr, name = 'tapps' })[1]
    return client ~= nil and client.initialized
  end, 'the tapps client to attach')
  M.emit('attached', { client = client.id })
  return client
end

--- Diagnostic codes of a buffer, sorted.
--- @param bufnr integer
--- @return string[]
function M.codes(bufnr)
  local codes = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    codes[#codes + 1] = tostring(d.code)
  end
  table.sort(codes)
  return codes
end

--- Diagnostics that appear more than once in a buffer (same place, code and message).
--- @param bufnr integer
--- @return string[]
function M.duplicates(bufnr)
  local seen, dups = {}, {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    local key = table.concat({ d.lnum, d.col, tostring(d.code), d.message }, '|')
    if seen[key] then
      dups[#dups + 1] = key
    end
    seen[key] = true
  end
  return dups
end

--- Record every LSP notification the client sends, e.g. textDocument/didSave.
--- @return string[]
function M.record_notifications()
  local sent = {}
  vim.api.nvim_create_autocmd('LspNotify', {
    callback = function(args)
      sent[#sent + 1] = args.data.method
    end,
  })
  return sent
end

--- Record every message shown with vim.notify (the plugin's messages to the user).
--- @return string[]
function M.record_messages()
  local shown = {}
  local notify = vim.notify
  vim.notify = function(msg, level, opts)
    shown[#shown + 1] = msg
    return notify(msg, level, opts)
  end
  return shown
end

--- Record every LspProgress value of the tapps client.
--- @return table[]
function M.record_progress()
  local values = {}
  vim.api.nvim_create_autocmd('LspProgress', {
    callback = function(args)
      local value = vim.deepcopy(args.data.params.value)
      value.at_ms = vim.uv.hrtime() / 1e6
      values[#values + 1] = value
    end,
  })
  return values
end

--- Run `fn` from VimEnter (nested, so :edit inside sets the filetype and starts the server),
--- with a watchdog; exit 0 when it returns, 1 when it raises, 3 when the watchdog fires.
--- The plugin goes on 'runtimepath' before start-up, as a plugin manager that loads it at
--- once does, and setup() is called. Options:
---   plain: no setup(), as a user who only sets g:tapps_python and calls vim.lsp.enable('tapps')
---   late:  on 'runtimepath' only after start-up, then setup(), as lazy-loading managers do
---          (lazy.nvim with `ft`): Neovim no longer sources its plugin/ file then.
--- @param fn fun()
--- @param opts? { watchdog_ms?: integer, plain?: boolean, late?: boolean }
function M.run(fn, opts)
  opts = opts or {}
  local function load()
    vim.opt.runtimepath:prepend(M.plugin)
    if opts.plain then
      vim.g.tapps_python = M.python
      vim.lsp.enable('tapps')
    else
      require('tapps').setup({ python = M.python })
    end
  end
  if not opts.late then
    load()
  end
  vim.api.nvim_create_autocmd('VimEnter', {
    once = true,
    nested = true,
    callback = function()
      if opts.late then
        load()
      end
      vim.defer_fn(function()
        M.emit('watchdog', { after_ms = opts.watchdog_ms or 90000 })
        vim.cmd('cquit 3')
      end, opts.watchdog_ms or 90000)
      local ok, err = xpcall(fn, debug.traceback)
      M.emit('finished', { ok = ok, error = not ok and err or nil })
      vim.cmd(ok and 'qall!' or 'cquit 1')
    end,
  })
end

return M
