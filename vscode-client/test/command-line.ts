// Prints the command lines the extension builds for an interpreter, as JSON, for the Python
// security tests (tests/security/test_code_execution.py), which start exactly that:
//   node out/test/command-line.js PYTHON EXTENSION_DIR
import { CommandLine, pythonCommandLine, serverCommandLine } from '../src/common/python';

const [python, cwd] = process.argv.slice(2);
if (python === undefined || cwd === undefined) {
    process.stderr.write('usage: command-line.js PYTHON EXTENSION_DIR\n');
    process.exit(2);
}
const interpreter = { command: python, args: [], source: 'tapps.interpreter' } as const;
const pick = (line: CommandLine): { argv: string[]; cwd: string; env: { PYTHONSAFEPATH?: string } } => ({
    argv: [line.command, ...line.args],
    cwd: line.cwd,
    env: { PYTHONSAFEPATH: line.env.PYTHONSAFEPATH },
});
process.stdout.write(
    `${JSON.stringify({
        server: pick(serverCommandLine(interpreter, cwd)),
        probe: pick(pythonCommandLine(interpreter, ['-c', 'import tapps_lsp'], cwd)),
    })}\n`,
);
