"use strict";
// Loads the compiled addon if `npm install` could build it; otherwise exports null and the reason, so
// the forwarder falls back to Node's UDP path (see packages/agent-core/src/dns/udp-socket.ts).
let native = null;
let loadError = null;
if (process.platform !== "linux") {
  loadError = new Error(`unsupported platform ${process.platform}`);
} else {
  try {
    native = require("./build/Release/dns_native.node");
    if (typeof native.open !== "function") {
      loadError = new Error("addon has no open()");
      native = null;
    }
  } catch (error) {
    loadError = error;
  }
}
module.exports = { native, loadError };
