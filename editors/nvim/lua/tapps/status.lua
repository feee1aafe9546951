-- The current buffer's quality score for statuslines.
--
-- A statusline is redrawn constantly, so this never waits: it returns the cached text and,
-- when the buffer has had a review since, asks the server (tapps.reviewFile, a cache lookup
-- for unchanged content) in the background and redraws when the answer arrives. "Has had a
-- review" is counted by the buffer's DiagnosticChanged events: every review ends in new
-- diagnostics (a pull after an edit, a refresh after a save), while changedtick misses saves.
local M = {}

--- @type table<integer, { text: string, generation?: integer, pending?: integer }>
local cache = {}

--- @type table<integer, integer>
local generation = {}

--- @param review any the result of tapps.reviewFile
--- @return string
local function format(review)
  if type(review) ~= 'table' or type(review.overall) ~= 'number' then
    return ''
  end
  return string.format('%.1f/100 %s', review.overall, review.passed and 'pass' or 'fail')
end

--- Note that the buffer's diagnostics changed (DiagnosticChanged).
--- @param bufnr integer
function M.invalidate(bufnr)
  generation[bufnr] = (generation[bufnr] or 0) + 1
end

--- @param bufnr integer
function M.forget(bufnr)
  cache[bufnr] = nil
  generation[bufnr] = nil
end

--- @param bufnr? integer buffer, default the current one
--- @return string e.g. "76.5/100 pass", or '' when unknown
function M.get(bufnr)
  if bufnr == nil or bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  local client = vim.lsp.get_clients({ bufnr = bufnr, name = 'tapps' })[1]
  if not client then
    return ''
  end
  local entry = cache[bufnr] or { text = '' }
  cache[bufnr] = entry
  local wanted = generation[bufnr] or 0
  if entry.generation ~= wanted and entry.pending ~= wanted then
    entry.pending = wanted
    local command = { title = 'Score', command = 'tapps.reviewFile', arguments = { vim.uri_from_bufnr(bufnr) } }
    client:exec_cmd(command, { bufnr = bufnr }, function(err, review)
      if cache[bufnr] ~= entry then
        return
      end
      if entry.pending == wanted then
        entry.pending = nil
      end
      entry.generation = wanted
      entry.text = err and '' or format(review)
      vim.cmd.redrawstatus({ bang = true })
    end)
  end
  return entry.text
end

return M
