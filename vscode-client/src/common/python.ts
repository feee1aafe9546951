// Which Python runs the server: `tapps.interpreter`, else the Python
// extension's active interpreter, else `python3`; and whether it has tapps-lsp.
import { execFile } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, relative, resolve, sep } from 'node:path';
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

/** A process to start: what node's child_process (and the language client) is given. */
export interface CommandLine {
    readonly command: string;
    readonly args: string[];
    readonly cwd: string;
    readonly env: NodeJS.ProcessEnv;
}

/**
 * How every Python of this extension starts (the server, the probe, pip): `-I` (isolated:
 * neither the current folder nor a script's folder on sys.path, no PYTHON* variables, no
 * user site-packages; the server passes it on to its worker processes), in `cwd` (the
 * extension's own folder, never a workspace), with PYTHONSAFEPATH=1 for any other Python it
 * starts. Without them `python -m tapps_lsp` run from a cloned repository would import that
 * repository's `tapps_lsp/` instead of the installed package.
 */
export function pythonCommandLine(interpreter: Interpreter, args: readonly string[], cwd: string): CommandLine {
    return {
        command: interpreter.command,
        args: [...interpreter.args, '-I', ...args],
        cwd,
        env: { ...process.env, PYTHONSAFEPATH: '1' },
    };
}

/** The language server's command line. */
export function serverCommandLine(interpreter: Interpreter, cwd: string): CommandLine {
    return pythonCommandLine(interpreter, ['-m', 'tapps_lsp'], cwd);
}

/** Why an interpreter was refused: for the log, and in a few words for the status item. */
export interface Refusal {
    readonly message: string;
    readonly short: string;
}

/** What the trust check needs to know about the window. */
export interface TrustContext {
    readonly trusted: boolean;
    /** The workspace folders' file-system paths. */
    readonly folders: readonly string[];
}

/**
 * Why `interpreter` must not run while the workspace is untrusted, or undefined when it may.
 *
 * In Restricted Mode VS Code ignores the workspace's own `tapps.interpreter`, but a
 * user-level value (or the Python extension's choice) may still name a program inside the
 * workspace, e.g. `${workspaceFolder}/.venv/bin/python`: running it runs the repository's
 * code. So the executable (found on PATH the way the process start finds it, from `cwd`) and
 * every argument that is a path are refused when they lie inside a workspace folder, as
 * written or once symbolic links are resolved (a venv's `bin/python` links outside, yet
 * runs the venv's own site-packages).
 */
export function untrustedInterpreterReason(
    interpreter: Interpreter,
    context: TrustContext,
    cwd: string,
): Refusal | undefined {
    if (context.trusted) {
        return undefined;
    }
    const executable = findExecutable(interpreter.command, cwd) ?? resolve(cwd, interpreter.command);
    const paths = [executable, ...interpreter.args.filter((arg) => arg.includes(sep)).map((arg) => resolve(cwd, arg))];
    for (const path of paths) {
        const folder = context.folders.find((candidate) => isInsideFolder(path, candidate));
        if (folder !== undefined) {
            return {
                message:
                    `${describeInterpreter(interpreter)} (from ${interpreter.source}) was not run: ${path} is ` +
                    `inside the workspace folder ${folder}, and this workspace is not trusted (Restricted Mode). ` +
                    'Trust the workspace, or set "tapps.interpreter" in your user settings to a Python outside it.',
                short: `not run: ${path} is inside the untrusted workspace`,
            };
        }
    }
    return undefined;
}

/** Whether `path` (as written, or with links resolved) is `folder` or lies under it. */
export function isInsideFolder(path: string, folder: string): boolean {
    const paths = new Set([resolve(path), realpathOrSelf(path)]);
    const folders = new Set([resolve(folder), realpathOrSelf(folder)]);
    for (const candidate of paths) {
        for (const base of folders) {
            const rel = relative(base, candidate);
            if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
                return true;
            }
        }
    }
    return false;
}

function realpathOrSelf(path: string): string {
    try {
        return realpathSync(path);
    } catch {
        return resolve(path); // missing: judged as written
    }
}

/**
 * The file a process start runs for `command`: a name without a slash is looked up on PATH
 * (relative PATH entries count from `cwd`, as in the started process); undefined when not
 * found.
 */
export function findExecutable(command: string, cwd: string, path = process.env.PATH ?? ''): string | undefined {
    if (command.includes(sep)) {
        return resolve(cwd, command);
    }
    for (const entry of path.split(delimiter)) {
        const candidate = join(resolve(cwd, entry), command);
        try {
            if (statSync(candidate).isFile()) {
                return candidate;
            }
        } catch {
            // not in this entry
        }
    }
    return undefined;
}

interface RunResult {
    readonly ok: boolean;
    readonly output: string;
}

// Argument list, no shell, the extension's folder as cwd, isolated Python, timeout.
function run(interpreter: Interpreter, args: string[], cwd: string, timeout: number): Promise<RunResult> {
    const line = pythonCommandLine(interpreter, args, cwd);
    return new Promise((resolveRun) => {
        execFile(line.command, line.args, { cwd: line.cwd, timeout, env: line.env }, (error, stdout, stderr) => {
            const output = `${stdout}${stderr}`.trim();
            resolveRun({ ok: error === null, output: error === null ? output : `${error.message}\n${output}`.trim() });
        });
    });
}

/** Whether `python -I -c "import tapps_lsp"` works; the output explains a failure. */
export async function checkTappsLsp(interpreter: Interpreter, cwd: string, log: Logger): Promise<RunResult> {
    log.info(`Checking ${describeInterpreter(interpreter)} -I -c "import tapps_lsp" (from ${interpreter.source})`);
    return run(interpreter, ['-c', 'import tapps_lsp'], cwd, CHECK_TIMEOUT_MS);
}

/** `python -I -m pip install tapps-lsp` into the given interpreter; output goes to the log. */
export async function pipInstallTappsLsp(interpreter: Interpreter, cwd: string, log: Logger): Promise<boolean> {
    log.info(`Running ${describeInterpreter(interpreter)} -I -m pip install tapps-lsp`);
    const result = await run(interpreter, ['-m', 'pip', 'install', 'tapps-lsp'], cwd, INSTALL_TIMEOUT_MS);
    log.info(result.output);
    return result.ok;
}
