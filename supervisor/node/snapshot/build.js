// SPDX-License-Identifier: Apache-2.0
//
// The startup-snapshot builder of a Next.js standalone server, run by `knext-init cache warm` with
// the official node:
//
//   node --no-experimental-require-module --expose-internals --snapshot-blob B \
//        --build-snapshot build.js
//
// in a minimal environment (see README, "Startup snapshot"): KNEXT_APP_DIR (the app), KNEXT_SNAPSHOT_
// MODULES (the CommonJS modules the server loaded until its first 200, one a line, from record.js)
// and KNEXT_SNAPSHOT_ENV (where the record of the environment is written). It sets what server.js
// sets, loads every module, and leaves in the heap what runs at a pod's start: a deserialize
// callback that gives the pod its own time and web globals (Node itself reseeds Math.random and
// crypto), then server.js, run by the deserialize main (node CLI) or by knext-node's bootstrap
// through globalThis[Symbol.for('knext.restore')]; its requires find the loaded modules in
// Module._cache.
//
// With KNEXT_SNAPSHOT_WARMUP (the warm-up URLs, one a line; KNEXT_SNAPSHOT_WARMUP_MANIFEST=1 adds
// the routes Next's manifests list as prerendered or static), the loaded server then serves them
// in memory (no http, no sockets) with a Next server of the builder's own, so the modules, the
// compiled functions and what modules keep across requests are in the heap: a pod's first request
// runs warm. The pod still makes its own server, as server.js does (see warmUp()).
//
// Node cannot serialise everything a server loads; what stands in the way, and what is done:
// - undici's web globals (Request, Response, ...) are lazy getters that load undici (and with it
//   http and tls) at first touch, and Next touches them at load (`class NextRequest extends
//   Request`): they are replaced by stand-ins whose constructors build the real objects, and whose
//   prototypes are linked to the real classes at restore.
// - http, https, http2 and tls cannot be in a snapshot: modules get a proxy that loads the real
//   module at first use after restore.
// - Node's CommonJS loader marks "user code has run" when it compiles a module, and a snapshot
//   carrying that mark fails an assertion at restore: modules compile through vm.Script and a
//   wrapper made here, as Node's own module wrapper does.
// - Node 22 cannot serialise an Error whose stack was captured but not yet formatted: stacks
//   captured while building are formatted at once.
// - ESM cannot be in a snapshot: record, build and run with --no-experimental-require-module.
// - Serving a page makes Headers (undici's): while the warm-up serves, `new Headers()` gets a
//   builder-only class, `x instanceof Headers` (or Request, Response) is false for anything else.
// - A vm context cannot be in a snapshot: manifests Next evaluates in a new context run in this
//   one while building, and Node's internal RegExp realm is made at first use after restore.
'use strict';

const Module = require('module');
const fs = require('fs');
const path = require('path');
const v8 = require('v8');
const vm = require('vm');

const appDir = path.resolve(process.env.KNEXT_APP_DIR || '.');
const moduleList = process.env.KNEXT_SNAPSHOT_MODULES;
const envOut = process.env.KNEXT_SNAPSHOT_ENV;
const warmList = process.env.KNEXT_SNAPSHOT_WARMUP;
const warmManifest = process.env.KNEXT_SNAPSHOT_WARMUP_MANIFEST === '1';
for (const k of ['KNEXT_APP_DIR', 'KNEXT_SNAPSHOT_MODULES', 'KNEXT_SNAPSHOT_ENV',
	'KNEXT_SNAPSHOT_WARMUP', 'KNEXT_SNAPSHOT_WARMUP_MANIFEST', 'KNEXT_SNAPSHOT_BYTECODE'])
	delete process.env[k];
let building = true;

// ---- the environment, recorded ----------------------------------------------------------------

// What modules read from process.env while they load is frozen into the heap: every name read is
// recorded with its value (null: unset), and a pod whose environment differs in any of them does
// not use the snapshot. What modules set is set again at restore (their code does not run again).
const realEnv = process.env;
const setByServer = new Set(['NODE_ENV', '__NEXT_PRIVATE_STANDALONE_CONFIG']);
const envRead = new Map();
const envSet = new Map();
let envEnumerated = false;

function noteEnv(k) {
	if (!building || typeof k !== 'string' || setByServer.has(k) || envSet.has(k) || envRead.has(k))
		return;
	envRead.set(k, Object.prototype.hasOwnProperty.call(realEnv, k) ? realEnv[k] : null);
}

const envProxy = new Proxy(realEnv, {
	get(t, k) {
		noteEnv(k);
		return t[k];
	},
	has(t, k) {
		noteEnv(k);
		return k in t;
	},
	getOwnPropertyDescriptor(t, k) {
		noteEnv(k);
		return Reflect.getOwnPropertyDescriptor(t, k);
	},
	ownKeys(t) {
		if (building) {
			envEnumerated = true;
			for (const k of Reflect.ownKeys(t))
				noteEnv(k);
		}
		return Reflect.ownKeys(t);
	},
	set(t, k, v) {
		if (building && typeof k === 'string')
			envSet.set(k, String(v));
		t[k] = v;
		return true;
	},
	deleteProperty(t, k) {
		if (building && typeof k === 'string')
			envSet.set(k, null);
		delete t[k];
		return true;
	},
});

// ---- undici's web globals ---------------------------------------------------------------------

const WEB_GLOBALS = ['Headers', 'Request', 'Response', 'FormData', 'WebSocket', 'EventSource',
	'MessageEvent', 'CloseEvent'];
const UNDICI = 'internal/deps/undici/undici';
// Node's own definer of lazy globals (needs --expose-internals while building, not at restore).
const { defineLazyProperties } = require('internal/util');
const webNames = [];
// While the warm-up serves requests, `new Headers()` (Next makes them for every page) gets this
// builder-only one: a name-ordered multimap as the Fetch standard describes; nothing made of it
// outlives a request. The real class comes back with the others at restore.
class WarmHeaders {
	#m = new Map();

	constructor(init) {
		const pairs = init == null ? [] :
			typeof init[Symbol.iterator] === 'function' ? init : Object.entries(init);
		for (const [k, v] of pairs)
			this.append(k, v);
	}

	append(k, v) {
		const key = String(k).toLowerCase();
		this.#m.set(key, [...(this.#m.get(key) ?? []), String(v)]);
	}

	set(k, v) {
		this.#m.set(String(k).toLowerCase(), [String(v)]);
	}

	get(k) {
		const v = this.#m.get(String(k).toLowerCase());
		return v === undefined ? null : v.join(', ');
	}

	getSetCookie() {
		return [...(this.#m.get('set-cookie') ?? [])];
	}

	has(k) {
		return this.#m.has(String(k).toLowerCase());
	}

	delete(k) {
		this.#m.delete(String(k).toLowerCase());
	}

	*entries() {
		for (const k of [...this.#m.keys()].sort()) {
			if (k === 'set-cookie') {
				for (const v of this.#m.get(k))
					yield [k, v];
			} else {
				yield [k, this.get(k)];
			}
		}
	}

	*keys() {
		for (const [k] of this.entries())
			yield k;
	}

	*values() {
		for (const [, v] of this.entries())
			yield v;
	}

	forEach(fn, self) {
		for (const [k, v] of this.entries())
			Reflect.apply(fn, self, [v, k, this]);
	}

	[Symbol.iterator]() {
		return this.entries();
	}
}
const warmClasses = { Headers: WarmHeaders };
const ordinaryHasInstance = Function.prototype[Symbol.hasInstance];

function webStandIn(name) {
	let real = null;
	const load = () => {
		if (building && warmClasses[name])
			return warmClasses[name];
		if (building)
			throw new Error(`${name} used while building the startup snapshot`);
		real ??= globalThis[name];
		return real;
	};
	const standIn = {
		[name]: class {
			constructor(...args) {
				return Reflect.construct(load(), args, new.target);
			}
		},
	}[name];
	// `x instanceof Response` holds for real responses too; subclasses keep the ordinary check.
	Object.defineProperty(standIn, Symbol.hasInstance, {
		value(v) {
			// While building no real one exists: nothing is one.
			return this === standIn && !building ? ordinaryHasInstance.call(load(), v) :
				ordinaryHasInstance.call(this, v);
		},
		configurable: true,
	});
	// While the warm-up serves requests, what is made of the stand-in has the builder's methods.
	standIn.lend = (cls) => Object.setPrototypeOf(standIn.prototype, cls ? cls.prototype :
		Object.prototype);
	standIn.link = () => {
		const r = load();
		Object.setPrototypeOf(standIn.prototype, r.prototype);
		Object.setPrototypeOf(standIn, r);
		delete standIn.link;
		delete standIn.lend;
	};
	return standIn;
}

// The lazy globals are deleted unread: even reading their descriptors makes objects a snapshot
// cannot hold.
function installWebStandIns() {
	const standIns = [];
	for (const name of WEB_GLOBALS) {
		if (!Object.hasOwn(globalThis, name))
			continue;
		webNames.push(name);
		delete globalThis[name];
		const s = webStandIn(name);
		standIns.push(s);
		Object.defineProperty(globalThis, name, {
			value: s, writable: true, configurable: true, enumerable: false,
		});
	}
	return standIns;
}

// ---- http, https, http2, tls ------------------------------------------------------------------

const LAZY_BUILTINS = new Set(['http', 'https', 'http2', 'tls', '_http_agent', '_http_client',
	'_http_common', '_http_incoming', '_http_outgoing', '_http_server', '_tls_common', '_tls_wrap']);
const lazyProxies = new Map();

function lazyBuiltin(id, load) {
	let real = null;
	const get = () => {
		if (building)
			throw new Error(`${id} used while building the startup snapshot`);
		real ??= load();
		return real;
	};
	// A property read while building (`const { Agent } = require('http')`) is a forwarder too.
	const member = (k) => new Proxy(function () {}, {
		apply: (_, self, args) => Reflect.apply(get()[k], self, args),
		construct: (_, args, nt) => Reflect.construct(get()[k], args, nt),
		get: (_, p) => {
			const v = get()[k];
			const x = v[p];
			return typeof x === 'function' && p !== 'prototype' ? x.bind(v) : x;
		},
		has: (_, p) => p in get()[k],
	});
	return new Proxy({}, {
		get(_, k) {
			if (building) {
				if (k === '__esModule' || k === 'then' || typeof k === 'symbol')
					return undefined;
				return member(k);
			}
			return get()[k];
		},
		has: (_, k) => k in get(),
		set(_, k, v) {
			get()[k] = v;
			return true;
		},
		ownKeys: () => Reflect.ownKeys(get()).filter((k) => k !== 'prototype'),
		getOwnPropertyDescriptor(_, k) {
			const d = Reflect.getOwnPropertyDescriptor(get(), k);
			if (d)
				d.configurable = true;
			return d;
		},
		defineProperty: (_, k, d) => Reflect.defineProperty(get(), k, d),
		deleteProperty: (_, k) => Reflect.deleteProperty(get(), k),
	});
}

// ---- compiling modules ------------------------------------------------------------------------

function makeRequire(mod) {
	function require(id) {
		return mod.require(id);
	}
	require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
	require.resolve.paths = (request) => Module._resolveLookupPaths(request, mod);
	require.main = process.mainModule;
	require.extensions = Module._extensions;
	require.cache = Module._cache;
	return require;
}

// vm.compileFunction, unlike vm.Script, leaves no script object (a handle the snapshot cannot
// hold) behind, and unlike Node's own loader does not mark user code as started.
const WRAPPER_PARAMS = ['exports', 'require', 'module', '__filename', '__dirname'];

function compileModule(content, filename) {
	const source = content.startsWith('#!') ? `//${content.slice(2)}` : content;
	const fn = vm.compileFunction(source, WRAPPER_PARAMS, {
		filename,
		importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
	});
	return Reflect.apply(fn, this.exports,
		[this.exports, makeRequire(this), this, filename, path.dirname(filename)]);
}

// ---- Node 22: stacks formatted at once ------------------------------------------------------

const ERROR_CLASSES = ['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError',
	'EvalError', 'URIError', 'AggregateError'];

// Every error constructor while building is a forwarder that reads the stack of what it made
// (subclasses declared while building keep it; it reads nothing after the build). Errors V8
// itself throws at load and a module keeps are not covered.
function formatStacksEagerly() {
	const saved = {};
	for (const name of ERROR_CLASSES) {
		const Real = globalThis[name];
		saved[name] = Real;
		const Eager = {
			[name]: function (...args) {
				const e = Reflect.construct(Real, args, new.target ?? Eager);
				if (building)
					void e.stack;
				return e;
			},
		}[name];
		Eager.prototype = Real.prototype;
		Object.setPrototypeOf(Eager, Real);
		for (const k of ['stackTraceLimit', 'prepareStackTrace']) {
			Object.defineProperty(Eager, k, {
				get: () => Real[k],
				set: (v) => {
					Real[k] = v;
				},
				configurable: true,
			});
		}
		Eager.captureStackTrace = function captureStackTrace(obj, fn) {
			Real.captureStackTrace(obj, fn);
			if (building)
				void obj.stack;
		};
		globalThis[name] = Eager;
	}
	return saved;
}


// ---- warm-up ----------------------------------------------------------------------------------

// The warm-up serves requests inside the builder, without http (which cannot be in a snapshot):
// Next's request handler gets in-memory requests and responses with the parts of Node's
// IncomingMessage and ServerResponse it uses. What they answer goes nowhere.
const { Readable, Writable } = require('stream');

function warmRequest(url, host) {
	const req = new Readable({
		read() {
			this.push(null);
		},
	});
	const headers = { host, 'user-agent': 'knext-snapshot-warmup', accept: '*/*' };
	Object.assign(req, {
		url, method: 'GET', headers, httpVersion: '1.1', httpVersionMajor: 1,
		httpVersionMinor: 1, complete: true, trailers: {}, rawTrailers: [],
		rawHeaders: Object.entries(headers).flat(),
		socket: { remoteAddress: '127.0.0.1', remotePort: 0, localAddress: '127.0.0.1',
			localPort: 0, encrypted: false, readable: true, writable: true,
			on() {}, once() {}, off() {}, removeListener() {}, destroy() {},
			setTimeout() {}, setNoDelay() {}, setKeepAlive() {} },
	});
	req.connection = req.socket;
	return req;
}

class WarmResponse extends Writable {
	constructor(req) {
		super();
		this.req = req;
		this.statusCode = 200;
		this.statusMessage = '';
		this.headersSent = false;
		this.sendDate = true;
		this.bytes = 0;
		this.headerMap = new Map();
		this.socket = this.connection = req.socket;
	}

	get finished() {
		return this.writableEnded;
	}

	setHeader(name, value) {
		this.headerMap.set(String(name).toLowerCase(), [name, value]);
		return this;
	}

	appendHeader(name, value) {
		const old = this.getHeader(name);
		const add = Array.isArray(value) ? value : [value];
		return this.setHeader(name, old === undefined ? value : [].concat(old, add));
	}

	getHeader(name) {
		return this.headerMap.get(String(name).toLowerCase())?.[1];
	}

	getHeaderNames() {
		return [...this.headerMap.keys()];
	}

	getHeaders() {
		const h = { __proto__: null };
		for (const [k, [, v]] of this.headerMap)
			h[k] = v;
		return h;
	}

	hasHeader(name) {
		return this.headerMap.has(String(name).toLowerCase());
	}

	removeHeader(name) {
		this.headerMap.delete(String(name).toLowerCase());
	}

	writeHead(code, message, headers) {
		if (typeof message !== 'string') {
			headers = message;
			message = undefined;
		}
		this.statusCode = code;
		if (message)
			this.statusMessage = message;
		if (Array.isArray(headers)) {
			for (let i = 0; i + 1 < headers.length; i += 2)
				this.appendHeader(headers[i], headers[i + 1]);
		} else if (headers) {
			for (const [k, v] of Object.entries(headers))
				this.setHeader(k, v);
		}
		this.headersSent = true;
		return this;
	}

	flushHeaders() {
		this.headersSent = true;
	}

	// What ServerResponse does when a body is written before writeHead() (compression calls it).
	_implicitHeader() {
		this.writeHead(this.statusCode);
	}

	flush() {}

	_write(chunk, encoding, callback) {
		this.headersSent = true;
		this.bytes += chunk.length;
		callback();
	}

	_final(callback) {
		this.headersSent = true;
		callback();
	}
}

function warmOne(handler, url, host) {
	const req = warmRequest(url, host);
	const res = new WarmResponse(req);
	const done = new Promise((resolve) => res.once('close', resolve));
	return Promise.resolve(handler(req, res)).then(() => done).then(() => res);
}

// ---- building ---------------------------------------------------------------------------------

// server.js's own config: the literal it assigns to nextConfig, else the build's copy; null for
// an app that is not a Next.js standalone build.
function standaloneConfig() {
	try {
		const src = fs.readFileSync(path.join(appDir, 'server.js'), 'utf8');
		const m = /^const nextConfig = (.*)$/m.exec(src);
		if (m)
			return JSON.stringify(JSON.parse(m[1]));
		const rsf = path.join(appDir, '.next', 'required-server-files.json');
		return JSON.stringify(JSON.parse(fs.readFileSync(rsf, 'utf8')).config);
	} catch {
		return null;
	}
}

// The warm-up URLs: KNEXT_SNAPSHOT_WARMUP (one a line; unset: no warm-up), and with
// KNEXT_SNAPSHOT_WARMUP_MANIFEST=1 the routes Next's manifests list as prerendered (App Router)
// or static (Pages Router), under the basePath.
function warmUrls(config) {
	const urls = new Set((warmList || '').split('\n').filter((u) => u.startsWith('/')));
	if (!warmManifest || config === null)
		return [...urls];
	const base = JSON.parse(config).basePath || '';
	const read = (name) => {
		try {
			return JSON.parse(fs.readFileSync(path.join(appDir, '.next', name), 'utf8'));
		} catch {
			return null;
		}
	};
	const prerendered = read('prerender-manifest.json');
	const pages = read(path.join('server', 'pages-manifest.json'));
	const routes = Object.keys(prerendered?.routes ?? {});
	for (const [route, file] of Object.entries(pages ?? {})) {
		if (typeof file === 'string' && file.endsWith('.html'))
			routes.push(route);
	}
	for (const r of routes.sort()) {
		if (!r.startsWith('/_') && !/^\/(404|500)$/.test(r))
			urls.add(r === '/' && base ? base : base + r);
	}
	return [...urls];
}

// App Router route handlers (route.js) answer with fetch's Request and Response, which cannot be
// in a snapshot (undici brings http and tls): a matcher for their URLs, which the warm-up skips.
function routeHandlerMatcher(config) {
	const base = JSON.parse(config).basePath || '';
	let routes = {};
	try {
		routes = JSON.parse(fs.readFileSync(path.join(appDir, '.next',
			'app-path-routes-manifest.json'), 'utf8'));
	} catch {
		// no App Router
	}
	const esc = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
	const res = Object.entries(routes).filter(([file]) => file.endsWith('/route')).map(([, r]) =>
		new RegExp('^' + r.split('/').map((seg) =>
			/^\[\[\.\.\..+\]\]$/.test(seg) ? '.*' : /^\[\.\.\..+\]$/.test(seg) ? '.+' :
				/^\[.+\]$/.test(seg) ? '[^/]+' : esc(seg)).join('/') + '/?$'));
	return (url) => {
		let p = url.split('?')[0];
		if (base && (p === base || p.startsWith(base + '/')))
			p = p.slice(base.length) || '/';
		return res.some((re) => re.test(p));
	};
}

// Process listeners a warm-up adds (Next's router installs error loggers per server) go with it.
const WARM_EVENTS = ['uncaughtException', 'unhandledRejection', 'rejectionHandled', 'warning',
	'exit', 'beforeExit', 'SIGINT', 'SIGTERM'];

// Next's request handler, made as server.js's startServer makes it, serves @urls in memory. The
// server it makes is the builder's own: its directory is spelt with a trailing separator, so
// Next's per-directory registries (its initialised servers, its router's handlers) keep the
// pod's own server apart, and it keeps no cache of rendered pages in memory or on disk (a pod
// reads them from the build as it would without a snapshot). What stays in the heap: the modules
// the requests loaded, the functions they compiled, what modules keep for every request.
// Until no more I/O or timers are pending than @count (10 s at most).
async function settle(count) {
	const until = Date.now() + 10000;
	for (;;) {
		await new Promise((resolve) => setImmediate(resolve));
		if (process.getActiveResourcesInfo().length <= count || Date.now() > until)
			return;
		await new Promise((resolve) => setTimeout(resolve, 2));
	}
}

async function warmUp(urls, config, standIns) {
	// What the warm-up sets in the environment (Next marks .env files as loaded) is undone: the
	// pod's server does it again. What it reads is recorded like what loading reads.
	const envBefore = { ...realEnv };
	const envSetBefore = new Map(envSet);
	const resources = process.getActiveResourcesInfo().length;
	const listeners = WARM_EVENTS.map((e) => [e, process.listeners(e)]);
	const marks = new Set(performance.getEntriesByType('mark').map((m) => m.name));
	const nextConfig = JSON.parse(config);
	nextConfig.cacheMaxMemorySize = 0;
	nextConfig.experimental = { ...nextConfig.experimental, isrFlushToDisk: false };
	realEnv.__NEXT_PRIVATE_STANDALONE_CONFIG = JSON.stringify(nextConfig);
	// Next makes its outgoing http agents once per process, and http cannot be in a snapshot:
	// the builder's server finds them made, the pod's server makes them.
	const agentless = globalThis.__NEXT_HTTP_AGENT === undefined;
	if (agentless)
		globalThis.__NEXT_HTTP_AGENT = {};
	// A vm context cannot be in a snapshot. Next evaluates its client reference manifests in one
	// of their own (globalThis.__RSC_MANIFEST = ...): in the builder they run in this one, with
	// the object given as their globalThis. Node's internals keep one for side-effect-free
	// RegExps (getInternalGlobal()): they get a stand-in that makes it at first use after restore.
	const runInNewContext = vm.runInNewContext;
	let internalGlobal = null;
	const internalStandIn = new Proxy({}, {
		get(_, k) {
			if (building)
				return globalThis[k];
			internalGlobal ??= runInNewContext('this', undefined, { contextName: 'internal' });
			return internalGlobal[k];
		},
	});
	vm.runInNewContext = function knextRunInThisContext(code, sandbox, options) {
		if (code === 'this' && sandbox === undefined && options?.contextName === 'internal')
			return internalStandIn;
		if (typeof code !== 'string' || sandbox === null || typeof sandbox !== 'object')
			return Reflect.apply(runInNewContext, this, arguments);
		const filename = typeof options === 'string' ? options : options?.filename;
		return vm.compileFunction(code, ['globalThis', 'self'], { filename })(sandbox, sandbox);
	};
	for (const s of standIns)
		s.lend(warmClasses[s.name]);
	const req = Module.createRequire(path.join(appDir, 'server.js'));
	const { getRequestHandlers } = req('next/dist/server/lib/start-server');
	const { requestHandler, server } = await getRequestHandlers({
		dir: appDir + path.sep, port: 3000, isDev: false, hostname: 'localhost',
		minimalMode: false, quiet: false,
	});
	const isRouteHandler = routeHandlerMatcher(config);
	for (const url of urls) {
		if (isRouteHandler(url)) {
			process.stderr.write(`snapshot: no warm-up of ${url}: a route handler (fetch's ` +
				'Request and Response cannot be in a snapshot)\n');
			continue;
		}
		const t0 = performance.now();
		const res = await warmOne(requestHandler, url, 'localhost:3000');
		process.stderr.write(`snapshot: warm-up GET ${url} -> ${res.statusCode}, ` +
			`${res.bytes} bytes, ${Math.round(performance.now() - t0)} ms\n`);
		if (res.statusCode >= 500)
			throw new Error(`GET ${url} answered ${res.statusCode}`);
	}
	await server.close?.();
	// What Next started in the background (it preloads the app's routes) ends in the builder.
	await settle(resources);
	vm.runInNewContext = runInNewContext;
	for (const s of standIns)
		s.lend(null);
	if (agentless)
		delete globalThis.__NEXT_HTTP_AGENT;
	for (const k of Object.keys(realEnv)) {
		if (!Object.hasOwn(envBefore, k))
			delete realEnv[k];
	}
	Object.assign(realEnv, envBefore);
	envSet.clear();
	for (const [k, v] of envSetBefore)
		envSet.set(k, v);
	for (const [e, before] of listeners) {
		for (const l of process.listeners(e)) {
			if (!before.includes(l))
				process.removeListener(e, l);
		}
	}
	for (const m of performance.getEntriesByType('mark')) {
		if (!marks.has(m.name))
			performance.clearMarks(m.name);
	}
	performance.clearMeasures();
}

async function build() {
	const files = fs.readFileSync(moduleList, 'utf8').split('\n').filter(Boolean);
	const load = Module._load;
	const compile = Module.prototype._compile;
	const formatStacks = Number(process.versions.node.split('.')[0]) < 24;

	process.chdir(appDir);
	const config = standaloneConfig();
	if (config !== null) {
		realEnv.NODE_ENV = 'production';
		realEnv.__NEXT_PRIVATE_STANDALONE_CONFIG = config;
	}
	process.env = envProxy;
	const standIns = installWebStandIns();
	Module._load = function knextSnapshotLoad(request, parent, isMain) {
		const id = request.startsWith('node:') ? request.slice(5) : request;
		if (LAZY_BUILTINS.has(id) && Module.isBuiltin(id)) {
			if (!lazyProxies.has(id))
				lazyProxies.set(id, lazyBuiltin(id, () => load(id, parent, isMain)));
			return lazyProxies.get(id);
		}
		return Reflect.apply(load, this, arguments);
	};
	Module.prototype._compile = compileModule;
	const errorsSaved = formatStacks ? formatStacksEagerly() : null;
	let current = null;
	try {
		for (const file of files) {
			if (Module._cache[file] !== undefined)
				continue;
			current = file;
			const req = Module.createRequire(file);
			req(file);
		}
	} catch (err) {
		const rel = current && path.relative(appDir, current);
		process.stderr.write(`snapshot: loading ${rel} broke the build: ${err && err.stack}\n`);
		process.exit(3);
	}
	const marks = performance.getEntriesByType('mark').map((m) => m.name);
	const urls = warmUrls(config);
	if (urls.length > 0 && config === null)
		process.stderr.write('snapshot: no warm-up: not a Next.js standalone server\n');
	if (urls.length > 0 && config !== null) {
		try {
			await warmUp(urls, config, standIns);
		} catch (err) {
			process.stderr.write(`snapshot: the warm-up broke the build: ${err && err.stack}\n`);
			process.exit(4);
		}
	}
	Module._load = load;
	Module.prototype._compile = compile;
	if (errorsSaved)
		Object.assign(globalThis, errorsSaved);
	process.env = realEnv;

	const record = { app: appDir, set: Object.fromEntries(envSet) };
	fs.writeFileSync(envOut, envRecord());
	delete realEnv.__NEXT_PRIVATE_STANDALONE_CONFIG;
	delete realEnv.NODE_ENV;

	const snapshot = v8.startupSnapshot;
	snapshot.addDeserializeCallback(() => restore(standIns, marks, record));
	// Who runs server.js: knext-node's bootstrap calls this (after its own hooks); the node CLI
	// (exec mode) calls the deserialize main.
	const restoreKey = Symbol.for('knext.restore');
	globalThis[restoreKey] = (knext, settings) => runEntry(settings && settings.entry, record);
	snapshot.setDeserializeMainFunction(() => {
		delete globalThis[restoreKey];
		runEntry(process.argv[1], record);
	});
}

// The record PID 1 compares with a pod's environment before it uses the snapshot (FORMAT.md,
// kind 8): one "key value" a line, values with backslash and newline escaped.
function envRecord() {
	const esc = (v) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
	const st = fs.statSync(process.execPath, { bigint: true });
	const lines = ['knext-snapshot 1', `app ${esc(appDir)}`, `node ${process.version}`, `arch ${process.arch}`,
		`exe ${esc(fs.realpathSync(process.execPath))}`, `exe-size ${st.size}`,
		`exe-mtime-ns ${st.mtimeNs}`, `enumerated ${envEnumerated ? 1 : 0}`,
		`modules ${Object.keys(Module._cache).length}`];
	for (const [k, v] of [...envRead].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
		lines.push(v === null ? `unset ${esc(k)}` : `env ${esc(k)}=${esc(v)}`);
	return lines.join('\n') + '\n';
}

// ---- at a pod's start -------------------------------------------------------------------------

function restore(standIns, marks, record) {
	building = false;
	// What modules set in process.env while loading, as if they had just loaded.
	for (const [k, v] of Object.entries(record.set)) {
		if (v === null)
			delete process.env[k];
		else
			process.env[k] = v;
	}
	// The real lazy web globals again, and the stand-ins Next extended become their subclasses.
	for (const name of webNames)
		delete globalThis[name];
	defineLazyProperties(globalThis, UNDICI, webNames, false);
	for (const s of standIns)
		s.link();
	// Time is the pod's: marks taken while loading (Next's 'next-start') are taken now.
	for (const name of marks) {
		performance.clearMarks(name);
		performance.mark(name);
	}
}

// server.js runs as `node server.js` would run it; its requires find the loaded modules.
function runEntry(file, record) {
	const entry = path.resolve(file || path.join(record.app, 'server.js'));
	process.argv[1] = entry;
	Module.runMain(entry);
}

build();
