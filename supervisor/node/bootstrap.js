// SPDX-License-Identifier: Apache-2.0
//
// knext-init's bootstrap, compiled into knext-node. It runs before any user code, with Node's
// internal `require` (builtins and internals), `process` and `snapshot` (true when the runtime
// restored the app's startup snapshot; see embed.h) in scope, then hands over to the app's entry
// (server.js of a Next.js standalone build) exactly as `node server.js` would.
//
// Besides readiness and heartbeats for PID 1, it serves the compile cache: every CommonJS module is
// compiled with V8 code cache from the pack PID 1 prefetched into a sealed memfd (looked up by path
// relative to the app and a hash of the source), and, when asked, it records fresh code cache for
// every script after warm-up — functions compiled lazily while serving included — into a new pack.
'use strict';

// The pack's entry kinds and the shared defaults, generated from common/packkind.h and
// common/defaults.h when knext-node is built (embed_js.py).
/* @knext-constants */

const knext = process._linkedBinding('knext');
// Node's start, and the restore of the app's startup snapshot when there is one, end here.
knext.notify('X_KNEXT_PHASE=bootstrap');
const path = require('path');
const net = require('net');
const v8 = require('v8');
const Module = require('module');

const env = process.env;
const appDir = path.resolve(env.KNEXT_APP_DIR || KNEXT_DEFAULT_APP_DIR);
const entry = path.resolve(appDir, env.KNEXT_ENTRY || KNEXT_DEFAULT_ENTRY);
const port = env.PORT;

// Readiness: PID 1 learns the moment the app's server listens on PORT (or the first server to
// listen when PORT is unset), without polling the port.
let announced = false;
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function knextListen(...args) {
	if (!announced) {
		this.once('listening', () => {
			const addr = this.address();
			const p = addr && typeof addr === 'object' ? String(addr.port) : '';
			if (announced || (port && p !== port))
				return;
			announced = true;
			knext.notify(`READY=1\nX_KNEXT_PHASE=server_listening\nSTATUS=listening on port ${p}`);
			reportCache();
			// Before the app's own listeners: the first response may be sent at once.
			this.prependOnceListener('request', firstRequest);
		});
	}
	return listen.apply(this, args);
};

// Where the first request's time goes: received (first_request), first bytes of the answer
// sent (first_byte: headers and body leave with the first write, end or flushHeaders).
function firstRequest(req, res) {
	knext.notify('X_KNEXT_PHASE=first_request');
	let sent = false;
	for (const name of ['write', 'end', 'flushHeaders']) {
		const method = res[name];
		res[name] = function knextFirstByte(...args) {
			if (!sent) {
				sent = true;
				knext.notify('X_KNEXT_PHASE=first_byte');
			}
			return Reflect.apply(method, this, args);
		};
	}
}

// Liveness: a heartbeat from the event loop; a blocked loop stops it.
const heartbeat = Number(env.KNEXT_HEARTBEAT_MS) || KNEXT_DEFAULT_HEARTBEAT_MS;
setInterval(() => knext.notify('WATCHDOG=1'), heartbeat).unref();

// NODE_EXTRA_CA_CERTS: OpenSSL starts lazily in knext-node (parsing CA stores eagerly costs tens
// of ms at every start); the extra certificates join the root store before the first TLS context.
if (env.NODE_EXTRA_CA_CERTS) {
	const tls = require('tls');
	const createSecureContext = tls.createSecureContext;
	tls.createSecureContext = function knextCreateSecureContext(...args) {
		tls.createSecureContext = createSecureContext;
		knext.loadExtraCaCerts();
		return createSecureContext.apply(this, args);
	};
}

// ---- compile cache ----------------------------------------------------------------------------

const DYNAMIC_IMPORT = /\bimport\s*\(/;
// Six characters, as `import`: renaming import(...) calls to it keeps every position in the source.
const IMPORT_ALIAS = '__kni_';
const ALIAS_WRAPPER = '(function (exports, require, module, __filename, __dirname, ' +
	`${IMPORT_ALIAS}) { `;
const stats = { hit: 0, miss: 0, rejected: 0, bytes: 0, resolved: 0, sources: 0 };
const cacheOffered = env.KNEXT_CACHE === '1';
const recordFiles = [];
if (env.KNEXT_RECORD_PACK)
	recordFiles.push(env.KNEXT_RECORD_PACK);
if (env.KNEXT_CACHE_WRITEBACK === '1' && env.KNEXT_CACHE_DIR)
	recordFiles.push(path.join(env.KNEXT_CACHE_DIR, KNEXT_PACK_FILE_NAME));
const compiled = new Map();
let attached = null;

// A file's key in the pack: its path relative to the app; null outside it (a pack never names
// anything outside the app).
function appKey(filename) {
	const key = path.relative(appDir, filename);
	return key.startsWith('..') || path.isAbsolute(key) ? null : key;
}

function reportCache() {
	// Only a runtime without a code cache of its own compiles its builtins from the pack.
	const builtins = knext.builtinStats();
	const ours = builtins === undefined ? '' : '; Node builtins from the pack: ' +
		`${builtins[0]} hits, ${builtins[1]} misses, ${builtins[2]} rejected`;
	knext.notify(`X_KNEXT_CACHE=hit=${stats.hit} miss=${stats.miss} ` +
		`rejected=${stats.rejected} bytes=${stats.bytes}\n` +
		`STATUS=module resolutions answered from the pack: ${stats.resolved}; ` +
		`module sources: ${stats.sources}${ours}`);
}

// knext-node's main() already waited for PID 1's word about the pack (KNEXT_CACHE_WAIT_MS), before
// Node compiled its builtins; here the answer is only read.
function cacheReady() {
	if (attached === null) {
		const r = knext.cacheAttach(0);
		attached = r.startsWith('attached');
		if (!attached)
			knext.notify(`STATUS=compile cache unused: ${r}`);
	}
	return attached;
}

// V8 10.2 drops a script's host-defined options when it deserialises it from code cache, and
// Node 18 then fails import() in it ("Invalid host defined options"). A module that calls
// import() is therefore loaded from code cache only with those calls renamed to a function its
// wrapper passes in, which imports exactly as Node would. Where the calls are comes from a full
// parse when the pack is recorded (kind 5 entries); a start with the pack only checks them.
// V8 13 and later keep the options (checked for Node 24 and 26): no renaming there.
const RENAME_IMPORTS = Number(process.versions.v8.split('.')[0]) < 11;
let acorn = null;
let walk = null;

function findImportSites(content) {
	acorn ??= require('internal/deps/acorn/acorn/dist/acorn');
	walk ??= require('internal/deps/acorn/acorn-walk/dist/walk');
	const sites = [];
	try {
		const ast = acorn.parse(Module.wrap(content), {
			ecmaVersion: 'latest', sourceType: 'script', allowHashBang: true,
		});
		walk.simple(ast, {
			ImportExpression(node) {
				sites.push(node.start - Module.wrapper[0].length);
			},
		});
	} catch {
		return null; // not parsed, or a syntax tree the walker does not know: no renaming
	}
	return sites.sort((a, b) => a - b);
}

function decodeImportSites(buf, content) {
	if (buf.length < 4 || buf.length !== 4 + 4 * buf.readUInt32LE(0))
		return null;
	const sites = [];
	for (let off = 4, prev = -6; off < buf.length; off += 4) {
		const at = buf.readUInt32LE(off);
		if (at < prev + 6 || !content.startsWith('import', at))
			return null;
		sites.push(prev = at);
	}
	return sites;
}

function encodeImportSites(sites) {
	const buf = Buffer.alloc(4 + 4 * sites.length);
	buf.writeUInt32LE(sites.length, 0);
	sites.forEach((at, i) => buf.writeUInt32LE(at, 4 + 4 * i));
	return buf;
}

function renameImports(content, sites) {
	let out = '';
	let from = 0;
	for (const at of sites) {
		out += content.slice(from, at) + IMPORT_ALIAS;
		from = at + IMPORT_ALIAS.length;
	}
	return out + content.slice(from);
}

// import() attributes as V8 passes them to Node: `with` (or the older `assert`) of the options.
function importAttributes(options) {
	const attributes = { __proto__: null };
	if (options === undefined)
		return attributes;
	if (options === null || typeof options !== 'object')
		throw new TypeError('The second argument of import() must be an object');
	const given = options.with !== undefined ? options.with : options.assert;
	if (given === undefined)
		return attributes;
	if (given === null || typeof given !== 'object')
		throw new TypeError('The \'with\' option of import() must be an object');
	for (const name of Object.keys(given)) {
		if (typeof given[name] !== 'string')
			throw new TypeError('Import attribute values must be strings');
		attributes[name] = given[name];
	}
	return attributes;
}

// The ES module loader import() goes through: Node 18 made it at start, later lines make it on
// first use.
function esmLoader() {
	const { getOrInitializeCascadedLoader } = require('internal/modules/esm/loader');
	return getOrInitializeCascadedLoader ? getOrInitializeCascadedLoader() :
		require('internal/process/esm_loader').esmLoader;
}

function installCompileHook() {
	const { getOptionValue } = require('internal/options');
	// Policies and --inspect-brk need Node's own compile path; the cache is an optimisation.
	if (getOptionValue('--experimental-policy') || getOptionValue('--inspect-brk'))
		return;
	const { makeContextifyScript, runScriptInThisContext } = require('internal/vm');
	const helpers = require('internal/modules/helpers');
	const { makeRequireFunction, normalizeReferrerURL } = helpers;
	// Node >= 22 tracks this for its snapshot and require(esm) checks, as its own _compile does.
	const started = helpers.setHasStartedUserCJSExecution ?? (() => {});
	const esm = esmLoader;
	const recording = recordFiles.length > 0;
	const compile = Module.prototype._compile;

	// Where a module that mentions import( calls it: from the pack, else (recording) from a
	// parse; null leaves the module to be compiled from source.
	function importSites(content, key, hash, useCache) {
		if (content.includes(IMPORT_ALIAS))
			return null;
		if (useCache) {
			const found = knext.cacheLookup(KIND_IMPORT_SITES, key, hash);
			if (found !== undefined)
				return decodeImportSites(found, content);
		}
		return recording ? findImportSites(content) : null;
	}

	Module.prototype._compile = function knextCompile(content, filename, format) {
		// ES modules and TypeScript (Node >= 22) take Node's own path.
		if (format !== undefined && format !== 'commonjs')
			return Reflect.apply(compile, this, arguments);
		const key = appKey(filename);
		const hash = knext.hash(content);
		const useCache = key !== null && cacheOffered && cacheReady();
		const sites = RENAME_IMPORTS && DYNAMIC_IMPORT.test(content) ?
			importSites(content, key, hash, useCache) : undefined;
		const cacheable = sites !== null;
		const renamed = sites !== undefined && sites !== null && sites.length > 0;
		const cached = cacheable && useCache ?
			knext.cacheLookup(KIND_CODE_CACHE, key, hash) : undefined;
		const referrer = () => normalizeReferrerURL(filename);
		// Exactly what Node does for a CommonJS module with a wrapper, plus cachedData; dynamic
		// import() resolves against this module as in Node's own loader.
		const source = renamed ?
			ALIAS_WRAPPER + renameImports(content, sites) + Module.wrapper[1] :
			Module.wrap(content);
		let script;
		try {
			script = makeContextifyScript(source, filename, 0, 0, cached, false,
				undefined, Symbol(`cjs:${filename}`),
				(specifier, _, attributes) => esm().import(specifier, referrer(),
					attributes));
		} catch (err) {
			// Node >= 22 loads a file of ES module syntax that no package.json typed as
			// such as an ES module: its own path detects that.
			if (format === undefined && err instanceof SyntaxError && compile.length > 2)
				return Reflect.apply(compile, this, arguments);
			throw err;
		}
		if (cached === undefined) {
			stats.miss++;
		} else if (script.cachedDataRejected) {
			stats.rejected++;
		} else {
			stats.hit++;
			stats.bytes += cached.length;
		}
		if (recording && cacheable && key !== null)
			compiled.set(filename, { key, hash, script, sites });
		const fn = runScriptInThisContext(script, true, false);
		started();
		const require = makeRequireFunction(this, undefined);
		const args = [this.exports, require, this, filename, path.dirname(filename)];
		if (renamed) {
			args.push(async function importModule(specifier, options) {
				return esm().import(`${specifier}`, referrer(), importAttributes(options));
			});
		}
		return Reflect.apply(fn, this.exports, args);
	};
}

// Module resolution replay: what require(request) from a directory of the app resolved to is
// recorded with the pack and answered from it, so a warm start skips the stat()s and package.json
// reads of Node's search. Keyed by the requiring directory and a hash of the request; the pack's
// identity (BUILD_ID, Next's file list) guarantees the same build of the app.
const resolutions = new Map();

function resolveKey(dir) {
	const rel = appKey(dir);
	if (rel === null)
		return null;
	return rel ? `${rel}/.knext-resolve` : '.knext-resolve';
}

function installResolveHook() {
	const resolve = Module._resolveFilename;
	const recording = recordFiles.length > 0;

	Module._resolveFilename = function knextResolve(request, parent, isMain, options) {
		if (options !== undefined || isMain || !parent || !parent.filename ||
		    Module.isBuiltin(request) || path.isAbsolute(request))
			return resolve.call(this, request, parent, isMain, options);
		const key = resolveKey(path.dirname(parent.filename));
		if (key === null)
			return resolve.call(this, request, parent, isMain, options);
		const hash = knext.hash(request);
		if (cacheOffered && cacheReady()) {
			const hit = knext.cacheLookup(KIND_RESOLUTION, key, hash);
			if (hit !== undefined) {
				const target = hit.toString();
				stats.resolved++;
				// A pack written from this run keeps what it was started with.
				if (recording)
					resolutions.set(`${key}\0${request}`, [key, hash, target]);
				return path.join(appDir, target);
			}
		}
		const filename = resolve.call(this, request, parent, isMain, options);
		const target = recording ? appKey(filename) : null;
		if (target !== null)
			resolutions.set(`${key}\0${request}`, [key, hash, target]);
		return filename;
	};
}

// Module source replay: a module's source comes from the pack instead of its file when the file's
// size and modification time are those recorded with it (one stat() instead of open, read and
// close; on a cold page cache, no read of the file's data at all). The source is handed to Node's
// own .js loader as the result of the one readFileSync() it makes for that file, so everything
// else it does (the package scope's "type", errors for ES modules) stays Node's.
const fs = require('fs');
const loadedSources = new Set();
let pendingSource = null;


function fileFingerprint(filename) {
	try {
		const st = fs.statSync(filename, { bigint: true });
		return st.isFile() ? knext.hash(`${st.size}:${st.mtimeNs}`) : null;
	} catch {
		return null;
	}
}

function installSourceHook() {
	const readFileSync = fs.readFileSync;
	const recording = recordFiles.length > 0;

	fs.readFileSync = {
		readFileSync(file, options) {
			if (pendingSource !== null && file === pendingSource.filename &&
			    options === 'utf8') {
				const { source } = pendingSource;
				pendingSource = null;
				return source;
			}
			return Reflect.apply(readFileSync, this, arguments);
		},
	}.readFileSync;

	const loadJs = Module._extensions['.js'];
	Module._extensions['.js'] = function knextLoadJs(module, filename) {
		const key = appKey(filename);
		if (key !== null && recording)
			loadedSources.add(filename);
		if (key !== null && cacheOffered && cacheReady()) {
			const fingerprint = fileFingerprint(filename);
			const found = fingerprint === null ? undefined :
				knext.cacheLookup(KIND_SOURCE, key, fingerprint);
			if (found !== undefined) {
				pendingSource = { filename, source: found.toString('utf8') };
				stats.sources++;
			}
		}
		try {
			return Reflect.apply(loadJs, this, arguments);
		} finally {
			pendingSource = null;
		}
	};
}

// Node's builtins compiled from source since this heap was restored (the ones the snapshot left
// out, http and undici among them), with code cache made here, from a heap restored from the same
// blob: V8 takes such a cache only from a finished read-only space, which the builder's heap is
// not. writePack puts them in the blob it carries, where Node looks for its builtins' cache.
function builtinsCompiledSinceRestore() {
	if (!(typeof snapshot === 'boolean' && snapshot))
		return [];
	const vm = require('vm');
	const { internalBinding } = require('internal/bootstrap/realm');
	const builtins = internalBinding('builtins');
	const usage = builtins.getCacheUsage();
	// Some compiled from the blob's cache: the blob has its builtins' cache already.
	if (usage.compiledWithCache.length > 0)
		return [];
	const out = [];
	for (const id of usage.compiledWithoutCache) {
		// The parameters Node's BuiltinLoader compiles each kind of builtin with.
		const params = id.startsWith('internal/per_context/') ?
			['exports', 'primordials', 'privateSymbols', 'perIsolateSymbols'] :
			id.startsWith('internal/main/') || id.startsWith('internal/bootstrap/') ?
				['process', 'require', 'internalBinding', 'primordials'] :
				['exports', 'require', 'module', 'process', 'internalBinding', 'primordials'];
		try {
			const fn = vm.compileFunction(builtins.natives[id], params,
				{ filename: `node:${id}`, produceCachedData: true });
			if (fn.cachedData)
				out.push([id, fn.cachedData]);
		} catch {
			// left out: that builtin compiles from source, as before
		}
	}
	return out;
}

// Serialises code cache for every script compiled so far — after warm-up that includes the
// functions compiled lazily while serving — and writes it as a pack, atomically.
let recordedAt = 0;
function record(why) {
	if (compiled.size === 0 || recordedAt === compiled.size + resolutions.size)
		return;
	recordedAt = compiled.size + resolutions.size;
	const entries = [];
	for (const { key, hash, script, sites } of compiled.values()) {
		try {
			entries.push([KIND_CODE_CACHE, key, hash, script.createCachedData()]);
		} catch {
			continue; // a script V8 cannot serialise is simply left out
		}
		if (sites !== undefined)
			entries.push([KIND_IMPORT_SITES, key, hash, encodeImportSites(sites)]);
	}
	for (const [key, hash, target] of resolutions.values())
		entries.push([KIND_RESOLUTION, key, hash, Buffer.from(target)]);
	for (const [id, hash, data] of knext.builtinCodeCache())
		entries.push([KIND_BUILTIN_CODE_CACHE, id, hash, data]);
	for (const filename of loadedSources) {
		const fingerprint = fileFingerprint(filename);
		if (fingerprint === null)
			continue;
		try {
			entries.push([KIND_SOURCE, appKey(filename), fingerprint, fs.readFileSync(filename)]);
		} catch {
			// gone since it was loaded: left out
		}
	}
	const level = Number(env.KNEXT_CACHE_LEVEL) || (env.KNEXT_RECORD_PACK ? 19 : 3);
	const blobBuiltins = builtinsCompiledSinceRestore();
	for (const file of recordFiles) {
		const err = knext.writePack(file, level, v8.cachedDataVersionTag(), entries,
			blobBuiltins);
		knext.notify(err ? `STATUS=compile cache not written to ${file}: ${err}` :
			`STATUS=compile cache written (${why}): ${entries.length} entries to ${file}`);
	}
	reportCache();
}

if (cacheOffered || recordFiles.length > 0) {
	installSourceHook();
	installCompileHook();
	installResolveHook();
}
if (recordFiles.length > 0) {
	process.on('exit', () => record('exit'));
	const after = Number(env.KNEXT_RECORD_AFTER_MS);
	if (after > 0)
		setTimeout(() => record('timer'), after).unref();
}

// `cache warm --snapshot`: the CommonJS modules loaded when the first response is finished, in
// the order they were first required, one a line, for the snapshot builder (FORMAT.md, kind 7).
const snapshotRecord = env.KNEXT_SNAPSHOT_RECORD;
delete env.KNEXT_SNAPSHOT_RECORD;
if (snapshotRecord) {
	const http = require('http');
	const emit = http.Server.prototype.emit;
	let written = false;
	const writeRecord = () => {
		if (written)
			return;
		written = true;
		const files = Object.keys(Module._cache).filter((f) => f !== entry && !f.endsWith('.node'));
		fs.writeFileSync(snapshotRecord, files.join('\n') + '\n');
	};
	http.Server.prototype.emit = function knextRecordEmit(name, req, res) {
		if (name === 'request' && !written && res)
			res.once('finish', writeRecord);
		return Reflect.apply(emit, this, arguments);
	};
}

// A heap restored from the app's startup snapshot hands over through the function its builder
// left at globalThis[Symbol.for('knext.restore')], called with the binding and the settings; a
// normal start runs the entry as `node server.js` would. (`snapshot` is a parameter only of
// backends that restore snapshots, see embed.h.)
const RESTORE = Symbol.for('knext.restore');
const restore = typeof snapshot === 'boolean' && snapshot ? globalThis[RESTORE] : undefined;
delete globalThis[RESTORE];
process.argv.splice(1, 0, entry);
if (typeof snapshot === 'boolean' && snapshot)
	knext.notify(`X_KNEXT_SNAPSHOT=restored${typeof restore === 'function' ? '' :
		` (no ${RESTORE.description} function: ${path.basename(entry)} runs)`}`);
knext.notify('X_KNEXT_PHASE=server_start');
if (typeof restore === 'function')
	restore(knext, { appDir, entry, port });
else
	Module.runMain();
