// Builds the unit tests (test/*.test.ts) and test/command-line.ts into out/test/ with
// esbuild, each a bundle in which src/common/vscodeapi.ts is replaced by
// test/vscodeapi.stub.ts, so the modules under test run in plain node (`node --test`).
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const stub = join(here, 'test', 'vscodeapi.stub.ts');
const real = join(here, 'src', 'common', 'vscodeapi');

const stubVscodeApi = {
    name: 'stub-vscodeapi',
    setup(build) {
        build.onResolve({ filter: /(^|\/)vscodeapi$/ }, (args) =>
            resolve(args.resolveDir, args.path) === real ? { path: stub } : undefined,
        );
    },
};

const tests = readdirSync(join(here, 'test')).filter((name) => name.endsWith('.test.ts'));
await esbuild.build({
    entryPoints: [...tests, 'command-line.ts'].map((name) => join(here, 'test', name)),
    outdir: join(here, 'out', 'test'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Type-only imports of 'vscode' are dropped; a value import would fail loudly at run time.
    external: ['vscode'],
    plugins: [stubVscodeApi],
    logLevel: 'warning',
});
