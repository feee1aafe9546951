// Stands in for src/common/vscodeapi.ts in the unit tests (build-tests.mjs swaps it in for
// every import of './vscodeapi' from src/): the window a test describes in `stub`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigurationScope, WorkspaceConfiguration } from 'vscode';

// The contributed defaults, as VS Code's inspect() gives them (defaultValue): package.json's,
// read from the extension's folder (this bundle runs from out/test/).
const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, { default?: unknown }> } };
};
const DEFAULTS = new Map(
    Object.entries(manifest.contributes.configuration.properties).map(([key, property]) => [
        key.replace(/^tapps\./, ''),
        property.default,
    ]),
);

interface StubExtension {
    isActive: boolean;
    activate(): Thenable<unknown>;
    exports: unknown;
}

/** What the stubbed VS Code answers; tests set it, `reset()` restores an empty window. */
export const stub = {
    /** `tapps.*` settings by key, e.g. { interpreter: ['python3'] }. */
    settings: {} as Record<string, unknown>,
    /** What the user's own settings (not a workspace's) hold, by dotted key: inspect().globalValue. */
    user: {} as Record<string, unknown>,
    folders: [] as string[],
    trusted: true,
    extensions: {} as Record<string, StubExtension>,
    /** The scope URIs configurationAt() was called with. */
    scopes: [] as (string | undefined)[],
    reset(): void {
        stub.scopes = [];
        stub.settings = {};
        stub.user = {};
        stub.folders = [];
        stub.trusted = true;
        stub.extensions = {};
    },
};

// The scope is ignored: a test describes one folder's settings.
export function getConfiguration(section: string, ...scope: [ConfigurationScope?]): WorkspaceConfiguration {
    void scope;
    const values = section === 'tapps' ? stub.settings : {};
    const config: WorkspaceConfiguration = {
        ...values,
        get: <T>(key: string, fallback?: T): T | undefined => (key in values ? (values[key] as T) : fallback),
        has: (key: string) => key in values,
        inspect: <T>(key: string) => {
            if (section !== 'tapps' || !(key in stub.user || DEFAULTS.has(key))) {
                return undefined;
            }
            return { key, globalValue: stub.user[key] as T | undefined, defaultValue: DEFAULTS.get(key) as T | undefined };
        },
        update: () => Promise.resolve(),
    };
    return config;
}

/** getConfiguration() for a URI string; `stub.scopes` records the URIs asked for. */
export function configurationAt(section: string, scopeUri?: string | null): WorkspaceConfiguration {
    stub.scopes.push(scopeUri ?? undefined);
    return getConfiguration(section);
}

export function firstWorkspaceFolder(): string | undefined {
    return stub.folders[0];
}

export function workspaceFolderPaths(): string[] {
    return [...stub.folders];
}

export function isWorkspaceTrusted(): boolean {
    return stub.trusted;
}

export function getExtension<T>(id: string): { isActive: boolean; activate(): Thenable<T>; exports: T } | undefined {
    return stub.extensions[id] as { isActive: boolean; activate(): Thenable<T>; exports: T } | undefined;
}
