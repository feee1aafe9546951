-- The user commands' work: each runs one tapps.* command on the server (workspace/
-- executeCommand) and reports through vim.notify. `on_done` gets the server's result, for
-- Lua callers and tests.
local M = {}

local ERROR = vim.log.levels.ERROR
local INFO = vim.log.levels.INFO

M.report_formats = { 'html', 'markdown', 'json', 'sarif' }

--- The tapps client of the current buffer, else any tapps client.
--- @return vim.lsp.Client?
local function find_client()
  return vim.lsp.get_clients({ bufnr = 0, name = 'tapps' })[1] or vim.lsp.get_clients({ name = 'tapps' })[1]
end

--- @param command string
--- @param arguments? any[]
--- @param on_result fun(result: any, client: vim.lsp.Client)
local function execute(command, arguments, on_result)
  local client = find_client()
  if not client then
    vim.notify('tapps: the server is not running; open a Python file first', ERROR)
    return
  end
  client:exec_cmd({ title = command, command = command, arguments = arguments }, {}, function(err, result)
    if err then
      vim.notify(('tapps: %s failed: %s'):format(command, err.message), ERROR)
      return
    end
    on_result(result, client)
  end)
end

--- @param on_done? fun(result: { taskId: string })
function M.review_all(on_done)
  execute('tapps.reviewWorkspace', nil, function(result)
    vim.notify(('tapps: reviewing the workspace (task %s)'):format(result.taskId), INFO)
    if on_done then
      on_done(result)
    end
  end)
end

--- Cancel every queued or running task of the server.
--- @param on_done? fun(cancelled: string[]) ids of the tasks the server cancelled
function M.cancel(on_done)
  execute('tapps.listTasks', nil, function(tasks, client)
    local waiting, cancelled = 0, {}
    local function finish()
      vim.notify(
        #cancelled > 0 and 'tapps: cancelled ' .. table.concat(cancelled, ', ') or 'tapps: no review to cancel',
        INFO
      )
      if on_done then
        on_done(cancelled)
      end
    end
    for _, task in ipairs(tasks or {}) do
      if task.state == 'queued' or task.state == 'running' then
        waiting = waiting + 1
        local command = { title = 'Cancel', command = 'tapps.cancelTask', arguments = { task.taskId } }
        client:exec_cmd(command, {}, function(err, result)
          if not err and result and result.cancelled then
            cancelled[#cancelled + 1] = task.taskId
          end
          waiting = waiting - 1
          if waiting == 0 then
            finish()
          end
        end)
      end
    end
    if waiting == 0 then
      finish()
    end
  end)
end

--- Write the report of the last workspace review and open it: html in the system's viewer
--- (vim.ui.open), the text formats in a split.
--- @param format? string one of M.report_formats, default 'html'
--- @param on_done? fun(path: string)
function M.report(format, on_done)
  format = (format and format ~= '') and format or 'html'
  if not vim.list_contains(M.report_formats, format) then
    vim.notify('tapps: report format must be one of ' .. table.concat(M.report_formats, ', '), ERROR)
    return
  end
  execute('tapps.exportReport', { { format = format } }, function(path)
    if format == 'html' then
      local _, err = vim.ui.open(path)
      if err then
        vim.notify(('tapps: report written to %s, but it could not be opened: %s'):format(path, err), ERROR)
      end
    else
      vim.cmd.split(vim.fn.fnameescape(path))
    end
    if on_done then
      on_done(path)
    end
  end)
end

--- @param bytes number
--- @return string
local function human(bytes)
  local units = { 'B', 'KiB', 'MiB', 'GiB' }
  local i = 1
  while bytes >= 1024 and i < #units do
    bytes, i = bytes / 1024, i + 1
  end
  return i == 1 and ('%d B'):format(bytes) or ('%.1f %s'):format(bytes, units[i])
end

--- @param on_done? fun(stats: table)
function M.cache_stats(on_done)
  execute('tapps.cacheStats', nil, function(stats)
    local text = ('tapps cache: %d hits, %d misses (hit rate %.0f%%), %d entries, %s'):format(
      stats.hits,
      stats.misses,
      (stats.hitRate or 0) * 100,
      stats.entries,
      human(stats.bytes or 0)
    )
    local remote = stats.remote
    if type(remote) == 'table' and remote.enabled then
      -- The team cache (docs/team-cache.md): its counters and circuit breaker.
      text = text
        .. ('\nteam cache %s: %d hits, %d misses, %d rejected, %d errors, breaker %s'):format(
          remote.url or '?',
          remote.hits or 0,
          remote.misses or 0,
          remote.rejected or 0,
          remote.errors or 0,
          remote.breaker or '?'
        )
    end
    vim.notify(text, INFO)
    if on_done then
      on_done(stats)
    end
  end)
end

return M
