-- :TappsReviewAll over a workspace: progress begin/report/end (echoed in the message area),
-- diagnostics for files never opened, no duplicates when one of them is opened later,
-- :TappsReport in html (handed to vim.ui.open) and json (opened in a split), :TappsCacheStats,
-- a second scan answered from the cache and not echoed while fidget.nvim is loaded.
local here = vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2))
package.path = here .. '/?.lua;' .. package.path
local h = require('helpers')

local notified = h.record_messages()

local echoed = {}
local echo = vim.api.nvim_echo
vim.api.nvim_echo = function(chunks, history, opts)
  echoed[#echoed + 1] = chunks[1][1]
  return echo(chunks, history, opts)
end

local opened = {}
vim.ui.open = function(path)
  opened[#opened + 1] = path
  return nil, nil
end

local function notified_matching(pattern)
  for _, msg in ipairs(notified) do
    if msg:find(pattern) then
      return msg
    end
  end
end

h.run(function()
  local progress = h.record_progress()
  -- What require('tapps').progress() gives a statusline while the scan runs (the plugin's
  -- own LspProgress handler was registered first, so it has seen each event already).
  local lines = {}
  vim.api.nvim_create_autocmd('LspProgress', {
    callback = function()
      lines[#lines + 1] = require('tapps').progress()
    end,
  })
  vim.cmd.edit('app.py')
  local buf = vim.api.nvim_get_current_buf()
  h.attached_client(buf)
  local other = vim.fn.bufadd(vim.fs.joinpath(h.project, 'other.py'))

  -- Before any scan: nothing to report, nothing to cancel; both say so.
  vim.cmd('TappsReport')
  vim.cmd('TappsCancel')
  h.wait(15000, function()
    return notified_matching('exportReport failed') ~= nil and notified_matching('no review to cancel') ~= nil
  end, 'the answers of :TappsReport and :TappsCancel before a scan', function()
    return notified
  end)
  h.emit('before_scan', {
    report = notified_matching('exportReport failed'),
    cancel = notified_matching('no review to cancel'),
    opened = #opened,
  })

  local started = vim.uv.hrtime()
  vim.cmd('TappsReviewAll')
  h.wait(60000, function()
    return #progress > 0 and progress[#progress].kind == 'end'
  end, 'the end of the scan', function()
    return progress
  end)
  local scan_ms = (vim.uv.hrtime() - started) / 1e6
  h.wait(15000, function()
    return vim.list_contains(h.codes(other), 'S602')
  end, 'S602 in other.py (never opened)', function()
    return h.codes(other)
  end)
  h.emit('scan', {
    progress = progress,
    ms = scan_ms,
    echoed = echoed,
    lines = lines,
    idle_line = require('tapps').progress(),
    started = notified_matching('reviewing the workspace'),
    other_loaded = vim.api.nvim_buf_is_loaded(other),
    other = { codes = h.codes(other), duplicates = h.duplicates(other) },
    app = { codes = h.codes(buf), duplicates = h.duplicates(buf) },
  })

  vim.cmd('TappsReport')
  h.wait(15000, function()
    return #opened > 0
  end, 'the html report handed to vim.ui.open')
  local html = table.concat(vim.fn.readfile(opened[1], '', 5), '\n')
  vim.cmd('TappsReport json')
  h.wait(15000, function()
    return vim.bo.filetype == 'json'
  end, 'the json report in a split', function()
    return { name = vim.api.nvim_buf_get_name(0), notified = notified }
  end)
  local report = vim.json.decode(table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n'))
  h.emit('report', { html_path = opened[1], html_head = html, json_path = vim.api.nvim_buf_get_name(0), json = report })

  vim.cmd('TappsCacheStats')
  h.wait(15000, function()
    return notified_matching('^tapps cache:') ~= nil
  end, 'the cache statistics', function()
    return notified
  end)
  h.emit('cache', { message = notified_matching('^tapps cache:') })

  -- A second scan, all from the cache, with a progress UI of its own loaded: no echo.
  package.loaded.fidget = {}
  local echoes_before, seen_before = #echoed, #progress
  vim.cmd('TappsReviewAll')
  h.wait(60000, function()
    return #progress > seen_before and progress[#progress].kind == 'end'
  end, 'the end of the second scan', function()
    return vim.list_slice(progress, seen_before + 1)
  end)
  h.emit('rescan', {
    progress = vim.list_slice(progress, seen_before + 1),
    echoed = vim.list_slice(echoed, echoes_before + 1),
  })
  package.loaded.fidget = nil

  -- Opening a file the scan already reported: Neovim pulls it too; still one set.
  vim.cmd.edit(vim.fs.joinpath(h.project, 'other.py'))
  local pulled = false
  vim.api.nvim_create_autocmd('LspRequest', {
    callback = function(args)
      local r = args.data.request
      pulled = pulled or (r.method == 'textDocument/diagnostic' and r.type == 'complete' and r.bufnr == other)
    end,
  })
  h.wait(15000, function()
    return pulled
  end, 'the pull after opening other.py')
  h.emit('reopened', { bufnr_same = vim.api.nvim_get_current_buf() == other, codes = h.codes(other), duplicates = h.duplicates(other) })
end)
