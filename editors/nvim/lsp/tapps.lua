-- tapps-lsp for Neovim 0.11+: `vim.lsp.enable('tapps')` finds this file on 'runtimepath'.
-- The interpreter is `g:tapps_python` (or `require('tapps').setup({ python = ... })`), read
-- when the config is resolved, so it can be set any time before the first Python buffer opens.
local diagnostics = require('tapps.diagnostics')
local python = require('tapps.python')

return {
  -- `python -I -m tapps_lsp` from the plugin's folder: nothing in the project (a planted
  -- `tapps_lsp/`, `ast.py` or `multiprocessing/`) can stand in for an installed module,
  -- in the server or its workers (lua/tapps/python.lua says why each part is needed).
  cmd = python.server_cmd(vim.g.tapps_python or 'python3'),
  cmd_cwd = python.cwd(),
  cmd_env = python.env,
  filetypes = { 'python' },
  root_markers = { 'pyproject.toml', 'setup.py', '.git' },
  -- Answered on workspace/configuration (section "tapps"); an empty dict, not an empty list,
  -- so the server sees an object.
  settings = { tapps = vim.empty_dict() },
  capabilities = diagnostics.capabilities(),
  handlers = diagnostics.handlers(),
}
