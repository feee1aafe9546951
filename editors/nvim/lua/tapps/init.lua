-- tapps-lsp for Neovim 0.11+: code-review scores and lint through the built-in LSP client.
--
--   require('tapps').setup({
--     python = '/path/to/venv/bin/python',   -- the interpreter that has tapps-lsp installed
--     settings = { qualityThreshold = 75 },   -- the `tapps` settings (docs/configuration.md)
--     progress = 'auto',                      -- echo scan progress unless fidget.nvim is loaded
--   })
local M = {}

--- @class tapps.Opts
--- @field python? string interpreter that runs `-I -m tapps_lsp` (default g:tapps_python, else 'python3')
--- @field settings? table the `tapps` settings, sent on workspace/configuration
--- @field progress? 'auto'|boolean echo progress: 'auto' (unless fidget.nvim is loaded), true, false

--- Tell running servers about changed settings; they re-read workspace/configuration.
--- @param settings table
local function push_settings(settings)
  for _, client in ipairs(vim.lsp.get_clients({ name = 'tapps' })) do
    client.settings = vim.tbl_deep_extend('force', client.settings or {}, { tapps = settings })
    client:notify('workspace/didChangeConfiguration', { settings = client.settings })
  end
end

--- Configure and enable the `tapps` language server; calling it again merges the new options
--- (new settings reach running servers at once; a new `python` applies to servers started later).
--- @param opts? tapps.Opts
function M.setup(opts)
  opts = opts or {}
  vim.validate('python', opts.python, 'string', true)
  vim.validate('settings', opts.settings, 'table', true)
  local config = {}
  if opts.python then
    vim.g.tapps_python = opts.python
    config.cmd = require('tapps.python').server_cmd(opts.python)
  end
  if opts.settings and next(opts.settings) then
    config.settings = { tapps = opts.settings }
    -- Also at initialize, so the first review already uses them.
    config.init_options = opts.settings
    push_settings(opts.settings)
  end
  if opts.progress ~= nil then
    require('tapps.progress').mode = opts.progress
  end
  -- A plugin manager that loads this plugin late (lazy.nvim with `ft`) adds it to
  -- 'runtimepath' after start-up, when Neovim no longer sources plugin/ files.
  if not vim.g.loaded_tapps then
    vim.cmd.runtime('plugin/tapps.lua')
  end
  vim.lsp.config('tapps', config)
  vim.lsp.enable('tapps')
end

--- The current buffer's score for a statusline, e.g. "76.5/100 pass" ('' until known).
--- @param bufnr? integer
--- @return string
function M.status(bufnr)
  return require('tapps.status').get(bufnr)
end

--- The running scan's progress line, e.g. "tapps: Reviewing workspace 40% 12/30 a.py" ('' when idle).
--- @return string
function M.progress()
  return require('tapps.progress').text()
end

return M
