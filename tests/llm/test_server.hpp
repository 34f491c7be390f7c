// Local provider doubles for the llm tests: a cpp-httplib server (plain HTTP or
// HTTPS with a self-signed certificate made at test time) on 127.0.0.1 and an
// ephemeral port, recording what it receives.
#pragma once

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace speedrunner::testing {

struct TlsFiles {
  std::filesystem::path cert;
  std::filesystem::path key;
};

// An EC P-256 key and a self-signed certificate for 127.0.0.1/localhost, as PEM files in dir.
inline TlsFiles make_self_signed(const std::filesystem::path& dir) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  if (pkey == nullptr) throw std::runtime_error("EVP_EC_gen failed");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, pkey);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert, pkey, EVP_sha256()) == 0) throw std::runtime_error("X509_sign failed");
  TlsFiles files{dir / "cert.pem", dir / "key.pem"};
  FILE* f = std::fopen(files.cert.c_str(), "w");
  PEM_write_X509(f, cert);
  std::fclose(f);
  f = std::fopen(files.key.c_str(), "w");
  PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(pkey);
  return files;
}

struct Received {
  std::string method, path, query_alt, body;
  httplib::Headers headers;
  [[nodiscard]] std::string header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Routes are set on server() before start(); every request is recorded.
class TestServer {
 public:
  explicit TestServer(const TlsFiles* tls = nullptr) {
    if (tls != nullptr) server_ = std::make_unique<httplib::SSLServer>(tls->cert.c_str(), tls->key.c_str());
    else server_ = std::make_unique<httplib::Server>();
    scheme_ = tls != nullptr ? "https" : "http";
    // After the handler: the body has been read by then, and the reply not yet sent.
    server_->set_post_routing_handler([this](const httplib::Request& req, httplib::Response&) {
      std::lock_guard lock(mutex_);
      received_.push_back({req.method, req.path, req.get_param_value("alt"), req.body, req.headers});
    });
  }
  ~TestServer() { stop(); }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  httplib::Server& server() { return *server_; }

  void start() {
    port_ = server_->bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("cannot bind a test server");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void stop() {
    if (thread_.joinable()) {
      server_->stop();
      thread_.join();
    }
  }
  [[nodiscard]] std::string url(const std::string& prefix = "") const {
    return scheme_ + "://127.0.0.1:" + std::to_string(port_) + prefix;
  }
  [[nodiscard]] std::vector<Received> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  [[nodiscard]] Received last() const {
    std::lock_guard lock(mutex_);
    return received_.empty() ? Received{} : received_.back();
  }
  [[nodiscard]] std::size_t count() const {
    std::lock_guard lock(mutex_);
    return received_.size();
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::string scheme_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<Received> received_;
};

// Streams `events` (whole SSE texts) one chunk each; drop_after < events.size()
// closes the connection after that many chunks without ending the body.
inline void stream_sse(httplib::Response& res, std::vector<std::string> events, std::size_t drop_after = SIZE_MAX) {
  auto shared = std::make_shared<std::vector<std::string>>(std::move(events));
  res.set_chunked_content_provider("text/event-stream", [shared, drop_after](size_t, httplib::DataSink& sink) {
    for (std::size_t i = 0; i < shared->size(); ++i) {
      if (i == drop_after) return false;  // abort: no terminating chunk
      const auto& e = (*shared)[i];
      sink.write(e.data(), e.size());
    }
    sink.done();
    return true;
  });
}

}  // namespace speedrunner::testing
