#include "net/nft_apply.h"

#include <dlfcn.h>

#include <cstdint>

namespace airlock {
namespace {

// The few libnftables entry points we use (nftables/libnftables.h, ABI of libnftables.so.1).
struct NftApi {
  void* (*ctx_new)(uint32_t) = nullptr;
  void (*ctx_free)(void*) = nullptr;
  int (*buffer_output)(void*) = nullptr;
  int (*buffer_error)(void*) = nullptr;
  const char* (*get_output)(void*) = nullptr;
  const char* (*get_error)(void*) = nullptr;
  int (*run_cmd)(void*, const char*) = nullptr;
};

Result<NftApi> LoadNft() {
  void* h = ::dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* why = ::dlerror();
    return MakeError(std::string("nftables is not available (install the Debian package libnftables1): ") + (why ? why : "dlopen failed"));
  }
  NftApi api;
  bool ok = true;
  auto sym = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(h, name));
    ok = ok && fn != nullptr;
  };
  sym(api.ctx_new, "nft_ctx_new");
  sym(api.ctx_free, "nft_ctx_free");
  sym(api.buffer_output, "nft_ctx_buffer_output");
  sym(api.buffer_error, "nft_ctx_buffer_error");
  sym(api.get_output, "nft_ctx_get_output_buffer");
  sym(api.get_error, "nft_ctx_get_error_buffer");
  sym(api.run_cmd, "nft_run_cmd_from_buffer");
  if (!ok) return MakeError("libnftables.so.1 lacks an expected symbol (nft_ctx_new / nft_run_cmd_from_buffer)");
  return api;
}

Result<std::string> Run(const std::string& text) {
  auto api = LoadNft();
  if (!api) return std::unexpected(api.error());
  void* ctx = api->ctx_new(0);  // NFT_CTX_DEFAULT
  if (ctx == nullptr) return MakeError("nft_ctx_new failed");
  api->buffer_output(ctx);
  api->buffer_error(ctx);
  int rc = api->run_cmd(ctx, text.c_str());
  // Each get_*_buffer call hands out the buffer and rewinds it: read once.
  const char* o = api->get_output(ctx);
  const char* e = api->get_error(ctx);
  std::string out = o ? o : "";
  std::string err = e ? e : "";
  api->ctx_free(ctx);
  if (rc != 0) {
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    return MakeError("nftables: " + (err.empty() ? std::string("the ruleset was rejected") : err));
  }
  return out;
}

}  // namespace

Status ApplyNftRuleset(const std::string& ruleset) {
  auto r = Run(ruleset);
  if (!r) return std::unexpected(r.error());
  return Ok();
}

Result<std::string> RunNftCommand(const std::string& commands) { return Run(commands); }

}  // namespace airlock
