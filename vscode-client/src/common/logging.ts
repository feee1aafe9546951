// One log channel, "Tapps", shared by the client's own messages and the
// language client (server stderr and, with tapps.trace.server, the LSP trace).
import { Disposable, LogOutputChannel } from 'vscode';
import { createLogOutputChannel } from './vscodeapi';

const OUTPUT_NAME = 'Tapps';

export interface Logger extends Disposable {
    readonly channel: LogOutputChannel;
    info(message: string): void;
    error(message: string, cause?: unknown): void;
    show(): void;
}

export function createLogger(): Logger {
    const channel = createLogOutputChannel(OUTPUT_NAME);
    return {
        channel,
        info: (message) => channel.info(message),
        error: (message, cause) => channel.error(cause === undefined ? message : `${message}: ${describe(cause)}`),
        show: () => channel.show(true),
        dispose: () => channel.dispose(),
    };
}

export function describe(cause: unknown): string {
    if (cause instanceof Error) {
        return cause.message;
    }
    return String(cause);
}
