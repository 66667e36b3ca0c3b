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
