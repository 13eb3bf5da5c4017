// The example's app. Inside the VM: `node server.js` (or from the host,
// `vmhook shell -- node server.js`), then open http://localhost:3000.
const http = require("node:http");
const os = require("node:os");

const port = Number(process.env.PORT || 3000);

http
  .createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.end(`hello from ${os.hostname()}\n`);
  })
  .listen(port, "0.0.0.0", () => {
    console.log(`listening on port ${port}`);
  });
