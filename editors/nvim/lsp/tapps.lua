-- tapps-lsp for Neovim 0.11+: `vim.lsp.enable('tapps')` finds this file on 'runtimepath'.
-- The interpreter is `g:tapps_python` (or `require('tapps').setup({ python = ... })`), read
-- when the config is resolved, so it can be set any time before the first Python buffer opens.
local diagnostics = require('tapps.diagnostics')

return {
  cmd = { vim.g.tapps_python or 'python3', '-m', 'tapps_lsp' },
  -- Neovim starts the server in the project folder: without this, a `tapps_lsp/` (or `ast.py`)
  -- in the project would be imported instead of the installed package (Python 3.11+).
  cmd_env = { PYTHONSAFEPATH = '1' },
  filetypes = { 'python' },
  root_markers = { 'pyproject.toml', 'setup.py', '.git' },
  -- Answered on workspace/configuration (section "tapps"); an empty dict, not an empty list,
  -- so the server sees an object.
  settings = { tapps = vim.empty_dict() },
  capabilities = diagnostics.capabilities(),
  handlers = diagnostics.handlers(),
}
