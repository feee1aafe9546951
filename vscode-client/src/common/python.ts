// Which Python runs the server: `tapps.interpreter`, else the Python
// extension's active interpreter, else `python3`; and whether it has tapps-lsp.
import { execFile } from 'node:child_process';
import { Disposable, Event, Uri } from 'vscode';
import { Logger } from './logging';
import { interpreterSetting } from './settings';
import { getExtension } from './vscodeapi';

const PYTHON_EXTENSION = 'ms-python.python';
const CHECK_TIMEOUT_MS = 20_000;
const INSTALL_TIMEOUT_MS = 300_000;

export interface Interpreter {
    /** The executable and the arguments that precede `-m tapps_lsp`. */
    readonly command: string;
    readonly args: readonly string[];
    readonly source: 'tapps.interpreter' | 'Python extension' | 'default';
}

// The slice of the Python extension's API that we use (its `environments` API).
interface PythonEnvironmentsApi {
    environments: {
        getActiveEnvironmentPath(resource?: Uri): { path: string };
        resolveEnvironment(path: string): Promise<{ executable: { uri?: Uri } } | undefined>;
        onDidChangeActiveEnvironmentPath: Event<unknown>;
    };
}

async function pythonExtensionApi(): Promise<PythonEnvironmentsApi | undefined> {
    const extension = getExtension<PythonEnvironmentsApi>(PYTHON_EXTENSION);
    if (extension === undefined) {
        return undefined;
    }
    try {
        const api = extension.isActive ? extension.exports : await extension.activate();
        return api?.environments === undefined ? undefined : api;
    } catch {
        // A Python extension that fails to activate is as good as none: the
        // fallback interpreter is used, and the log names it.
        return undefined;
    }
}

export async function resolveInterpreter(resource?: Uri): Promise<Interpreter> {
    const configured = interpreterSetting(resource);
    if (configured.length > 0) {
        return { command: configured[0], args: configured.slice(1), source: 'tapps.interpreter' };
    }
    const executable = await pythonExtensionInterpreter(resource);
    if (executable) {
        return { command: executable, args: [], source: 'Python extension' };
    }
    return { command: 'python3', args: [], source: 'default' };
}

async function pythonExtensionInterpreter(resource?: Uri): Promise<string | undefined> {
    const api = await pythonExtensionApi();
    if (api === undefined) {
        return undefined;
    }
    try {
        const active = api.environments.getActiveEnvironmentPath(resource);
        const env = await api.environments.resolveEnvironment(active.path);
        return env?.executable.uri?.fsPath;
    } catch {
        // An environment it cannot resolve (deleted venv): fall back, as with no extension.
        return undefined;
    }
}

/** Fires when the Python extension's active interpreter changes (if it is installed). */
export async function onDidChangePythonInterpreter(listener: () => void): Promise<Disposable | undefined> {
    const api = await pythonExtensionApi();
    return api?.environments.onDidChangeActiveEnvironmentPath(() => listener());
}

export function describeInterpreter(interpreter: Interpreter): string {
    return [interpreter.command, ...interpreter.args].join(' ');
}

interface RunResult {
    readonly ok: boolean;
    readonly output: string;
}

// Argument list, no shell, explicit cwd (never the workspace: `python -c`
// puts the cwd first on sys.path, where a workspace folder could shadow
// tapps_lsp), timeout.
function run(interpreter: Interpreter, args: string[], cwd: string, timeout: number): Promise<RunResult> {
    return new Promise((resolve) => {
        execFile(
            interpreter.command,
            [...interpreter.args, ...args],
            { cwd, timeout, env: { ...process.env, PYTHONSAFEPATH: '1' } },
            (error, stdout, stderr) => {
                const output = `${stdout}${stderr}`.trim();
                resolve({ ok: error === null, output: error === null ? output : `${error.message}\n${output}`.trim() });
            },
        );
    });
}

/** Whether `python -c "import tapps_lsp"` works; the output explains a failure. */
export async function checkTappsLsp(interpreter: Interpreter, cwd: string, log: Logger): Promise<RunResult> {
    log.info(`Checking ${describeInterpreter(interpreter)} -c "import tapps_lsp" (from ${interpreter.source})`);
    return run(interpreter, ['-c', 'import tapps_lsp'], cwd, CHECK_TIMEOUT_MS);
}

/** `python -m pip install tapps-lsp` into the given interpreter; output goes to the log. */
export async function pipInstallTappsLsp(interpreter: Interpreter, cwd: string, log: Logger): Promise<boolean> {
    log.info(`Running ${describeInterpreter(interpreter)} -m pip install tapps-lsp`);
    const result = await run(interpreter, ['-m', 'pip', 'install', 'tapps-lsp'], cwd, INSTALL_TIMEOUT_MS);
    log.info(result.output);
    return result.ok;
}
