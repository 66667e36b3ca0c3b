// SPDX-License-Identifier: Apache-2.0
//
// knext-init's bootstrap, compiled into knext-node. It runs before any user code, with Node's
// internal `require` (builtins only) and `process` in scope, then hands over to the app's entry
// (server.js of a Next.js standalone build) exactly as `node server.js` would.
'use strict';

const knext = process._linkedBinding('knext');
const path = require('path');
const net = require('net');

const appDir = process.env.KNEXT_APP_DIR || '/app';
const entry = path.resolve(appDir, process.env.KNEXT_ENTRY || 'server.js');
const port = process.env.PORT;

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
		});
	}
	return listen.apply(this, args);
};

// Liveness: a heartbeat from the event loop; a blocked loop stops it.
const heartbeat = Number(process.env.KNEXT_HEARTBEAT_MS) || 1000;
setInterval(() => knext.notify('WATCHDOG=1'), heartbeat).unref();

process.argv.splice(1, 0, entry);
knext.notify('X_KNEXT_PHASE=server_start');
require('module').runMain();
