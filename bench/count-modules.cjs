'use strict';
// Preload (node -r) that counts the CommonJS modules a server has compiled when its first response
// finishes, and prints one JSON line on stderr: {"event":"modules","count":N,"bytes":B}.
// Used to check that the large fixture loads at least three times the small one's modules.
const Module = require('module');
const http = require('http');

let count = 0;
let bytes = 0;
const compile = Module.prototype._compile;
Module.prototype._compile = function (content, filename) {
	count++;
	bytes += content.length;
	return compile.call(this, content, filename);
};

let reported = false;
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (type, req, res) {
	if (type === 'request' && !reported) {
		res.on('finish', () => {
			if (reported) return;
			reported = true;
			process.stderr.write(JSON.stringify({ event: 'modules', status: res.statusCode, count, bytes }) + '\n');
		});
	}
	return emit.apply(this, arguments);
};

// As a program: node count-modules.cjs APP_DIR — starts APP_DIR/server.js with this file preloaded
// on a free port, waits for the first 200 on /, and prints the module count of that first 200.
if (require.main === module) {
	const { spawn } = require('child_process');
	const net = require('net');
	const path = require('path');
	const dir = path.resolve(process.argv[2] || '.');
	const srv = net.createServer().listen(0, '127.0.0.1', () => {
		const port = srv.address().port;
		srv.close();
		const child = spawn(process.execPath, ['-r', __filename, 'server.js'], {
			cwd: dir,
			env: { ...process.env, PORT: String(port), HOSTNAME: '127.0.0.1', NEXT_TELEMETRY_DISABLED: '1' },
			stdio: ['ignore', 'ignore', 'pipe'],
		});
		let err = '';
		const done = (code, msg) => {
			child.kill('SIGKILL');
			if (msg) process.stdout.write(msg + '\n');
			process.exitCode = code;
		};
		const timer = setTimeout(() => done(1, 'no 200 within 60 s: ' + err.slice(-300)), 60000);
		child.stderr.on('data', (d) => {
			err += d;
			const m = err.match(/\{"event":"modules"[^\n]*\}/);
			if (m) {
				clearTimeout(timer);
				done(0, m[0]);
			}
		});
		const poll = () => {
			fetch(`http://127.0.0.1:${port}/`).then((r) => r.arrayBuffer(), () => setTimeout(poll, 20));
		};
		poll();
	});
}
