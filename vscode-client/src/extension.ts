// Wires the modules of src/common together; the behaviour lives there.
import { ExtensionContext } from 'vscode';
import { registerCommands } from './common/commands';
import { createLogger } from './common/logging';
import { onDidChangePythonInterpreter } from './common/python';
import { TappsServer } from './common/server';
import { interpreterSetting, needsRestart } from './common/settings';
import { CacheStats, FileReview, followActiveFile, ReviewStatus } from './common/status';
import { onDidChangeConfiguration, onDidGrantWorkspaceTrust } from './common/vscodeapi';

let server: TappsServer | undefined;

export async function activate(context: ExtensionContext): Promise<void> {
    const log = createLogger();
    const status = new ReviewStatus();
    server = new TappsServer(context, log, status);
    const running = server;
    context.subscriptions.push(
        log,
        status,
        running,
        registerCommands(running, log),
        followActiveFile(
            status,
            (uri) =>
                running.isRunning
                    ? running.executeCommand<FileReview>('tapps.reviewFile', uri.toString())
                    : Promise.resolve(undefined),
            running.onDidStart,
            () =>
                running.isRunning
                    ? running.executeCommand<CacheStats>('tapps.cacheStats')
                    : Promise.resolve(undefined),
        ),
        onDidChangeConfiguration((event) => {
            if (needsRestart(event)) {
                void running.restart();
            }
        }),
        // Trust unlocks the workspace's own tapps.interpreter.
        onDidGrantWorkspaceTrust(() => void running.restart()),
    );
    const pythonChanged = await onDidChangePythonInterpreter(() => {
        if (interpreterSetting().length === 0) {
            void running.restart();
        }
    });
    if (pythonChanged !== undefined) {
        context.subscriptions.push(pythonChanged);
    }
    await running.restart();
}

export async function deactivate(): Promise<void> {
    await server?.stop();
}
