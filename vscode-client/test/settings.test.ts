// Unit tests of src/common/settings.ts against the stubbed VS Code (vscodeapi.stub.ts).
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import type { ConfigurationChangeEvent } from 'vscode';
import { afterEach, describe, it } from 'node:test';
import { interpreterSetting, needsRestart, resolveVariables, serverSettings } from '../src/common/settings';
import { stub } from './vscodeapi.stub';

afterEach(() => stub.reset());

describe('settings', () => {
    it('replaces ~, ${userHome}, ${workspaceFolder} and ${env:NAME}', () => {
        process.env.TAPPS_UNIT_VAR = 'v';
        assert.equal(resolveVariables('~/a', '/ws'), `${homedir()}/a`);
        assert.equal(resolveVariables('${userHome}/b:${workspaceFolder}/c', '/ws'), `${homedir()}/b:/ws/c`);
        assert.equal(resolveVariables('${env:TAPPS_UNIT_VAR}/${env:TAPPS_UNIT_UNSET}', undefined), 'v/');
        assert.equal(resolveVariables('${workspaceFolder}/x', undefined), '${workspaceFolder}/x');
        assert.equal(resolveVariables('a~/b', '/ws'), 'a~/b');
    });

    it('reads tapps.interpreter as a list of non-empty strings, [] otherwise', () => {
        stub.settings = { interpreter: 'python3' };
        assert.deepEqual(interpreterSetting(), []);
        stub.settings = { interpreter: ['', 'python3', null, '-X', 'utf8'] };
        assert.deepEqual(interpreterSetting(), ['python3', '-X', 'utf8']);
    });

    it('sends the server its settings, not the client-only ones', () => {
        stub.settings = { interpreter: ['python3'], trace: { server: 'off' }, jobs: 1, run: 'onSave' };
        assert.deepEqual(serverSettings(), { jobs: 1, run: 'onSave' });
    });

    it("sends the team cache's settings from the user's own settings only", () => {
        // A workspace's .vscode/settings.json names a Redis: not sent.
        stub.settings = { jobs: 1, remoteCache: { url: 'redis://evil:6379', write: true } };
        assert.deepEqual(serverSettings(), { jobs: 1 });
        // The user's own, under the schema's names whichever way the user spelled them.
        stub.user = { 'remoteCache.url': 'redis://team:6379', remoteCacheTtlDays: 7 };
        assert.deepEqual(serverSettings(), { jobs: 1, remoteCacheUrl: 'redis://team:6379', remoteCacheTtlDays: 7 });
    });

    it('restarts the server for the interpreter, jobs and the team cache URL only', () => {
        const event = (key: string): ConfigurationChangeEvent => ({ affectsConfiguration: (name: string) => name === key });
        assert.equal(needsRestart(event('tapps.interpreter')), true);
        assert.equal(needsRestart(event('tapps.jobs')), true);
        assert.equal(needsRestart(event('tapps.remoteCacheUrl')), true);
        assert.equal(needsRestart(event('tapps.run')), false);
    });
});
