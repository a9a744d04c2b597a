/* Plain domain list compiler (plain_list.c), exported by the addon as compilePlainList. */
#ifndef BETBLOCKER_PLAIN_LIST_H
#define BETBLOCKER_PLAIN_LIST_H
#include <node_api.h>

/* Fills the byte table once; call before the first compile. */
void plain_list_init(void);
napi_value plain_list_compile(napi_env env, napi_callback_info info);

#endif
