// Fills NODE_COMPILE_CACHE for an app at image build time (the bench-node-ncc stage of
// container/image/Containerfile): runs `node server.js` with the variable set, requests the
// routes the other images are warmed with, and ends it with SIGTERM, since Node writes its
// compile cache at exit. Usage: node warm-ncc.cjs APP_DIR
'use strict';
const { spawn } = require('node:child_process');
const http = require('node:http');
const net = require('node:net');

const app = process.argv[2];
const paths = ['/', '/dynamic', '/api/health'];

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer().listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
		s.on('error', reject);
	});
}

function get(port, path) {
	return new Promise((resolve) => {
		const req = http.get({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
			res.resume();
			res.on('end', () => resolve(res.statusCode));
		});
		req.on('error', () => resolve(0));
		req.on('timeout', () => req.destroy());
	});
}

async function main() {
	if (!app || !process.env.NODE_COMPILE_CACHE)
		throw new Error('usage: NODE_COMPILE_CACHE=DIR node warm-ncc.cjs APP_DIR');
	const port = await freePort();
	const child = spawn(process.execPath, ['server.js'], {
		cwd: app,
		env: { ...process.env, PORT: String(port), HOSTNAME: '127.0.0.1' },
		stdio: 'inherit',
	});
	const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve(code ?? sig)));
	const deadline = Date.now() + 60000;
	while ((await get(port, paths[0])) !== 200) {
		if (Date.now() > deadline || child.exitCode !== null)
			throw new Error(`server did not answer 200 on ${paths[0]}`);
		await new Promise((r) => setTimeout(r, 100));
	}
	for (const p of paths) {
		const code = await get(port, p);
		if (code !== 200) throw new Error(`${p} answered ${code}`);
	}
	child.kill('SIGTERM');
	console.log(`warm-ncc: server exited with ${await exited}`);
}

main().catch((e) => {
	console.error(`warm-ncc: ${e.message}`);
	process.exit(1);
});
