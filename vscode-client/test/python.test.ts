// Unit tests of src/common/python.ts: the command lines it builds, the interpreter it
// picks, and the Restricted Mode check. VS Code is stubbed (vscodeapi.stub.ts); the
// processes and the file system are real.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Logger } from '../src/common/logging';
import {
    checkTappsLsp,
    findExecutable,
    Interpreter,
    isInsideFolder,
    pythonCommandLine,
    resolveInterpreter,
    serverCommandLine,
    untrustedInterpreterReason,
} from '../src/common/python';
import { stub } from './vscodeapi.stub';

// The interpreter that has tapps-lsp (the project's venv, from the pytest wrapper).
const PYTHON = process.env.TAPPS_TEST_PYTHON ?? 'python3';

const silent: Logger = {
    channel: undefined as never,
    info: () => undefined,
    error: () => undefined,
    show: () => undefined,
    dispose: () => undefined,
};

function interpreter(command: string, args: string[] = []): Interpreter {
    return { command, args, source: 'tapps.interpreter' };
}

/** A cloned repository with a venv whose bin/python links to a Python outside it. */
function clonedRepository(): { root: string; venvPython: string } {
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'tapps-ws-')));
    mkdirSync(join(root, '.venv', 'bin'), { recursive: true });
    const venvPython = join(root, '.venv', 'bin', 'python');
    symlinkSync(process.execPath, venvPython);
    return { root, venvPython };
}

beforeEach(() => stub.reset());
afterEach(() => stub.reset());

describe('command lines', () => {
    it('starts the server isolated, outside the workspace, with PYTHONSAFEPATH for its children', () => {
        const line = serverCommandLine(interpreter('/opt/py/bin/python', ['-X', 'utf8']), '/ext');
        assert.equal(line.command, '/opt/py/bin/python');
        assert.deepEqual(line.args, ['-X', 'utf8', '-I', '-m', 'tapps_lsp']);
        assert.equal(line.cwd, '/ext');
        assert.equal(line.env.PYTHONSAFEPATH, '1');
    });

    it('runs the probe and pip the same way', () => {
        const line = pythonCommandLine(interpreter('python3'), ['-c', 'import tapps_lsp'], '/ext');
        assert.deepEqual(line.args, ['-I', '-c', 'import tapps_lsp']);
        assert.equal(line.cwd, '/ext');
    });

    it('probes the installed tapps_lsp, never a planted one, even from inside the repository', async () => {
        const { root } = clonedRepository();
        const marker = join(root, 'planted-was-imported');
        mkdirSync(join(root, 'tapps_lsp'));
        writeFileSync(join(root, 'tapps_lsp', '__init__.py'), `open(${JSON.stringify(marker)}, 'w').close()\n`);
        // The worst case: the repository as cwd, and an empty PYTHONPATH entry (= the cwd).
        const saved = process.env.PYTHONPATH;
        process.env.PYTHONPATH = `:${saved ?? ''}`;
        try {
            const result = await checkTappsLsp(interpreter(PYTHON), root, silent);
            assert.ok(result.ok, result.output);
        } finally {
            if (saved === undefined) {
                delete process.env.PYTHONPATH;
            } else {
                process.env.PYTHONPATH = saved;
            }
        }
        assert.equal(existsSync(marker), false, 'the planted tapps_lsp/__init__.py ran');
    });
});

describe('interpreter resolution', () => {
    it('takes tapps.interpreter first, with ${workspaceFolder} replaced', async () => {
        stub.folders = ['/home/u/proj'];
        stub.settings = { interpreter: ['${workspaceFolder}/.venv/bin/python', '-X', 'dev', 7] };
        const found = await resolveInterpreter();
        assert.deepEqual(found, {
            command: '/home/u/proj/.venv/bin/python',
            args: ['-X', 'dev'],
            source: 'tapps.interpreter',
        });
    });

    it("then the Python extension's active interpreter", async () => {
        const api = {
            environments: {
                getActiveEnvironmentPath: () => ({ path: '/envs/a' }),
                resolveEnvironment: () => Promise.resolve({ executable: { uri: { fsPath: '/envs/a/bin/python' } } }),
                onDidChangeActiveEnvironmentPath: () => ({ dispose: () => undefined }),
            },
        };
        stub.extensions['ms-python.python'] = { isActive: true, activate: () => Promise.resolve(api), exports: api };
        const found = await resolveInterpreter();
        assert.deepEqual(found, { command: '/envs/a/bin/python', args: [], source: 'Python extension' });
    });

    it('else python3', async () => {
        assert.deepEqual(await resolveInterpreter(), { command: 'python3', args: [], source: 'default' });
    });

    it('finds a bare name on PATH as the process start would, relative entries from the cwd', () => {
        const { root } = clonedRepository();
        const bin = join(root, 'bin');
        mkdirSync(bin);
        writeFileSync(join(bin, 'python3'), '#!/bin/sh\n', { mode: 0o755 });
        assert.equal(findExecutable('python3', '/', `/nonexistent:${bin}`), join(bin, 'python3'));
        assert.equal(findExecutable('python3', root, '/nonexistent:bin'), join(bin, 'python3'));
        assert.equal(findExecutable('python3', '/', '/nonexistent'), undefined);
        assert.equal(findExecutable('./bin/python3', root, ''), join(bin, 'python3'));
    });
});

describe('Restricted Mode', () => {
    it('runs anything in a trusted workspace', () => {
        const { root, venvPython } = clonedRepository();
        assert.equal(untrustedInterpreterReason(interpreter(venvPython), { trusted: true, folders: [root] }, '/'), undefined);
    });

    it("refuses the workspace's venv python, though it links outside the workspace", () => {
        const { root, venvPython } = clonedRepository();
        const refusal = untrustedInterpreterReason(interpreter(venvPython), { trusted: false, folders: [root] }, '/');
        assert.ok(refusal !== undefined);
        assert.match(refusal.message, /not trusted \(Restricted Mode\)/);
        assert.ok(refusal.message.includes(venvPython), refusal.message);
        assert.ok(refusal.short.includes('untrusted workspace'), refusal.short);
    });

    it('refuses a link outside the workspace that resolves into it', () => {
        const { root } = clonedRepository();
        const inside = join(root, 'tool');
        writeFileSync(inside, '#!/bin/sh\n', { mode: 0o755 });
        const outside = join(realpathSync(mkdtempSync(join(tmpdir(), 'tapps-out-'))), 'python');
        symlinkSync(inside, outside);
        assert.ok(untrustedInterpreterReason(interpreter(outside), { trusted: false, folders: [root] }, '/'));
    });

    it('refuses a workspace folder opened through a link, and a path given as an argument', () => {
        const { root, venvPython } = clonedRepository();
        const link = join(realpathSync(mkdtempSync(join(tmpdir(), 'tapps-link-'))), 'ws');
        symlinkSync(root, link);
        const folders = { trusted: false, folders: [link] };
        assert.ok(untrustedInterpreterReason(interpreter(venvPython), folders, '/'));
        assert.ok(untrustedInterpreterReason(interpreter('/usr/bin/env', [venvPython]), folders, '/'));
    });

    it('refuses a bare name that PATH finds inside the workspace', () => {
        const { root } = clonedRepository();
        const bin = join(root, 'bin');
        mkdirSync(bin);
        writeFileSync(join(bin, 'python3'), '#!/bin/sh\n', { mode: 0o755 });
        const saved = process.env.PATH;
        process.env.PATH = `${bin}:${saved ?? ''}`;
        try {
            assert.ok(untrustedInterpreterReason(interpreter('python3'), { trusted: false, folders: [root] }, '/'));
        } finally {
            process.env.PATH = saved;
        }
    });

    it('runs an interpreter outside every workspace folder', () => {
        const { root } = clonedRepository();
        assert.equal(
            untrustedInterpreterReason(interpreter(process.execPath), { trusted: false, folders: [root] }, '/'),
            undefined,
        );
        assert.equal(isInsideFolder(`${root}-sibling/python`, root), false);
        assert.equal(isInsideFolder(join(root, 'a', '..', '..', 'python'), root), false);
    });

    it('refuses the setting the old description recommended, set at user level', async () => {
        const { root } = clonedRepository();
        stub.folders = [root];
        stub.trusted = false;
        stub.settings = { interpreter: ['${workspaceFolder}/.venv/bin/python'] };
        const found = await resolveInterpreter();
        assert.ok(untrustedInterpreterReason(found, { trusted: stub.trusted, folders: stub.folders }, '/'));
    });
});
