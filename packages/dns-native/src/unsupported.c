/* Non-Linux builds: an empty module, so index.js reports "unsupported" and JS uses the Node path. */
#include <node_api.h>

static napi_value init(napi_env env, napi_value exports) {
  (void)env;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
