-- User commands and event wiring of tapps-lsp. The server itself starts through
-- `require('tapps').setup()` or `vim.lsp.enable('tapps')` (lsp/tapps.lua).
if vim.g.loaded_tapps then
  return
end
vim.g.loaded_tapps = true

local function command(name, fn, opts)
  vim.api.nvim_create_user_command(name, fn, vim.tbl_extend('keep', opts or {}, { nargs = 0 }))
end

command('TappsReviewAll', function()
  require('tapps.commands').review_all()
end, { desc = 'tapps: review every Python file of the workspace in the background' })

command('TappsCancel', function()
  require('tapps.commands').cancel()
end, { desc = 'tapps: cancel the running workspace review' })

command('TappsReport', function(args)
  require('tapps.commands').report(args.args)
end, {
  nargs = '?',
  complete = function()
    return require('tapps.commands').report_formats
  end,
  desc = 'tapps: write the report of the last workspace review and open it (default html)',
})

command('TappsCacheStats', function()
  require('tapps.commands').cache_stats()
end, { desc = "tapps: show the result cache's hits, misses and size" })

local group = vim.api.nvim_create_augroup('tapps', { clear = true })

vim.api.nvim_create_autocmd('LspProgress', {
  group = group,
  callback = function(args)
    require('tapps.progress').on_progress(args)
  end,
})

vim.api.nvim_create_autocmd('DiagnosticChanged', {
  group = group,
  callback = function(args)
    require('tapps.status').invalidate(args.buf)
  end,
})

vim.api.nvim_create_autocmd({ 'LspDetach', 'BufWipeout' }, {
  group = group,
  callback = function(args)
    require('tapps.status').forget(args.buf)
  end,
})
