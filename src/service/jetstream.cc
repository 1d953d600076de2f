#include "service/jetstream.h"

#include <nats/nats.h>

#include <iostream>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/json_text.h"
#include "service/digest.h"

namespace airlock::service {
namespace {

using nlohmann::json;
constexpr int kWrongLastSequence = 10071;  // JSStreamWrongLastSequenceErr (nats-server)
constexpr int64_t kApiWaitMs = 10000;
// A work publish whose acknowledgement did not come (a leader election) is sent again, with the same
// message id: a copy that did land is dropped by the stream's duplicate window.
constexpr int kPublishTries = 3;
// A no-wait fetch's expiry. nats.c asks once with no_wait (a queued message comes back at once) and,
// when the server answers "none", asks again for the rest of the expiry: so keep it short.
constexpr std::chrono::milliseconds kNoWaitExpiry{5};

Error NatsError(const std::string& what, natsStatus s, jsErrCode jerr = jsErrCode(0)) {
  const char* last = nats_GetLastError(nullptr);
  std::string msg = what + ": " + natsStatus_GetText(s);
  if (last != nullptr && *last != '\0') msg += " (" + std::string(last) + ")";
  if (jerr != 0) msg += " [JetStream error " + std::to_string(int(jerr)) + "]";
  return Error(msg);
}
#define NATS_CHECK(call, what)                                   \
  do {                                                           \
    natsStatus s_ = (call);                                      \
    if (s_ != NATS_OK) return std::unexpected(NatsError(what, s_)); \
  } while (0)

// The stream behind a key-value bucket (JetStream's KV layout).
std::string KvStream(const std::string& bucket) { return "KV_" + bucket; }

std::string ObjMetaSubject(const char* bucket, const std::string& name) {
  return std::string("$O.") + bucket + ".M." + Base64Url(name);
}

struct MsgGuard {
  natsMsg* m = nullptr;
  ~MsgGuard() { natsMsg_Destroy(m); }
};

}  // namespace

WorkMessage::~WorkMessage() { natsMsg_Destroy(msg_); }
std::string WorkMessage::Data() const {
  return std::string(natsMsg_GetData(msg_), size_t(natsMsg_GetDataLength(msg_)));
}
uint64_t WorkMessage::Deliveries() const {
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, msg_) != NATS_OK) return 1;
  uint64_t n = meta->NumDelivered;
  jsMsgMetaData_Destroy(meta);
  return n;
}
Status WorkMessage::Ack() {
  jsErrCode jerr = jsErrCode(0);
  NATS_CHECK(natsMsg_AckSync(msg_, nullptr, &jerr), "acknowledge work message");
  return Ok();
}
void WorkMessage::InProgress() { (void)natsMsg_InProgress(msg_, nullptr); }
void WorkMessage::Nak(std::chrono::milliseconds delay) {
  (void)natsMsg_NakWithDelay(msg_, int64_t(delay.count()), nullptr);
}

Engine::~Engine() {
  stopping_ = true;
  if (advisory_ != nullptr) natsSubscription_Destroy(advisory_);
  watchers_.clear();  // joins: each watcher thread sees stopping_ within its poll interval
  for (auto& p : pulls_) natsSubscription_Destroy(p.sub);
  for (auto& [b, kv] : kvs_) kvStore_Destroy(kv);
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (nc_ != nullptr) {
    natsConnection_Close(nc_);
    natsConnection_Destroy(nc_);
  }
}

Result<std::unique_ptr<Engine>> Engine::Connect(const EngineConfig& cfg) {
  std::unique_ptr<Engine> e(new Engine(cfg));
  natsOptions* opts = nullptr;
  NATS_CHECK(natsOptions_Create(&opts), "nats options");
  std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> guard(opts, natsOptions_Destroy);
  // natsOptions_SetURL takes one URL in nats.c 3.4.1: a list goes through SetServers.
  std::vector<std::string> urls;
  for (size_t p = 0; p <= cfg.servers.size();) {
    size_t c = cfg.servers.find(',', p);
    std::string u = cfg.servers.substr(p, c == std::string::npos ? std::string::npos : c - p);
    u.erase(0, u.find_first_not_of(' '));
    u.erase(u.find_last_not_of(' ') + 1);
    if (!u.empty()) urls.push_back(u);
    if (c == std::string::npos) break;
    p = c + 1;
  }
  if (urls.empty()) return MakeError("no NATS server URL given");
  std::vector<const char*> ptrs;
  for (const auto& u : urls) ptrs.push_back(u.c_str());
  NATS_CHECK(natsOptions_SetServers(opts, ptrs.data(), int(ptrs.size())), "NATS server list '" + cfg.servers + "'");
  NATS_CHECK(natsOptions_SetName(opts, cfg.name.c_str()), "nats options");
  NATS_CHECK(natsOptions_SetMaxReconnect(opts, -1), "nats options");  // a farm outlives node restarts
  NATS_CHECK(natsOptions_SetReconnectWait(opts, 250), "nats options");
  NATS_CHECK(natsOptions_SetTimeout(opts, 5000), "nats options");
  natsStatus s = natsConnection_Connect(&e->nc_, opts);
  if (s != NATS_OK) {
    return std::unexpected(NatsError("connect to NATS at " + cfg.servers + " (is nats-server running with -js?)", s));
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = kApiWaitMs;
  NATS_CHECK(natsConnection_JetStream(&e->js_, e->nc_, &jo), "JetStream context");
  return e;
}

bool Engine::Connected() const { return nc_ != nullptr && natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED; }

Status Engine::EnsureKv(const char* bucket, int history, std::chrono::seconds ttl) {
  kvConfig kc;
  kvConfig_Init(&kc);
  kc.Bucket = bucket;
  kc.History = uint8_t(history);
  kc.Replicas = cfg_.replicas;
  kc.StorageType = js_FileStorage;
  kc.TTL = int64_t(ttl.count()) * 1000000000;  // nats.c 3.4.1: nanoseconds (the stream's MaxAge)
  kvStore* kv = nullptr;
  natsStatus s = js_CreateKeyValue(&kv, js_, &kc);
  if (s != NATS_OK) {
    Error created = NatsError(std::string("create key-value bucket ") + bucket, s);
    s = js_KeyValue(&kv, js_, bucket);  // exists with another config: bind to it
    if (s != NATS_OK) return std::unexpected(created);
  }
  kvs_.emplace_back(bucket, kv);
  return Ok();
}

Status Engine::EnsureObjectStream(const char* bucket) {
  std::string name = std::string("OBJ_") + bucket;
  std::string chunks = std::string("$O.") + bucket + ".C.>";
  std::string metas = std::string("$O.") + bucket + ".M.>";
  const char* subjects[] = {chunks.c_str(), metas.c_str()};
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  sc.Name = name.c_str();
  sc.Subjects = subjects;
  sc.SubjectsLen = 2;
  sc.Storage = js_FileStorage;
  sc.Replicas = cfg_.replicas;
  sc.Discard = js_DiscardNew;
  sc.AllowRollup = true;
  sc.AllowDirect = true;
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = jsErrCode(0);
  natsStatus s = js_AddStream(&si, js_, &sc, nullptr, &jerr);
  if (s != NATS_OK && jerr != JSStreamNameExistErr) return std::unexpected(NatsError("object stream " + name, s, jerr));
  jsStreamInfo_Destroy(si);
  return Ok();
}

Status Engine::EnsureWork() {
  const char* work_subjects[] = {"airlock.work.>"};
  const char* dead_subjects[] = {"airlock.dead.>"};
  for (auto [name, subjects, retention] : {std::tuple{kWorkStream, work_subjects, js_WorkQueuePolicy},
                                           std::tuple{kDeadStream, dead_subjects, js_LimitsPolicy}}) {
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = name;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Retention = retention;
    sc.Storage = js_FileStorage;
    sc.Replicas = cfg_.replicas;
    sc.Duplicates = int64_t(120) * 1000000000;  // ns: the window in which a Nats-Msg-Id is deduplicated
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_AddStream(&si, js_, &sc, nullptr, &jerr);
    if (s != NATS_OK && jerr != JSStreamNameExistErr) return std::unexpected(NatsError(std::string("stream ") + name, s, jerr));
    jsStreamInfo_Destroy(si);
  }
  for (const std::string& kind : WorkKinds()) {
    std::string filter = "airlock.work." + kind;
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = kind.c_str();
    cc.FilterSubject = filter.c_str();
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = int64_t(cfg_.ack_wait.count()) * 1000000;  // ns
    cc.MaxDeliver = cfg_.max_deliver;
    cc.MaxAckPending = 10000;
    cc.Replicas = cfg_.replicas;
    jsConsumerInfo* ci = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_AddConsumer(&ci, js_, kWorkStream, &cc, nullptr, &jerr);
    if (s != NATS_OK) {
      // An existing consumer keeps its config unless it can be updated (AckWait, MaxDeliver can).
      s = js_UpdateConsumer(&ci, js_, kWorkStream, &cc, nullptr, &jerr);
      if (s != NATS_OK) return std::unexpected(NatsError("consumer " + kind, s, jerr));
    }
    jsConsumerInfo_Destroy(ci);
  }
  return Ok();
}

Status Engine::AwaitSchema(std::chrono::milliseconds budget, const std::function<void(const std::string&)>& say) {
  const auto start = std::chrono::steady_clock::now();
  auto next_word = start;
  for (;;) {
    Status st = EnsureSchema();
    if (st) return st;
    auto now = std::chrono::steady_clock::now();
    if (now - start >= budget) return st;
    if (now >= next_word) {
      auto waited = std::chrono::duration_cast<std::chrono::seconds>(now - start).count();
      say(st.error().What() + "; JetStream not ready after " + std::to_string(waited) + " s, waiting up to " +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(budget).count()) + " s (a cluster elects its leader first)");
      next_word = now + std::chrono::seconds(5);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Status Engine::EnsureSchema() {
  AIRLOCK_TRY_STATUS(EnsureWork(), "work queue");
  AIRLOCK_TRY_STATUS(EnsureKv(kTasksBucket, 1, std::chrono::seconds(0)), "tasks");
  AIRLOCK_TRY_STATUS(EnsureKv(kResultsBucket, 1, std::chrono::seconds(0)), "results");
  AIRLOCK_TRY_STATUS(EnsureKv(kMetaBucket, 1, std::chrono::seconds(0)), "meta");
  AIRLOCK_TRY_STATUS(EnsureKv(kWorkersBucket, 1, cfg_.worker_ttl), "workers");
  AIRLOCK_TRY_STATUS(EnsureObjectStream(kSamplesBucket), "samples");
  AIRLOCK_TRY_STATUS(EnsureObjectStream(kReportsBucket), "reports");
  return Ok();
}

Result<kvStore*> Engine::Kv(const char* bucket) {
  for (auto& [b, kv] : kvs_) {
    if (b == bucket) return kv;
  }
  return MakeError(std::string("key-value bucket ") + bucket + " not opened (EnsureSchema first)");
}

Result<std::optional<KvValue>> Engine::KvGet(const char* bucket, const std::string& key) {
  auto kv = Kv(bucket);
  if (!kv) return std::unexpected(kv.error());
  kvEntry* e = nullptr;
  natsStatus s = kvStore_Get(&e, *kv, key.c_str());
  if (s == NATS_NOT_FOUND) return std::optional<KvValue>();
  if (s != NATS_OK) return std::unexpected(NatsError(std::string("get ") + bucket + "/" + key, s));
  KvValue v{std::string(static_cast<const char*>(kvEntry_Value(e)), size_t(kvEntry_ValueLen(e))), kvEntry_Revision(e)};
  kvEntry_Destroy(e);
  return std::optional<KvValue>(std::move(v));
}

Result<uint64_t> Engine::KvPut(const char* bucket, const std::string& key, const std::string& value) {
  auto kv = Kv(bucket);
  if (!kv) return std::unexpected(kv.error());
  uint64_t rev = 0;
  NATS_CHECK(kvStore_Put(&rev, *kv, key.c_str(), value.data(), int(value.size())), std::string("put ") + bucket + "/" + key);
  return rev;
}

Result<std::optional<uint64_t>> Engine::KvCreate(const char* bucket, const std::string& key, const std::string& value) {
  auto kv = Kv(bucket);
  if (!kv) return std::unexpected(kv.error());
  uint64_t rev = 0;
  natsStatus s = kvStore_Create(&rev, *kv, key.c_str(), value.data(), int(value.size()));
  if (s == NATS_OK) return std::optional<uint64_t>(rev);
  // A failed create is a conflict exactly when the key now exists.
  Error err = NatsError(std::string("create ") + bucket + "/" + key, s);
  auto now = KvGet(bucket, key);
  if (now && *now) return std::optional<uint64_t>();
  return std::unexpected(err);
}

Result<std::optional<uint64_t>> Engine::KvUpdate(const char* bucket, const std::string& key, const std::string& value,
                                                 uint64_t last) {
  auto kv = Kv(bucket);
  if (!kv) return std::unexpected(kv.error());
  uint64_t rev = 0;
  natsStatus s = kvStore_Update(&rev, *kv, key.c_str(), value.data(), int(value.size()), last);
  if (s == NATS_OK) return std::optional<uint64_t>(rev);
  Error err = NatsError(std::string("update ") + bucket + "/" + key, s);
  auto now = KvGet(bucket, key);
  if (now && (!*now || (*now)->revision != last)) return std::optional<uint64_t>();
  return std::unexpected(err);
}

Status Engine::KvDelete(const char* bucket, const std::string& key) {
  auto kv = Kv(bucket);
  if (!kv) return std::unexpected(kv.error());
  NATS_CHECK(kvStore_Delete(*kv, key.c_str()), std::string("delete ") + bucket + "/" + key);
  return Ok();
}

Status Engine::Watch(const char* bucket, std::function<void(const std::string&, const std::optional<std::string>&, uint64_t)> fn,
                     std::function<void()> ready) {
  auto kv = Kv(bucket);
  if (!kv) return std::unexpected(kv.error());
  // Entries up to the bucket's last revision now come with the watch's current entries (an expired one
  // does not come at all): the probes in WatchLoop count from here.
  auto last = StreamLastSequence(KvStream(bucket), std::chrono::milliseconds(2000));
  kvWatcher* w = nullptr;
  NATS_CHECK(kvStore_WatchAll(&w, *kv, nullptr), std::string("watch ") + bucket);
  watchers_.emplace_back([this, bucket = std::string(bucket), kv = *kv, w, base = last.value_or(0), fn = std::move(fn),
                          ready = std::move(ready)] { WatchLoop(bucket, kv, w, base, fn, ready); });
  return Ok();
}

Result<uint64_t> Engine::StreamLastSequence(const std::string& stream, std::chrono::milliseconds wait) {
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = int64_t(wait.count());
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = jsErrCode(0);
  NATS_CHECK(js_GetStreamInfo(&si, js_, stream.c_str(), &o, &jerr), "stream " + stream);
  uint64_t last = si->State.LastSeq;
  jsStreamInfo_Destroy(si);
  return last;
}

// Delivers the watcher's entries until the Engine stops; every kWatchProbe while idle, asks whether it
// is starved (WatchProbe) and if so replaces it with a new watch, which delivers the current entries
// again.
void Engine::WatchLoop(const std::string& bucket, kvStore* kv, kvWatcher* w, uint64_t delivered, const WatchFn& fn,
                       const std::function<void()>& ready) {
  constexpr auto kWatchProbe = std::chrono::seconds(2);
  bool initial_done = false;
  WatchProbe probe(delivered);
  auto next_probe = std::chrono::steady_clock::now() + kWatchProbe;
  while (!stopping_) {
    kvEntry* e = nullptr;
    natsStatus s = kvWatcher_Next(&e, w, 250);
    if (s == NATS_OK && e == nullptr) {  // the end of the current entries
      if (!initial_done) ready();
      initial_done = true;
      continue;
    }
    if (s == NATS_OK) {
      probe.Delivered(kvEntry_Revision(e));
      bool put = kvEntry_Operation(e) == kvOp_Put;
      fn(kvEntry_Key(e), put ? std::optional(std::string(static_cast<const char*>(kvEntry_Value(e)), size_t(kvEntry_ValueLen(e)))) : std::nullopt,
         kvEntry_Revision(e));
      kvEntry_Destroy(e);
      continue;
    }
    if (stopping_) break;
    if (s != NATS_TIMEOUT) nats_Sleep(100);
    if (std::chrono::steady_clock::now() < next_probe) continue;
    next_probe = std::chrono::steady_clock::now() + kWatchProbe;
    auto last = StreamLastSequence(KvStream(bucket), std::chrono::milliseconds(1000));
    kvWatcher* fresh = nullptr;
    if (!last || !probe.Starved(*last) || kvStore_WatchAll(&fresh, kv, nullptr) != NATS_OK) continue;
    std::cerr << "airlock: the watch of " << bucket << " stopped at revision " << probe.delivered() << " of " << *last
              << " (its consumer was lost with a server); watching it again\n";
    kvWatcher_Destroy(w);
    w = fresh;
    probe.Restarted(*last);
  }
  kvWatcher_Destroy(w);
}

Result<uint64_t> Engine::NextTaskId() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto cur = KvGet(kMetaBucket, "next_task_id");
    if (!cur) return std::unexpected(cur.error());
    if (!*cur) {
      auto created = KvCreate(kMetaBucket, "next_task_id", "2");
      if (!created) return std::unexpected(created.error());
      if (*created) return uint64_t{1};
      continue;
    }
    uint64_t next = std::strtoull((*cur)->value.c_str(), nullptr, 10);
    if (next == 0) return MakeError("airlock_meta/next_task_id is not a number: '" + (*cur)->value.substr(0, 20) + "'");
    auto upd = KvUpdate(kMetaBucket, "next_task_id", std::to_string(next + 1), (*cur)->revision);
    if (!upd) return std::unexpected(upd.error());
    if (*upd) return next;
  }
  return MakeError("task id counter: too much contention (100 conflicting updates)");
}

Result<bool> Engine::HasObject(const char* bucket, const std::string& name) {
  natsMsg* m = nullptr;
  jsErrCode jerr = jsErrCode(0);
  std::string stream = std::string("OBJ_") + bucket;
  natsStatus s = js_GetLastMsg(&m, js_, stream.c_str(), ObjMetaSubject(bucket, name).c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) return false;
  if (s != NATS_OK) return std::unexpected(NatsError("object " + name, s, jerr));
  MsgGuard g{m};
  json meta = json::parse(std::string(natsMsg_GetData(m), size_t(natsMsg_GetDataLength(m))), nullptr, false);
  return meta.is_object() && !meta.value("deleted", false);
}

Status Engine::PutObject(const char* bucket, const std::string& name, const std::string& bytes) {
  std::string digest = "SHA-256=" + Base64Url(Sha256Raw(bytes));
  {
    natsMsg* m = nullptr;
    jsErrCode jerr = jsErrCode(0);
    std::string stream = std::string("OBJ_") + bucket;
    if (js_GetLastMsg(&m, js_, stream.c_str(), ObjMetaSubject(bucket, name).c_str(), nullptr, &jerr) == NATS_OK) {
      MsgGuard g{m};
      json meta = json::parse(std::string(natsMsg_GetData(m), size_t(natsMsg_GetDataLength(m))), nullptr, false);
      if (meta.is_object() && !meta.value("deleted", false) && meta.value("digest", "") == digest) return Ok();
    }
  }
  std::string nuid = RandomHex(11);
  std::string chunk_subject = std::string("$O.") + bucket + ".C." + nuid;
  size_t chunks = 0;
  for (size_t off = 0; off < bytes.size(); off += kChunkSize, ++chunks) {
    size_t n = std::min(kChunkSize, bytes.size() - off);
    jsPubAck* ack = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_Publish(&ack, js_, chunk_subject.c_str(), bytes.data() + off, int(n), nullptr, &jerr);
    jsPubAck_Destroy(ack);
    if (s != NATS_OK) {
      jsOptions o;
      jsOptions_Init(&o);
      o.Stream.Purge.Subject = chunk_subject.c_str();
      (void)js_PurgeStream(js_, (std::string("OBJ_") + bucket).c_str(), &o, nullptr);  // drop the partial object
      return std::unexpected(NatsError("store object " + name + " chunk " + std::to_string(chunks), s, jerr));
    }
  }
  json meta = {{"name", name}, {"bucket", bucket}, {"nuid", nuid}, {"size", bytes.size()}, {"chunks", chunks},
               {"digest", digest}, {"mtime", UtcTimeNow()}, {"options", {{"max_chunk_size", kChunkSize}}}};
  std::string text = DumpJson(meta);
  natsMsg* m = nullptr;
  std::string subject = ObjMetaSubject(bucket, name);
  NATS_CHECK(natsMsg_Create(&m, subject.c_str(), nullptr, text.data(), int(text.size())), "object meta");
  MsgGuard g{m};
  NATS_CHECK(natsMsgHeader_Set(m, "Nats-Rollup", "sub"), "object meta");
  jsPubAck* ack = nullptr;
  jsErrCode jerr = jsErrCode(0);
  natsStatus s = js_PublishMsg(&ack, js_, m, nullptr, &jerr);
  jsPubAck_Destroy(ack);
  if (s != NATS_OK) return std::unexpected(NatsError("store object " + name + " description", s, jerr));
  return Ok();
}

Result<std::optional<std::string>> Engine::GetObject(const char* bucket, const std::string& name, size_t max_bytes) {
  std::string stream = std::string("OBJ_") + bucket;
  natsMsg* m = nullptr;
  jsErrCode jerr = jsErrCode(0);
  natsStatus s = js_GetLastMsg(&m, js_, stream.c_str(), ObjMetaSubject(bucket, name).c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) return std::optional<std::string>();
  if (s != NATS_OK) return std::unexpected(NatsError("object " + name, s, jerr));
  json meta;
  {
    MsgGuard g{m};
    meta = json::parse(std::string(natsMsg_GetData(m), size_t(natsMsg_GetDataLength(m))), nullptr, false);
  }
  if (!meta.is_object() || meta.value("deleted", false)) return std::optional<std::string>();
  if (!meta["size"].is_number_unsigned() || !meta["nuid"].is_string() || !meta["digest"].is_string()) {
    return MakeError("object " + name + ": malformed description");
  }
  uint64_t size = meta["size"].get<uint64_t>();
  if (size > max_bytes) return MakeError("object " + name + " is " + std::to_string(size) + " bytes, more than the limit " + std::to_string(max_bytes));
  std::string chunk_subject = std::string("$O.") + bucket + ".C." + meta["nuid"].get<std::string>();
  std::string out;
  out.reserve(size);
  uint64_t next_seq = 1;
  while (out.size() < size) {
    jsDirectGetMsgOptions dg;
    jsDirectGetMsgOptions_Init(&dg);
    dg.Sequence = next_seq;
    dg.NextBySubject = chunk_subject.c_str();
    natsMsg* c = nullptr;
    natsStatus cs = js_DirectGetMsg(&c, js_, stream.c_str(), nullptr, &dg);
    if (cs != NATS_OK) return std::unexpected(NatsError("object " + name + ": chunk missing", cs));
    MsgGuard g{c};
    out.append(natsMsg_GetData(c), size_t(natsMsg_GetDataLength(c)));
    next_seq = natsMsg_GetSequence(c) + 1;
    if (natsMsg_GetSequence(c) == 0) return MakeError("object " + name + ": chunk without a sequence");
  }
  if (out.size() != size || "SHA-256=" + Base64Url(Sha256Raw(out)) != meta["digest"].get<std::string>()) {
    return MakeError("object " + name + ": chunks do not match its size or digest");
  }
  return std::optional<std::string>(std::move(out));
}

Status Engine::PublishWork(const std::string& kind, const std::string& data, const std::string& msg_id) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MsgId = msg_id.c_str();
  jsPubAck* ack = nullptr;
  jsErrCode jerr = jsErrCode(0);
  std::string subject = "airlock.work." + kind;
  natsStatus s = NATS_OK;
  for (int attempt = 0; attempt < kPublishTries; ++attempt) {
    s = js_Publish(&ack, js_, subject.c_str(), data.data(), int(data.size()), &po, &jerr);
    jsPubAck_Destroy(ack);
    ack = nullptr;
    if (s == NATS_OK) return Ok();
  }
  return std::unexpected(NatsError("queue " + kind + " work", s, jerr));
}

Result<std::unique_ptr<WorkMessage>> Engine::FetchWork(const std::string& kind, std::chrono::milliseconds wait) {
  natsSubscription* sub = nullptr;
  std::timed_mutex* fetching = nullptr;
  {
    std::lock_guard lock(pulls_mu_);
    for (auto& p : pulls_) {
      if (p.kind == kind) {
        sub = p.sub;
        fetching = p.fetching.get();
      }
    }
    if (sub == nullptr) {
      jsSubOptions so;
      jsSubOptions_Init(&so);
      so.Stream = kWorkStream;
      so.Consumer = kind.c_str();
      jsErrCode jerr = jsErrCode(0);
      std::string subject = "airlock.work." + kind;
      natsStatus s = js_PullSubscribe(&sub, js_, subject.c_str(), kind.c_str(), nullptr, &so, &jerr);
      if (s != NATS_OK) return std::unexpected(NatsError("bind to consumer " + kind, s, jerr));
      pulls_.push_back(Pull{kind, sub});
      fetching = pulls_.back().fetching.get();
    }
  }
  natsMsgList list{};
  jsErrCode jerr = jsErrCode(0);
  std::unique_lock turn(*fetching, std::defer_lock);
  if (!turn.try_lock_for(wait)) return std::unique_ptr<WorkMessage>();  // another thread fetched all along
  natsStatus s = NATS_OK;
  if (wait.count() > 0) {
    s = natsSubscription_Fetch(&list, sub, 1, int64_t(wait.count()), &jerr);
  } else {  // only what is already there: the server answers at once, with a message or "none"
    jsFetchRequest req;
    jsFetchRequest_Init(&req);
    req.Batch = 1;
    req.NoWait = true;
    req.Expires = int64_t(kNoWaitExpiry.count()) * 1000000;
    s = natsSubscription_FetchRequest(&list, sub, &req);
  }
  if (s == NATS_TIMEOUT || s == NATS_NOT_FOUND) return std::unique_ptr<WorkMessage>();
  if (s != NATS_OK) return std::unexpected(NatsError("fetch " + kind + " work", s, jerr));
  std::unique_ptr<WorkMessage> out;
  for (int i = 0; i < list.Count; ++i) {
    if (!out) {
      out = std::make_unique<WorkMessage>(list.Msgs[i]);
      list.Msgs[i] = nullptr;
    }
  }
  natsMsgList_Destroy(&list);
  return out;
}

Result<uint64_t> Engine::QueueDepth(const std::string& kind) {
  jsConsumerInfo* ci = nullptr;
  jsErrCode jerr = jsErrCode(0);
  natsStatus s = js_GetConsumerInfo(&ci, js_, kWorkStream, kind.c_str(), nullptr, &jerr);
  if (s != NATS_OK) return std::unexpected(NatsError("consumer " + kind, s, jerr));
  uint64_t n = ci->NumPending + uint64_t(std::max<int64_t>(0, ci->NumAckPending));
  jsConsumerInfo_Destroy(ci);
  return n;
}

Result<uint64_t> Engine::DeadLetters() {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = jsErrCode(0);
  natsStatus s = js_GetStreamInfo(&si, js_, kDeadStream, nullptr, &jerr);
  if (s != NATS_OK) return std::unexpected(NatsError("dead-letter stream", s, jerr));
  uint64_t n = si->State.Msgs;
  jsStreamInfo_Destroy(si);
  return n;
}

void Engine::HandleAdvisory(natsMsg* m) {
  MsgGuard g{m};
  json adv = json::parse(std::string(natsMsg_GetData(m), size_t(natsMsg_GetDataLength(m))), nullptr, false);
  if (!adv.is_object() || !adv["stream_seq"].is_number_unsigned() || !adv["consumer"].is_string()) return;
  uint64_t seq = adv["stream_seq"].get<uint64_t>();
  std::string kind = adv["consumer"].get<std::string>();
  natsMsg* w = nullptr;
  jsErrCode jerr = jsErrCode(0);
  if (js_GetMsg(&w, js_, kWorkStream, seq, nullptr, &jerr) != NATS_OK) return;  // another serve moved it
  MsgGuard wg{w};
  std::string data(natsMsg_GetData(w), size_t(natsMsg_GetDataLength(w)));
  if (on_dead_) on_dead_(kind, seq, data);
  jsPubOptions po;
  jsPubOptions_Init(&po);
  std::string id = "dead-" + std::to_string(seq);
  po.MsgId = id.c_str();
  jsPubAck* ack = nullptr;
  std::string subject = "airlock.dead." + kind;
  if (js_Publish(&ack, js_, subject.c_str(), data.data(), int(data.size()), &po, &jerr) == NATS_OK) {
    (void)js_DeleteMsg(js_, kWorkStream, seq, nullptr, &jerr);
  }
  jsPubAck_Destroy(ack);
}

Status Engine::OnDeadLetter(std::function<void(const std::string&, uint64_t, const std::string&)> fn) {
  on_dead_ = std::move(fn);
  std::string subject = std::string("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.") + kWorkStream + ".*";
  auto cb = [](natsConnection*, natsSubscription*, natsMsg* m, void* self) { static_cast<Engine*>(self)->HandleAdvisory(m); };
  NATS_CHECK(natsConnection_Subscribe(&advisory_, nc_, subject.c_str(), cb, this), "subscribe to dead-letter advisories");
  return Ok();
}

}  // namespace airlock::service
