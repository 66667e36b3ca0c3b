// SPDX-License-Identifier: Apache-2.0
//
// Preloaded (`node -r record.js server.js`) by `knext-init cache warm` when it builds a startup
// snapshot: writes the CommonJS modules the server has loaded when its first response is finished,
// in the order they were first required, one absolute path a line, to $KNEXT_SNAPSHOT_RECORD.
'use strict';

const fs = require('fs');
const http = require('http');

const out = process.env.KNEXT_SNAPSHOT_RECORD;
delete process.env.KNEXT_SNAPSHOT_RECORD;
let written = false;

function write() {
	if (written || !out)
		return;
	written = true;
	// The entry itself runs at every start; native addons cannot be in a snapshot.
	const main = process.mainModule && process.mainModule.filename;
	const files = Object.keys(require.cache).filter((f) => f !== __filename && f !== main &&
		!f.endsWith('.node'));
	fs.writeFileSync(out, files.join('\n') + '\n');
}

const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function knextRecordEmit(name, req, res) {
	if (name === 'request' && !written && res)
		res.once('finish', write);
	return Reflect.apply(emit, this, arguments);
};
