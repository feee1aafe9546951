// The parts of the vscode API this extension calls, in one module so that a
// unit test can stub them without a running VS Code.
import {
    commands,
    ConfigurationScope,
    Disposable,
    extensions,
    languages,
    LogOutputChannel,
    Uri,
    window,
    workspace,
    WorkspaceConfiguration,
} from 'vscode';

export function getConfiguration(section: string, scope?: ConfigurationScope): WorkspaceConfiguration {
    return workspace.getConfiguration(section, scope);
}

/** The settings of `section` for the resource named by a URI string (the window's without one). */
export function configurationAt(section: string, scopeUri?: string | null): WorkspaceConfiguration {
    return workspace.getConfiguration(section, scopeUri ? Uri.parse(scopeUri) : undefined);
}

export function registerCommand(id: string, handler: (...args: unknown[]) => unknown): Disposable {
    return commands.registerCommand(id, handler);
}

export function executeCommand<T = unknown>(id: string, ...args: unknown[]): Thenable<T> {
    return commands.executeCommand<T>(id, ...args);
}

export function createLogOutputChannel(name: string): LogOutputChannel {
    return window.createOutputChannel(name, { log: true });
}

export function firstWorkspaceFolder(): string | undefined {
    return workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** The workspace folders' file-system paths (none when no folder is open). */
export function workspaceFolderPaths(): string[] {
    return (workspace.workspaceFolders ?? []).map((folder) => folder.uri.fsPath);
}

/** Whether the user trusts the workspace (false in Restricted Mode). */
export function isWorkspaceTrusted(): boolean {
    return workspace.isTrusted;
}

export function activeDocumentUri(): Uri | undefined {
    return window.activeTextEditor?.document.uri;
}

export function activeLanguageId(): string | undefined {
    return window.activeTextEditor?.document.languageId;
}

export function getExtension<T>(id: string): { isActive: boolean; activate(): Thenable<T>; exports: T } | undefined {
    return extensions.getExtension<T>(id);
}

export const onDidChangeConfiguration = workspace.onDidChangeConfiguration;
export const onDidGrantWorkspaceTrust = workspace.onDidGrantWorkspaceTrust;
export const onDidChangeActiveTextEditor = window.onDidChangeActiveTextEditor;
export const onDidChangeDiagnostics = languages.onDidChangeDiagnostics;
export const createLanguageStatusItem = languages.createLanguageStatusItem;
export const showErrorMessage = window.showErrorMessage;
export const showInformationMessage = window.showInformationMessage;
export const withProgress = window.withProgress;
export const createWebviewPanel = window.createWebviewPanel;
export const readFile = (uri: Uri): Thenable<Uint8Array> => workspace.fs.readFile(uri);
