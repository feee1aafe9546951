// Reading the `tapps.*` settings. The server reads its own settings per
// folder through workspace/configuration; the client reads the ones that
// decide how the server process is started, and bounds what it sends the
// server by the user's own settings (userBoundSettings).
import { cpus, homedir } from 'node:os';
import { ConfigurationChangeEvent, ConfigurationScope, WorkspaceConfiguration } from 'vscode';
import { configurationAt, firstWorkspaceFolder, getConfiguration } from './vscodeapi';

export const SECTION = 'tapps';

// Settings read when the server process starts: changing one restarts it.
// Every other setting reaches the running server as a configuration change.
export const RESTART_SETTINGS = ['tapps.interpreter', 'tapps.jobs', 'tapps.remoteCacheUrl'];

// The server takes whatever this client sends as the user's own settings, but VS Code
// answers with a folder's .vscode/settings.json merged in: a cloned repository writes
// that file. So, as the server does for pyproject.toml (tapps_lsp/config.py, kept equal
// by tests/vscode/test_client_user_bound.py):
// Limits that protect the machine: a workspace or folder value may lower them, never raise them.
export const MACHINE_LIMITS = ['maxFileSize', 'fileBudget', 'toolTimeout', 'jobs'];
// Keys taken from the user's own settings only (the team cache: a repository must not
// point the server at its own Redis).
export const USER_ONLY = ['remoteCacheUrl', 'remoteCacheWrite', 'remoteCacheTtlDays', 'remoteCacheBudgetMs'];

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

/** Window-level server settings, sent as initializationOptions (user-bound, see USER_ONLY). */
export function serverSettings(): Record<string, unknown> {
    const config = getConfiguration(SECTION);
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config)) {
        if (typeof value !== 'function' && !CLIENT_ONLY.has(key)) {
            out[key] = value as unknown;
        }
    }
    return userBoundSettings(out, (key) => config.inspect(key));
}

/** One item of a workspace/configuration request (`scopeUri`: the folder's URI). */
export interface ConfigurationItem {
    scopeUri?: string | null;
    section?: string | null;
}

/**
 * The answers to a workspace/configuration request with each `tapps` section
 * user-bound (userBoundSettings) for the item's folder; a request for part of the
 * section (`tapps.jobs`) gets null: the server only asks for the whole section.
 */
export function boundConfigurationAnswers(items: ConfigurationItem[], answers: unknown[]): unknown[] {
    return answers.map((answer, index) => {
        const item = items[index] ?? {};
        let config: WorkspaceConfiguration | undefined;
        const inspect: Inspect = (key) => (config ??= configurationAt(SECTION, item.scopeUri)).inspect(key);
        if (item.section?.startsWith(`${SECTION}.`)) {
            return null;
        }
        if (!isPlainObject(answer)) {
            return answer;
        }
        if (item.section === SECTION) {
            return userBoundSettings(answer, inspect);
        }
        const section = answer[SECTION];
        if ((item.section === undefined || item.section === null) && isPlainObject(section)) {
            return { ...answer, [SECTION]: userBoundSettings(section, inspect) };
        }
        return answer;
    });
}

/** What `WorkspaceConfiguration.inspect()` tells of one key that matters here. */
export interface SettingLayers {
    /** The user's own settings (VS Code's user and remote-user settings files). */
    globalValue?: unknown;
    /** The contributed default (package.json). */
    defaultValue?: unknown;
}

export type Inspect = (key: string) => SettingLayers | undefined;

/**
 * The `tapps` section as the server may take it, from `values` (what VS Code answers,
 * workspace and folder values merged in): each MACHINE_LIMITS key is at most the user's
 * own value (`inspect(key).globalValue`), else the default; each USER_ONLY key is the
 * user's own value or absent. The server's other spellings of these keys (a nested
 * `remoteCache: {url}` becomes `remoteCacheUrl` there) are treated alike and sent under
 * the key's own name. `cpuCount` is what `jobs: 0` (one worker per core) amounts to.
 */
export function userBoundSettings(
    values: Record<string, unknown>,
    inspect: Inspect,
    cpuCount: number = cpus().length,
): Record<string, unknown> {
    const out: Record<string, unknown> = { ...values };
    for (const key of [...MACHINE_LIMITS, ...USER_ONLY]) {
        const found = takeSpellings(out, key);
        const user = found.paths.map((path) => inspect(path)?.globalValue).find((v) => v !== undefined);
        const ceiling = user ?? inspect(key)?.defaultValue;
        const bounded = USER_ONLY.includes(key)
            ? user
            : boundedLimit(key, found.value, ceiling, user !== undefined, cpuCount);
        if (bounded !== undefined) {
            out[key] = bounded;
        }
    }
    return out;
}

/**
 * Removes every spelling of `key` from `values` that the server reads as `key` (the key
 * itself, and `prefix: {rest}` for `prefix + Rest` = `key`, as tapps_lsp/settings_merge.py's
 * flatten() does); returns their dotted paths and the value the server would have used.
 */
function takeSpellings(values: Record<string, unknown>, key: string): { paths: string[]; value: unknown } {
    const paths = [key];
    let value: unknown = undefined;
    for (const [name, entry] of Object.entries(values)) {
        if (name === key) {
            value = entry;
            delete values[name];
        } else if (isPlainObject(entry)) {
            const before = paths.length;
            const rest = { ...entry };
            for (const [sub, subValue] of Object.entries(entry)) {
                if (spellsKey(name, sub, key)) {
                    paths.push(`${name}.${sub}`);
                    value = subValue;
                    delete rest[sub];
                }
            }
            if (paths.length > before) {
                values[name] = rest;
            }
            if (paths.length > before && Object.keys(rest).length === 0) {
                delete values[name];
            }
        }
    }
    return { paths, value };
}

/** Whether the server reads `{name: {sub: ...}}` as `key` (compared loosely, to be safe). */
function spellsKey(name: string, sub: string, key: string): boolean {
    const flattened = name + sub.charAt(0).toUpperCase() + sub.slice(1);
    return flattened === key || (name + sub).toLowerCase() === key.toLowerCase();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A machine limit as sent: `effective` (VS Code's merged value) when it is not above
 * `ceiling` (the user's value, else the default), else the ceiling. Only the user's own
 * value is sent when it cannot be compared (the server reports a bad one).
 */
function boundedLimit(
    key: string,
    effective: unknown,
    ceiling: unknown,
    fromUser: boolean,
    cpuCount: number,
): unknown {
    const amount = (value: number): number => (key === 'jobs' && value === 0 ? cpuCount : value);
    if (isNumber(effective) && isNumber(ceiling)) {
        return amount(effective) <= amount(ceiling) ? effective : ceiling;
    }
    return fromUser ? ceiling : undefined;
}

function isNumber(value: unknown): value is number {
    return typeof value === 'number' && Number.isFinite(value);
}
