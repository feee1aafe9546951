-- :checkhealth tapps, with the server attached (or with an interpreter that does not exist,
-- when TAPPS_TEST_PYTHON names one: then nothing is opened and the report must say so).
-- Set up without setup(): g:tapps_python and vim.lsp.enable('tapps') alone.
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
package.path = here .. '/?.lua;' .. package.path
local h = require('helpers')

h.run(function()
  if vim.fn.executable(h.python) == 1 then
    vim.cmd.edit('app.py')
    h.attached_client(vim.api.nvim_get_current_buf())
  end
  vim.cmd('checkhealth tapps')
  h.emit('health', { filetype = vim.bo.filetype, lines = vim.api.nvim_buf_get_lines(0, 0, -1, false) })
end, { plain = true })
