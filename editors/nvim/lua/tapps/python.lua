-- How the plugin starts Python: the server and the :checkhealth probe alike.
--
-- A cloned repository is untrusted. `python -m`/`python -c` put the current directory first
-- on sys.path, and Neovim's current directory is usually the project, so a `tapps_lsp/` (or
-- `multiprocessing/`) folder in it would be imported instead of the installed package. So:
--   * `-I` (isolated mode): no cwd or script folder on sys.path, no PYTHON* variables, no user
--     site-packages; the server passes it on to its worker processes;
--   * the process starts in this plugin's own folder, never the project (an empty entry in a
--     PYTHONPATH the server inherits would otherwise still mean the project);
--   * PYTHONSAFEPATH=1 in its environment, for any other Python it starts.
local M = {}

--- Interpreter flags put before `-m tapps_lsp` and `-c CODE`.
M.flags = { '-I' }

--- Environment added to Neovim's for every Python the plugin starts.
M.env = { PYTHONSAFEPATH = '1' }

--- The plugin's folder (editors/nvim): the working directory of every Python it starts.
--- @return string
function M.cwd()
  local source = debug.getinfo(1, 'S').source:sub(2)
  -- lua/tapps/python.lua -> the plugin root, three levels up.
  return vim.fn.fnamemodify(source, ':p:h:h:h')
end

--- The server's command line for `python`.
--- @param python string
--- @return string[]
function M.server_cmd(python)
  return vim.list_extend({ python }, vim.list_extend(vim.deepcopy(M.flags), { '-m', 'tapps_lsp' }))
end

--- The command line that runs `code` with `python` the same way the server is run.
--- @param python string
--- @param code string
--- @return string[]
function M.code_cmd(python, code)
  return vim.list_extend({ python }, vim.list_extend(vim.deepcopy(M.flags), { '-c', code }))
end

--- Whether a `cmd` keeps the current directory off sys.path: `-I` or `-P` before `-m`/`-c`,
--- or a command that is not `python -m`/`-c` at all (a console script such as `tapps-lsp`,
--- whose sys.path[0] is its own bin folder).
--- @param cmd string[]
--- @return boolean
function M.isolated(cmd)
  for i = 2, #cmd do
    local arg = cmd[i]
    if arg == '-m' or arg == '-c' then
      return false
    end
    if arg:match('^%-[^-]') and (arg:find('I', 2, true) or arg:find('P', 2, true)) then
      return true
    end
  end
  return true
end

return M
