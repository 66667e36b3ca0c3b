// SPDX-License-Identifier: Apache-2.0
//
// knext-init's bootstrap, compiled into knext-node. It runs before any user code, with Node's
// internal `require` (builtins and internals) and `process` in scope, then hands over to the app's
// entry (server.js of a Next.js standalone build) exactly as `node server.js` would.
//
// Besides readiness and heartbeats for PID 1, it serves the compile cache: every CommonJS module is
// compiled with V8 code cache from the pack PID 1 prefetched into a sealed memfd (looked up by path
// relative to the app and a hash of the source), and, when asked, it records fresh code cache for
// every script after warm-up — functions compiled lazily while serving included — into a new pack.
'use strict';

const knext = process._linkedBinding('knext');
const path = require('path');
const net = require('net');
const v8 = require('v8');
const Module = require('module');

const env = process.env;
const appDir = path.resolve(env.KNEXT_APP_DIR || '/app');
const entry = path.resolve(appDir, env.KNEXT_ENTRY || 'server.js');
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
			this.once('request', () => knext.notify('X_KNEXT_PHASE=first_request'));
		});
	}
	return listen.apply(this, args);
};

// Liveness: a heartbeat from the event loop; a blocked loop stops it.
const heartbeat = Number(env.KNEXT_HEARTBEAT_MS) || 1000;
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

const KIND_CODE_CACHE = 1;
const KIND_RESOLUTION = 3;
const DYNAMIC_IMPORT = /\bimport\s*\(/;
const stats = { hit: 0, miss: 0, rejected: 0, bytes: 0, resolved: 0 };
const cacheOffered = env.KNEXT_CACHE === '1';
const recordFiles = [];
if (env.KNEXT_RECORD_PACK)
	recordFiles.push(env.KNEXT_RECORD_PACK);
if (env.KNEXT_CACHE_WRITEBACK === '1' && env.KNEXT_CACHE_DIR)
	recordFiles.push(path.join(env.KNEXT_CACHE_DIR, 'cache.pack'));
const compiled = new Map();
let attached = null;

function reportCache() {
	knext.notify(`X_KNEXT_CACHE=hit=${stats.hit} miss=${stats.miss} ` +
		`rejected=${stats.rejected} bytes=${stats.bytes}\n` +
		`STATUS=module resolutions answered from the pack: ${stats.resolved}`);
}

// The memfd arrives from PID 1 when its prefetch is done; the first compile waits for it (it was
// started before this process, so it is normally there already).
function cacheReady() {
	if (attached === null) {
		const r = knext.cacheAttach(Number(env.KNEXT_CACHE_WAIT_MS) || 3000);
		attached = r.startsWith('attached');
		if (!attached)
			knext.notify(`STATUS=compile cache unused: ${r}`);
	}
	return attached;
}

function installCompileHook() {
	const { getOptionValue } = require('internal/options');
	// Policies and --inspect-brk need Node's own compile path; the cache is an optimisation.
	if (getOptionValue('--experimental-policy') || getOptionValue('--inspect-brk'))
		return;
	const { makeContextifyScript, runScriptInThisContext } = require('internal/vm');
	const { makeRequireFunction, normalizeReferrerURL } = require('internal/modules/helpers');
	const esm = () => require('internal/process/esm_loader').esmLoader;
	const recording = recordFiles.length > 0;

	Module.prototype._compile = function knextCompile(content, filename) {
		const key = path.relative(appDir, filename);
		// V8 10.2 drops a script's host-defined options when it is deserialised from code cache,
		// and Node 18 then fails import() in it ("Invalid host defined options"): a module that
		// may call import() is compiled from source, always.
		const cacheable = !DYNAMIC_IMPORT.test(content);
		const hash = cacheable ? knext.hash(content) : 0n;
		const cached = cacheable && cacheOffered && cacheReady() ?
			knext.cacheLookup(KIND_CODE_CACHE, key, hash) : undefined;
		// Exactly what Node does for a CommonJS module with a wrapper, plus cachedData; dynamic
		// import() resolves against this module as in Node's own loader.
		const script = makeContextifyScript(Module.wrap(content), filename, 0, 0, cached, false,
			undefined, Symbol(`cjs:${filename}`),
			(specifier, _, attributes) =>
				esm().import(specifier, normalizeReferrerURL(filename), attributes));
		if (cached === undefined) {
			stats.miss++;
		} else if (script.cachedDataRejected) {
			stats.rejected++;
		} else {
			stats.hit++;
			stats.bytes += cached.length;
		}
		// Only files inside the app are keyed; a pack never names anything outside it.
		if (recording && cacheable && !key.startsWith('..') && !path.isAbsolute(key))
			compiled.set(filename, { key, hash, script });
		const fn = runScriptInThisContext(script, true, false);
		const require = makeRequireFunction(this, undefined);
		return Reflect.apply(fn, this.exports,
			[this.exports, require, this, filename, path.dirname(filename)]);
	};
}

// Module resolution replay: what require(request) from a directory of the app resolved to is
// recorded with the pack and answered from it, so a warm start skips the stat()s and package.json
// reads of Node's search. Keyed by the requiring directory and a hash of the request; the pack's
// identity (BUILD_ID, Next's file list) guarantees the same build of the app.
const resolutions = new Map();

function resolveKey(dir) {
	const rel = path.relative(appDir, dir);
	if (rel.startsWith('..') || path.isAbsolute(rel))
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
		if (recording) {
			const target = path.relative(appDir, filename);
			if (!target.startsWith('..') && !path.isAbsolute(target))
				resolutions.set(`${key}\0${request}`, [key, hash, target]);
		}
		return filename;
	};
}

// Serialises code cache for every script compiled so far — after warm-up that includes the
// functions compiled lazily while serving — and writes it as a pack, atomically.
let recordedAt = 0;
function record(why) {
	if (compiled.size === 0 || recordedAt === compiled.size + resolutions.size)
		return;
	recordedAt = compiled.size + resolutions.size;
	const entries = [];
	for (const { key, hash, script } of compiled.values()) {
		try {
			entries.push([KIND_CODE_CACHE, key, hash, script.createCachedData()]);
		} catch {
			// A script V8 cannot serialise is simply left out.
		}
	}
	for (const [key, hash, target] of resolutions.values())
		entries.push([KIND_RESOLUTION, key, hash, Buffer.from(target)]);
	const level = Number(env.KNEXT_CACHE_LEVEL) || (env.KNEXT_RECORD_PACK ? 19 : 3);
	for (const file of recordFiles) {
		const err = knext.writePack(file, level, v8.cachedDataVersionTag(), entries);
		knext.notify(err ? `STATUS=compile cache not written to ${file}: ${err}` :
			`STATUS=compile cache written (${why}): ${entries.length} entries to ${file}`);
	}
	reportCache();
}

if (cacheOffered || recordFiles.length > 0) {
	installCompileHook();
	installResolveHook();
}
if (recordFiles.length > 0) {
	process.on('exit', () => record('exit'));
	const after = Number(env.KNEXT_RECORD_AFTER_MS);
	if (after > 0)
		setTimeout(() => record('timer'), after).unref();
}

process.argv.splice(1, 0, entry);
knext.notify('X_KNEXT_PHASE=server_start');
Module.runMain();
