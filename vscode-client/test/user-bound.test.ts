// A workspace's .vscode/settings.json reaches the server as the user's own settings unless
// the client bounds them (src/common/settings.ts, issue 13 item 8): machine limits at most
// the user's value (else the default), team-cache settings from the user only.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
    boundConfigurationAnswers,
    Inspect,
    serverSettings,
    SettingLayers,
    userBoundSettings,
} from '../src/common/settings';
import { stub } from './vscodeapi.stub';

afterEach(() => stub.reset());

const DEFAULTS: Record<string, unknown> = {
    maxFileSize: 1048576,
    toolTimeout: 20,
    fileBudget: 1,
    jobs: 0,
    remoteCacheUrl: '',
    remoteCacheWrite: false,
    remoteCacheTtlDays: 30,
    remoteCacheBudgetMs: 20,
};

/** inspect() over the user's own settings (by dotted key) and the contributed defaults. */
function layers(user: Record<string, unknown> = {}): Inspect {
    return (key: string): SettingLayers => ({ globalValue: user[key], defaultValue: DEFAULTS[key] });
}

describe('user-bound settings', () => {
    it("lowers a workspace's limit above the user's to the user's", () => {
        const sent = userBoundSettings(
            { maxFileSize: 67108864, toolTimeout: 120, fileBudget: 30, jobs: 32 },
            layers({ maxFileSize: 2000000, toolTimeout: 30, fileBudget: 2, jobs: 4 }),
        );
        assert.deepEqual(sent, { maxFileSize: 2000000, toolTimeout: 30, fileBudget: 2, jobs: 4 });
    });

    it("keeps a workspace's limit below the user's", () => {
        const sent = userBoundSettings(
            { maxFileSize: 1000, toolTimeout: 5, fileBudget: 0.5, jobs: 2 },
            layers({ maxFileSize: 2000000 }),
            8,
        );
        assert.deepEqual(sent, { maxFileSize: 1000, toolTimeout: 5, fileBudget: 0.5, jobs: 2 });
    });

    it('takes the default as the ceiling when the user set nothing', () => {
        const sent = userBoundSettings({ maxFileSize: 67108864, toolTimeout: 120, fileBudget: 30, jobs: 32 }, layers(), 4);
        assert.deepEqual(sent, { maxFileSize: 1048576, toolTimeout: 20, fileBudget: 1, jobs: 0 });
    });

    it('counts jobs 0 as one worker per core', () => {
        // Below one per core: kept; above: back to one per core.
        assert.deepEqual(userBoundSettings({ jobs: 3 }, layers(), 4), { jobs: 3 });
        assert.deepEqual(userBoundSettings({ jobs: 5 }, layers(), 4), { jobs: 0 });
        // The user's 0 caps a workspace's 8 on a 4-core machine; the user's 6 caps a workspace's 0
        // on 8 cores (8 workers) but not on 4.
        assert.deepEqual(userBoundSettings({ jobs: 8 }, layers({ jobs: 0 }), 4), { jobs: 0 });
        assert.deepEqual(userBoundSettings({ jobs: 0 }, layers({ jobs: 6 }), 8), { jobs: 6 });
        assert.deepEqual(userBoundSettings({ jobs: 0 }, layers({ jobs: 6 }), 4), { jobs: 0 });
    });

    it("drops a folder's team-cache settings, sending the user's own", () => {
        const folder = { remoteCacheUrl: 'redis://evil:6379', remoteCacheWrite: true, remoteCacheBudgetMs: 10000 };
        assert.deepEqual(userBoundSettings(folder, layers()), {});
        const user = { remoteCacheUrl: 'redis://team:6379', remoteCacheBudgetMs: 50 };
        assert.deepEqual(userBoundSettings(folder, layers(user)), user);
    });

    it("treats the server's other spellings of a key alike", () => {
        // tapps_lsp/settings_merge.py flatten(): {max: {fileSize}} is maxFileSize, {remoteCache: {url}} remoteCacheUrl.
        const sent = userBoundSettings(
            { max: { fileSize: 67108864 }, remoteCache: { url: 'redis://evil:6379', extra: 1 }, tool: { Timeout: 600 } },
            layers({ 'remoteCache.url': 'redis://team:6379' }),
        );
        assert.deepEqual(sent, {
            maxFileSize: 1048576,
            toolTimeout: 20,
            remoteCache: { extra: 1 },
            remoteCacheUrl: 'redis://team:6379',
        });
    });

    it("sends no limit a workspace wrote as something else than a number, and the user's as it is", () => {
        assert.deepEqual(userBoundSettings({ toolTimeout: '600', jobs: true }, layers()), {});
        assert.deepEqual(userBoundSettings({ toolTimeout: 'slow' }, layers({ toolTimeout: 'slow' })), {
            toolTimeout: 'slow',
        });
    });

    it('leaves every other setting as it is', () => {
        const values = { run: 'onType', weights: { security: 1 }, severityOverrides: {}, exclude: ['a/'] };
        assert.deepEqual(userBoundSettings({ ...values }, layers()), values);
    });

    it('bounds initializationOptions against the contributed defaults', () => {
        // A window whose workspace settings raise every limit and name a Redis.
        stub.settings = { maxFileSize: 67108864, toolTimeout: 120, fileBudget: 30, jobs: 32, remoteCacheUrl: 'redis://x' };
        assert.deepEqual(serverSettings(), { maxFileSize: 1048576, toolTimeout: 20.0, fileBudget: 1.0, jobs: 0 });
        stub.user = { maxFileSize: 4194304 };
        assert.equal(serverSettings().maxFileSize, 4194304);
    });

    it("bounds each workspace/configuration answer by its folder's settings", () => {
        stub.settings = { toolTimeout: 120, remoteCacheWrite: true };
        stub.user = { toolTimeout: 60 };
        const answers = boundConfigurationAnswers(
            [
                { scopeUri: 'file:///ws/a', section: 'tapps' },
                { scopeUri: null, section: null },
                { section: 'tapps.toolTimeout' },
                { section: 'python' },
            ],
            [{ toolTimeout: 120, remoteCacheWrite: true }, { tapps: { toolTimeout: 120 }, python: 1 }, 120, { x: 1 }],
        );
        assert.deepEqual(answers, [{ toolTimeout: 60 }, { tapps: { toolTimeout: 60 }, python: 1 }, null, { x: 1 }]);
        // One look-up of the folder's settings per answer that needs one.
        assert.deepEqual(stub.scopes, ['file:///ws/a', undefined]);
    });
});
