// Starting, stopping and restarting the tapps-lsp server, and sending it
// workspace/executeCommand requests.
import { Disposable, EventEmitter, ExtensionContext, ProgressLocation, TextDocument } from 'vscode';
import {
    DiagnosticPullMode,
    ExecuteCommandRequest,
    LanguageClient,
    LanguageClientOptions,
    RevealOutputChannelOn,
    ServerOptions,
} from 'vscode-languageclient/node';
import { Logger } from './logging';
import {
    checkTappsLsp,
    describeInterpreter,
    Interpreter,
    pipInstallTappsLsp,
    resolveInterpreter,
    serverCommandLine,
    untrustedInterpreterReason,
} from './python';
import { boundConfigurationAnswers, SECTION, serverSettings } from './settings';
import { trackProgress, ReviewStatus } from './status';
import {
    executeCommand,
    getConfiguration,
    isWorkspaceTrusted,
    showErrorMessage,
    withProgress,
    workspaceFolderPaths,
} from './vscodeapi';

const CLIENT_ID = 'tapps';
const CLIENT_NAME = 'Tapps';

export class TappsServer implements Disposable {
    private client: LanguageClient | undefined;
    private clientDisposables: Disposable[] = [];
    // Start, stop and restart run one at a time, in the order they were asked for.
    private queue: Promise<void> = Promise.resolve();
    private readonly started = new EventEmitter<void>();
    /** Fires each time a server has started and answered initialize. */
    readonly onDidStart = this.started.event;

    constructor(
        private readonly context: ExtensionContext,
        private readonly log: Logger,
        private readonly status: ReviewStatus,
    ) {}

    restart(): Promise<void> {
        return this.enqueue(async () => {
            await this.stopClient();
            await this.startClient();
        });
    }

    stop(): Promise<void> {
        return this.enqueue(() => this.stopClient());
    }

    get isRunning(): boolean {
        return this.client?.isRunning() ?? false;
    }

    /** Sends workspace/executeCommand to the server; rejects when it is not running. */
    async executeCommand<T>(command: string, ...args: unknown[]): Promise<T> {
        // A command given during a (re)start goes to the server being started.
        await this.queue;
        const client = this.client;
        if (client === undefined || !client.isRunning()) {
            throw new Error('the tapps-lsp server is not running (see "Tapps: Show Output")');
        }
        return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args })) as T;
    }

    dispose(): void {
        void this.stop();
        this.started.dispose();
    }

    private enqueue(step: () => Promise<void>): Promise<void> {
        this.queue = this.queue.then(step).catch((error: unknown) => {
            this.log.error('Tapps server', error);
        });
        return this.queue;
    }

    // Every Python starts isolated (-I) in the extension's folder, never the workspace,
    // where a `tapps_lsp/` folder could otherwise stand in for the package
    // (pythonCommandLine in python.ts).
    private get cwd(): string {
        return this.context.extensionUri.fsPath;
    }

    private async startClient(): Promise<void> {
        const interpreter = await resolveInterpreter();
        const refusal = untrustedInterpreterReason(
            interpreter,
            { trusted: isWorkspaceTrusted(), folders: workspaceFolderPaths() },
            this.cwd,
        );
        if (refusal !== undefined) {
            // Trusting the workspace restarts the server (extension.ts).
            this.log.error(refusal.message);
            this.status.showError(refusal.short);
            return;
        }
        const check = await checkTappsLsp(interpreter, this.cwd, this.log);
        if (!check.ok) {
            this.log.error(`${describeInterpreter(interpreter)} cannot import tapps_lsp:\n${check.output}`);
            this.status.showError(`tapps-lsp is not installed in ${describeInterpreter(interpreter)}`);
            void this.offerInstall(interpreter);
            return;
        }
        const line = serverCommandLine(interpreter, this.cwd);
        const serverOptions: ServerOptions = {
            command: line.command,
            args: line.args,
            options: { cwd: line.cwd, env: line.env },
        };
        const client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, this.clientOptions());
        this.log.info(
            `Starting ${[line.command, ...line.args].join(' ')} in ${line.cwd} (interpreter from ${interpreter.source})`,
        );
        await client.start();
        // Replaces the language client's own progress handler, after start()
        // installed it, so that scans also mark the status item busy.
        this.clientDisposables = [trackProgress(client, this.status)];
        this.client = client;
        this.started.fire();
    }

    private clientOptions(): LanguageClientOptions {
        return {
            documentSelector: [
                { scheme: 'file', language: 'python' },
                { scheme: 'untitled', language: 'python' },
            ],
            outputChannel: this.log.channel,
            traceOutputChannel: this.log.channel,
            revealOutputChannelOn: RevealOutputChannelOn.Never,
            initializationOptions: serverSettings(),
            synchronize: { configurationSection: SECTION },
            middleware: {
                workspace: {
                    // The server takes these as the user's own settings: limits at most the
                    // user's, team-cache settings from the user only (settings.ts).
                    configuration: async (params, token, next) => {
                        const answers = await next(params, token);
                        return Array.isArray(answers) ? boundConfigurationAnswers(params.items, answers) : answers;
                    },
                    // A change sends no values (settings: null): the server asks again
                    // through workspace/configuration, answered above.
                    didChangeConfiguration: (_sections, next) => next(undefined),
                },
            },
            diagnosticPullOptions: {
                onChange: true,
                onSave: true,
                // While typing, pull only where the folder asks for "onType" reviews.
                filter: (document: TextDocument, mode: DiagnosticPullMode) =>
                    mode === DiagnosticPullMode.onType &&
                    getConfiguration(SECTION, document.uri).get<string>('run') !== 'onType',
            },
        };
    }

    private async stopClient(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        Disposable.from(...this.clientDisposables).dispose();
        this.clientDisposables = [];
        if (client === undefined) {
            return;
        }
        try {
            await client.stop();
        } catch (error) {
            this.log.error('Stopping the server', error);
        }
    }

    private async offerInstall(interpreter: Interpreter): Promise<void> {
        const install = 'Install with pip';
        const choose = 'Set Interpreter';
        const output = 'Show Output';
        const choice = await showErrorMessage(
            `Tapps: ${describeInterpreter(interpreter)} (from ${interpreter.source}) has no tapps-lsp. ` +
                'Install it into that interpreter, or set "tapps.interpreter" to a Python that has it.',
            install,
            choose,
            output,
        );
        if (choice === install) {
            const ok = await withProgress(
                { location: ProgressLocation.Notification, title: 'Tapps: installing tapps-lsp with pip' },
                () => pipInstallTappsLsp(interpreter, this.cwd, this.log),
            );
            if (ok) {
                await this.restart();
            } else {
                this.log.show();
                void showErrorMessage('Tapps: pip could not install tapps-lsp; its output is in the Tapps output.');
            }
        } else if (choice === choose) {
            await executeCommand('workbench.action.openSettings', 'tapps.interpreter');
        } else if (choice === output) {
            this.log.show();
        }
    }
}
