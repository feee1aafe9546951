-- :TappsCancel while a scan runs: the scan ends early, the task says cancelled. The plugin
-- is loaded late, as lazy.nvim with `ft` does: setup() must still define the commands.
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
package.path = here .. '/?.lua;' .. package.path
local h = require('helpers')

local notified = h.record_messages()

h.run(function()
  local progress = h.record_progress()
  vim.cmd.edit('app.py')
  local buf = vim.api.nvim_get_current_buf()
  local client = h.attached_client(buf)

  vim.cmd('TappsReviewAll')
  -- Cancel once some files are done, so the scan is really under way.
  h.wait(60000, function()
    local last = progress[#progress]
    if not last or last.kind ~= 'report' then
      return false
    end
    local done = tonumber((last.message or ''):match('^(%d+)/'))
    return done ~= nil and done > 0
  end, 'a progress report with files done', function()
    return progress
  end)
  local cancelled_at = vim.uv.hrtime() / 1e6
  vim.cmd('TappsCancel')
  h.wait(15000, function()
    return progress[#progress].kind == 'end'
  end, 'the end of the cancelled scan', function()
    return progress
  end)
  local ended_at = progress[#progress].at_ms
  h.wait(5000, function()
    for _, msg in ipairs(notified) do
      if msg:find('^tapps: cancelled') then
        return true
      end
    end
    return false
  end, 'the cancel confirmation', function()
    return notified
  end)
  local tasks = client:request_sync('workspace/executeCommand', { command = 'tapps.listTasks' }, 5000, buf)
  h.emit('cancel', {
    progress = progress,
    cancel_to_end_ms = ended_at - cancelled_at,
    notified = notified,
    tasks = tasks and tasks.result,
  })
end, { late = true })
