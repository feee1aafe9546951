-- A project that plants `tapps_lsp/` and `multiprocessing/` (test_code_execution.py writes
-- them; each leaves a marker file when imported), opened in Neovim started in that project:
-- the server the plugin starts, its interactive worker (a change, then a save), its scan
-- workers (:TappsReviewAll) and :checkhealth tapps must all run the installed package.
-- Prints the command line the plugin built, the diagnostics and the health report.
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
package.path = here .. '/?.lua;' .. package.path
local h = require('helpers')

h.run(function()
  local progress = h.record_progress()
  vim.cmd.edit('app.py')
  local buf = vim.api.nvim_get_current_buf()
  local client = h.attached_client(buf)
  h.emit('config', {
    cmd = client.config.cmd,
    cmd_cwd = client.config.cmd_cwd,
    cmd_env = client.config.cmd_env,
    cwd = vim.fn.getcwd(),
  })
  h.wait(30000, function()
    return vim.list_contains(h.codes(buf), 'F401')
  end, 'F401 in app.py', function()
    return h.codes(buf)
  end)

  -- New content, so the save is reviewed by the interactive worker (not the cache).
  vim.api.nvim_buf_set_lines(buf, -1, -1, false, { '', '', 'def more(x):', '    return x * 2' })
  vim.cmd('silent write')
  vim.cmd('TappsReviewAll')
  h.wait(60000, function()
    return #progress > 0 and progress[#progress].kind == 'end'
  end, 'the end of the scan', function()
    return progress
  end)
  local other = vim.fn.bufadd(vim.fs.joinpath(h.project, 'other.py'))
  h.wait(15000, function()
    return vim.list_contains(h.codes(other), 'S602')
  end, 'S602 in other.py (reviewed by a scan worker)', function()
    return h.codes(other)
  end)
  h.emit('reviewed', { app = h.codes(buf), other = h.codes(other), progress = progress })

  vim.cmd('checkhealth tapps')
  h.emit('health', { filetype = vim.bo.filetype, lines = vim.api.nvim_buf_get_lines(0, 0, -1, false) })
end)
