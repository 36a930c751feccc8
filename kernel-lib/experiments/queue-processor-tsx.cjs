// BullMQ loads a sandboxed processor with import(), which cannot load TypeScript. When the library
// runs from its .ts sources (tsx: tests, `npm run worker`), queue.ts hands BullMQ this file instead:
// it registers tsx's require hook (a no-op when the worker already runs under --require tsx/cjs)
// and re-exports the TypeScript processor. The compiled library uses dist/…/queue-processor.js.
"use strict";
require("tsx/cjs");
module.exports = require("./queue-processor.ts");
