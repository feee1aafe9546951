// Reading the `tapps.*` settings. The server reads its own settings per
// folder through workspace/configuration; the client only needs the ones
// that decide how the server process is started.
import { homedir } from 'node:os';
import { ConfigurationChangeEvent, ConfigurationScope } from 'vscode';
import { firstWorkspaceFolder, getConfiguration } from './vscodeapi';

export const SECTION = 'tapps';

// Settings read when the server process starts: changing one restarts it.
// Every other setting reaches the running server as a configuration change.
export const RESTART_SETTINGS = ['tapps.interpreter', 'tapps.jobs'];

// Client-side keys the server has no use for.
const CLIENT_ONLY = new Set(['interpreter', 'trace']);

export function needsRestart(event: ConfigurationChangeEvent): boolean {
    return RESTART_SETTINGS.some((key) => event.affectsConfiguration(key));
}

/** The interpreter command line from `tapps.interpreter` (variables resolved), or [] when unset. */
export function interpreterSetting(scope?: ConfigurationScope): string[] {
    const value = getConfiguration(SECTION, scope).get<unknown>('interpreter');
    if (!Array.isArray(value)) {
        return [];
    }
    return value
        .filter((part): part is string => typeof part === 'string' && part.length > 0)
        .map((part) => resolveVariables(part, firstWorkspaceFolder()));
}

/** `~`, `${userHome}`, `${workspaceFolder}` and `${env:NAME}`, as in VS Code's own path settings. */
export function resolveVariables(value: string, workspaceFolder: string | undefined): string {
    return value
        .replace(/^~(?=$|\/)/, homedir())
        .replace(/\$\{userHome\}/g, homedir())
        .replace(/\$\{workspaceFolder\}/g, workspaceFolder ?? '${workspaceFolder}')
        .replace(/\$\{env:([^}]+)\}/g, (_match, name: string) => process.env[name] ?? '');
}

/** Window-level server settings, sent as initializationOptions. */
export function serverSettings(): Record<string, unknown> {
    const config = getConfiguration(SECTION);
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config)) {
        if (typeof value !== 'function' && !CLIENT_ONLY.has(key)) {
            out[key] = value as unknown;
        }
    }
    // The team cache (docs/team-cache.md) only from the user's own settings: a workspace's
    // .vscode/settings.json must not point the server at a Redis of its choosing.
    delete out.remoteCache;
    const remote: Record<string, unknown> = {};
    for (const key of REMOTE_CACHE_KEYS) {
        const value = config.inspect(`remoteCache.${key}`)?.globalValue;
        if (value !== undefined) {
            remote[key] = value;
        }
    }
    if (Object.keys(remote).length > 0) {
        out.remoteCache = remote;
    }
    return out;
}

const REMOTE_CACHE_KEYS = ['url', 'write', 'ttlDays', 'budgetMs'];
