// The baseline for bench.sh: what answering /readyz costs when the app itself does it, on
// Node's own http server (one thread), with the same response the probe server sends.
'use strict';
const body = 'ready\n';
require('http')
	.createServer((req, res) => {
		res.writeHead(200, {
			'Content-Type': 'text/plain; charset=utf-8',
			'Content-Length': body.length,
			'Cache-Control': 'no-store',
		});
		res.end(body);
	})
	.listen(+process.argv[2] || 0, '127.0.0.1', function () {
		console.log('port ' + this.address().port);
	});
