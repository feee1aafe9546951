// The client's palette commands. Their ids differ from the server's own
// commands (tapps.reviewWorkspace, ...), which the language client registers
// under the server's ids.
import { Disposable, Uri, ViewColumn } from 'vscode';
import { describe, Logger } from './logging';
import { TappsServer } from './server';
import { createWebviewPanel, readFile, registerCommand, showErrorMessage, showInformationMessage } from './vscodeapi';

export const COMMANDS = {
    reviewAll: 'tapps.client.reviewAll',
    cancelReview: 'tapps.client.cancelReview',
    showReport: 'tapps.client.showReport',
    restartServer: 'tapps.client.restartServer',
    clearCache: 'tapps.client.clearCache',
    showOutput: 'tapps.client.showOutput',
} as const;

interface TaskStatus {
    readonly taskId: string;
    readonly state: 'queued' | 'running' | 'done' | 'cancelled' | 'failed';
}

export function registerCommands(server: TappsServer, log: Logger): Disposable {
    // A failed command says why in a message and in the log, instead of failing silently.
    const register = (id: string, title: string, run: () => Promise<void>): Disposable =>
        registerCommand(id, async () => {
            try {
                await run();
            } catch (error) {
                log.error(title, error);
                void showErrorMessage(`Tapps: ${title} failed: ${describe(error)}`);
            }
        });

    return Disposable.from(
        register(COMMANDS.reviewAll, 'Review All', async () => {
            const { taskId } = await server.executeCommand<{ taskId: string }>('tapps.reviewWorkspace');
            log.info(`Workspace review started (task ${taskId})`);
        }),
        register(COMMANDS.cancelReview, 'Cancel Review', async () => {
            const tasks = await server.executeCommand<TaskStatus[]>('tapps.listTasks');
            const active = tasks.filter((task) => task.state === 'queued' || task.state === 'running');
            if (active.length === 0) {
                void showInformationMessage('Tapps: no review is running.');
                return;
            }
            await Promise.all(active.map((task) => server.executeCommand('tapps.cancelTask', task.taskId)));
            log.info(`Cancelled ${active.map((task) => task.taskId).join(', ')}`);
        }),
        register(COMMANDS.showReport, 'Show Report', async () => {
            const path = await server.executeCommand<string>('tapps.exportReport', { format: 'html' });
            const html = new TextDecoder().decode(await readFile(Uri.file(path)));
            const panel = createWebviewPanel('tapps.report', 'Tapps Report', ViewColumn.Active, {
                enableScripts: false,
            });
            panel.webview.html = html;
        }),
        register(COMMANDS.restartServer, 'Restart Server', () => server.restart()),
        register(COMMANDS.clearCache, 'Clear Cache', async () => {
            const { cleared } = await server.executeCommand<{ cleared: number }>('tapps.clearCache');
            void showInformationMessage(`Tapps: cleared ${cleared} cached results.`);
        }),
        register(COMMANDS.showOutput, 'Show Output', () => {
            log.show();
            return Promise.resolve();
        }),
    );
}
