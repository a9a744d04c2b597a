{
  "targets": [
    {
      "target_name": "dns_native",
      "sources": ["src/dns_native.c", "src/plain_list.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "conditions": [
        ["OS!='linux'", { "sources!": ["src/dns_native.c", "src/plain_list.c"], "sources": ["src/unsupported.c"] }]
      ]
    }
  ]
}
