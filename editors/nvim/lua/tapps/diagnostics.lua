-- Pull diagnostics beyond what Neovim 0.11 does by itself.
--
-- Neovim 0.11 pulls textDocument/diagnostic on open and change, but not after a save, and it
-- neither advertises nor handles workspace/diagnostic/refresh. tapps-lsp reviews on save and
-- then sends that refresh, so we advertise it and re-pull on it. Neovim 0.11 also never asks
-- for workspace/diagnostic, so files reviewed by a workspace scan but never opened would show
-- nothing: we pull those after a scan. Everything lands in Neovim's own pull namespace of the
-- client, so a file has one set of diagnostics whichever way they arrived.
local M = {}

local DOCUMENT = 'textDocument/diagnostic'
local WORKSPACE = 'workspace/diagnostic'

--- Per client: resultIds of the workspace reports by URI (an unchanged file comes back as
--- "unchanged" instead of its full list), and whether a workspace pull is in flight.
--- @type table<integer, { ids: table<string, string>, pending: boolean }>
local workspace_state = {}

--- @return lsp.ClientCapabilities
function M.capabilities()
  return { workspace = { diagnostics = { refreshSupport = true } } }
end

--- @param client vim.lsp.Client
--- @param bufnr integer
function M.pull_document(client, bufnr)
  -- A nil handler means the client's default one, vim.lsp.diagnostic.on_diagnostic.
  client:request(DOCUMENT, { textDocument = vim.lsp.util.make_text_document_params(bufnr) }, nil, bufnr)
end

--- @param client vim.lsp.Client
--- @param report table a WorkspaceFullDocumentDiagnosticReport
local function apply_report(client, report)
  local ctx = { client_id = client.id, method = DOCUMENT, params = { textDocument = { uri = report.uri } } }
  vim.lsp.diagnostic.on_diagnostic(nil, report, ctx)
end

--- Ask the server for the diagnostics of every file it has reviewed, open or not.
--- tapps-lsp holds a workspace/diagnostic request open until it has something the client
--- has not seen, so at most one is in flight per client: it answers whatever the next
--- trigger would have asked.
--- @param client vim.lsp.Client
function M.pull_workspace(client)
  if not client:supports_method(WORKSPACE) then
    return
  end
  local state = workspace_state[client.id] or { ids = {}, pending = false }
  workspace_state[client.id] = state
  if state.pending then
    return
  end
  local previous = {}
  for uri, id in pairs(state.ids) do
    previous[#previous + 1] = { uri = uri, value = id }
  end
  state.pending = true
  client:request(WORKSPACE, { previousResultIds = previous }, function(err, result)
    state.pending = false
    local codes = vim.lsp.protocol.ErrorCodes
    if err and (err.code == codes.RequestCancelled or err.code == codes.ServerCancelled) then
      -- Shutting down or superseded: the next scan or refresh asks again.
      return
    elseif err then
      vim.notify('tapps: workspace diagnostics failed: ' .. err.message, vim.log.levels.WARN)
      return
    end
    for _, report in ipairs(result and result.items or {}) do
      state.ids[report.uri] = report.resultId
      if report.kind == 'full' then
        apply_report(client, report)
      end
    end
  end)
end

--- Server request workspace/diagnostic/refresh: re-pull every attached buffer, and the
--- workspace reports once a scan has been pulled (unchanged files cost only their id).
local function on_refresh(_, _, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  if client then
    for bufnr in pairs(client.attached_buffers) do
      if vim.api.nvim_buf_is_loaded(bufnr) then
        M.pull_document(client, bufnr)
      end
    end
    if workspace_state[client.id] then
      M.pull_workspace(client)
    end
  end
  return vim.NIL
end

--- @return table<string, function>
function M.handlers()
  return { ['workspace/diagnostic/refresh'] = on_refresh }
end

return M
