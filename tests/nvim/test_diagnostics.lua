-- Per-file behaviour: diagnostics on open, updated after a save with no further edit,
-- a quick fix applied, the statusline score, never a duplicate.
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
package.path = here .. '/?.lua;' .. package.path
local h = require('helpers')

--- LSP traffic in order: client notifications and the client's diagnostic pulls.
local traffic = {}
vim.api.nvim_create_autocmd('LspNotify', {
  callback = function(args)
    traffic[#traffic + 1] = args.data.method
  end,
})
vim.api.nvim_create_autocmd('LspRequest', {
  callback = function(args)
    local request = args.data.request
    if request.method == 'textDocument/diagnostic' then
      traffic[#traffic + 1] = 'textDocument/diagnostic:' .. request.type
    end
  end,
})

--- How many entries of `traffic` after index `from` equal `entry`.
local function count_since(from, entry)
  local n = 0
  for i = from + 1, #traffic do
    if traffic[i] == entry then
      n = n + 1
    end
  end
  return n
end

--- Namespaces holding diagnostics of the buffer: one, or push and pull both published.
local function namespaces(bufnr)
  local seen = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    seen[d.namespace] = true
  end
  return vim.tbl_count(seen)
end

local function snapshot(bufnr, extra)
  return vim.tbl_extend('force', {
    codes = h.codes(bufnr),
    duplicates = h.duplicates(bufnr),
    namespaces = namespaces(bufnr),
  }, extra or {})
end

local function has(bufnr, code)
  return vim.list_contains(h.codes(bufnr), code)
end

h.run(function()
  vim.cmd.edit('app.py')
  local buf = vim.api.nvim_get_current_buf()
  local client = h.attached_client(buf)

  local refreshes = 0
  local refresh = client.handlers['workspace/diagnostic/refresh']
  client.handlers['workspace/diagnostic/refresh'] = function(...)
    refreshes = refreshes + 1
    return refresh(...)
  end

  h.wait(30000, function()
    return has(buf, 'F401')
  end, 'F401 after open', function()
    return h.codes(buf)
  end)
  h.emit('opened', snapshot(buf, { filetype = vim.bo[buf].filetype, root = client.root_dir }))

  h.wait(15000, function()
    return require('tapps').status() ~= ''
  end, 'a statusline score')
  h.emit('status', { text = require('tapps').status() })

  -- Edit, wait until Neovim's own pull after the change has been answered, then save:
  -- only the save (and the server's refresh) can bring the new file's diagnostics.
  local pulls_before = count_since(0, 'textDocument/diagnostic:complete')
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, {
    'import subprocess',
    '',
    '',
    'def run(command):',
    '    return subprocess.call(command, shell=True)',
  })
  h.wait(15000, function()
    return count_since(0, 'textDocument/diagnostic:complete') > pulls_before
  end, 'the pull after the edit', function()
    return traffic
  end)
  h.emit('edited', snapshot(buf))

  local mark, refreshes_before = #traffic, refreshes
  vim.cmd('silent write')
  h.wait(30000, function()
    return has(buf, 'S602') and not has(buf, 'F401')
  end, 'S602 and no F401 after the save', function()
    return { codes = h.codes(buf), traffic = vim.list_slice(traffic, mark + 1) }
  end)
  h.emit('saved', snapshot(buf, {
    refreshes = refreshes - refreshes_before,
    traffic = vim.list_slice(traffic, mark + 1),
  }))

  -- The statusline score follows the save's review (its gate now fails).
  h.wait(15000, function()
    return require('tapps').status():find('fail$') ~= nil
  end, 'the statusline score of the saved file', function()
    return require('tapps').status()
  end)
  h.emit('status_after_save', { text = require('tapps').status() })

  -- A quick fix: bring an unused import back, then apply the F401 fix.
  vim.api.nvim_buf_set_lines(buf, 0, 0, false, { 'import os' })
  vim.cmd('silent write')
  h.wait(30000, function()
    return has(buf, 'F401')
  end, 'F401 after adding `import os`', function()
    return h.codes(buf)
  end)
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  local offered = {}
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      offered[#offered + 1] = { title = action.title, kind = action.kind }
      local title = action.title:lower()
      return action.kind == 'quickfix' and title:find('f401', 1, true) ~= nil and title:find('noqa', 1, true) == nil
    end,
  })
  h.wait(15000, function()
    return vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1] ~= 'import os'
  end, 'the quick fix to remove `import os`', function()
    return { offered = offered, first_line = vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1] }
  end)
  vim.cmd('silent write')
  h.wait(30000, function()
    return not has(buf, 'F401')
  end, 'F401 to go after the fix', function()
    return h.codes(buf)
  end)
  h.emit('fixed', snapshot(buf, { offered = offered, lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false) }))

  -- New settings through setup() reach the running server: a gate nothing fails.
  require('tapps').setup({ settings = { qualityThreshold = 0, minSecurity = 0 } })
  h.wait(30000, function()
    return not has(buf, 'TAPPS-GATE')
  end, 'TAPPS-GATE to go with qualityThreshold = 0', function()
    return h.codes(buf)
  end)
  h.emit('reconfigured', snapshot(buf, { settings = client.settings }))
end)
