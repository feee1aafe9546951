// Stands in for src/common/vscodeapi.ts in the unit tests (build-tests.mjs swaps it in for
// every import of './vscodeapi' from src/): the window a test describes in `stub`.
import type { ConfigurationScope, WorkspaceConfiguration } from 'vscode';

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
    reset(): void {
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
        inspect: <T>(key: string) =>
            section === 'tapps' && key in stub.user ? { key, globalValue: stub.user[key] as T } : undefined,
        update: () => Promise.resolve(),
    };
    return config;
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
