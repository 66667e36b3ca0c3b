// SPDX-License-Identifier: Apache-2.0
// --require hook for the cachefs benchmark: compiles every CommonJS module through vm.Script (as
// the bootstrap does), keeps the scripts, and on SIGUSR2 writes each one's createCachedData()
// (which by then also holds the functions compiled lazily while serving) plus a manifest
//   <path relative to the app>\t<source file>\t<code cache file>
// into $KNEXT_RECORD_DIR, for mkpack.
'use strict';
const Module = require('module');
const vm = require('vm');
const fs = require('fs');
const path = require('path');

const outDir = process.env.KNEXT_RECORD_DIR;
const appDir = fs.realpathSync(process.env.KNEXT_RECORD_APP || process.cwd());
const scripts = [];

function makeRequire(mod) {
	const require = (id) => mod.require(id);
	require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
	require.resolve.paths = (request) => Module._resolveLookupPaths(request, mod);
	require.main = process.mainModule;
	require.extensions = Module._extensions;
	require.cache = Module._cache;
	return require;
}

Module.prototype._compile = function (content, filename) {
	const script = new vm.Script(Module.wrap(content), { filename });
	const fn = script.runInThisContext({ displayErrors: true });
	scripts.push({ filename, script });
	return fn.call(this.exports, this.exports, makeRequire(this), this, filename,
		path.dirname(filename));
};

process.on('SIGUSR2', () => {
	const lines = [];
	fs.mkdirSync(path.join(outDir, 'code'), { recursive: true });
	scripts.forEach(({ filename, script }, i) => {
		const rel = path.relative(appDir, filename);
		if (rel.startsWith('..') || path.isAbsolute(rel))
			return;
		const file = path.join(outDir, 'code', `${i}.bin`);
		fs.writeFileSync(file, script.createCachedData());
		lines.push(`${rel}\t${filename}\t${file}\n`);
	});
	fs.writeFileSync(path.join(outDir, 'manifest.tsv'), lines.join(''));
	fs.writeFileSync(path.join(outDir, 'done'), `${lines.length}\n`);
});
