#include "net/beacon/registry_discovery.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/logging.h"
#include "net/beacon/registry_list.h"
#include "net/beacon/udp_socket.h"

namespace pilot::beacon {

namespace {

int64_t mono_now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * kSecond + ts.tv_nsec;
}

// "host:port" / "[v6]:port" → the two parts; false if there is no port.
bool split(const std::string& hp, std::string& host, std::string& port) {
  const size_t colon = hp.rfind(':');
  if (colon == std::string::npos || colon + 1 == hp.size()) return false;
  host = hp.substr(0, colon);
  port = hp.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return true;
}

// A blocking-looking exchange on a non-blocking socket: every wait is a poll on the
// socket and the stop eventfd, bounded by one deadline.
class Exchange {
 public:
  Exchange(int stop_fd, int64_t deadline) : stop_fd_(stop_fd), deadline_(deadline) {}
  ~Exchange() {
    if (fd_ >= 0) ::close(fd_);
  }

  std::string connect(const std::string& host_port, int64_t connect_deadline) {
    std::string host, port;
    if (!split(host_port, host, port)) return "not host:port";
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res); rc != 0)
      return std::string("cannot resolve: ") + gai_strerror(rc);
    std::string why = "no address";
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
      int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) continue;
      if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
        fd_ = fd;
        if (std::string w = wait(POLLOUT, std::min(deadline_, connect_deadline)); !w.empty()) {
          why = w;
        } else {
          int err = 0;
          socklen_t len = sizeof err;
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err == 0) break;
          why = std::strerror(err);
        }
        fd_ = -1;
      } else {
        why = std::strerror(errno);
      }
      ::close(fd);
    }
    freeaddrinfo(res);
    return fd_ >= 0 ? "" : why;
  }

  // The local IP of the connection as URL host text ("10.0.0.5", "[2001:db8::1]").
  std::string local_host() const {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
    auto ep = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss));
    if (!ep) return "";
    std::string text = ep->to_string();  // "1.2.3.4:p" or "[v6]:p"
    return text.substr(0, text.rfind(':'));
  }

  std::string send_frame(const std::string& body) {
    std::string frame(4, '\0');
    const uint32_t n = static_cast<uint32_t>(body.size());
    for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>(n >> (24 - 8 * i));
    frame += body;
    size_t off = 0;
    while (off < frame.size()) {
      ssize_t w = ::send(fd_, frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
      if (w > 0) {
        off += static_cast<size_t>(w);
      } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (std::string why = wait(POLLOUT, deadline_); !why.empty()) return why;
      } else {
        return std::string("send: ") + std::strerror(errno);
      }
    }
    return "";
  }

  std::string recv_frame(size_t max, std::string& body) {
    std::string len;
    if (std::string why = read_exact(4, len); !why.empty()) return why;
    const uint32_t n = (uint32_t{static_cast<uint8_t>(len[0])} << 24) | (uint32_t{static_cast<uint8_t>(len[1])} << 16) |
                       (uint32_t{static_cast<uint8_t>(len[2])} << 8) | static_cast<uint8_t>(len[3]);
    if (n > max) return "answer of " + std::to_string(n) + " bytes refused (over " + std::to_string(max) + ")";
    return read_exact(n, body);
  }

 private:
  std::string read_exact(size_t n, std::string& out) {
    out.assign(n, '\0');
    size_t off = 0;
    while (off < n) {
      ssize_t r = ::recv(fd_, out.data() + off, n - off, 0);
      if (r > 0) {
        off += static_cast<size_t>(r);
      } else if (r == 0) {
        return "connection closed by the registry";
      } else if (errno == EAGAIN || errno == EINTR) {
        if (std::string why = wait(POLLIN, deadline_); !why.empty()) return why;
      } else {
        return std::string("recv: ") + std::strerror(errno);
      }
    }
    return "";
  }

  std::string wait(short events, int64_t until) {
    for (;;) {
      const int64_t left = until - mono_now();
      if (left <= 0) return "timed out";
      pollfd p[2] = {{fd_, events, 0}, {stop_fd_, POLLIN, 0}};
      int r = ::poll(p, 2, static_cast<int>(std::min<int64_t>(left / 1'000'000 + 1, 1000)));
      if (r < 0 && errno != EINTR) return std::string("poll: ") + std::strerror(errno);
      if (r > 0 && (p[1].revents & POLLIN)) return "stopping";
      if (r > 0 && p[0].revents) return "";
    }
  }

  int stop_fd_;
  int64_t deadline_;
  int fd_ = -1;
};

}  // namespace

RegistryDiscovery::RegistryDiscovery(Engine& engine, DiscoveryOptions opt) : engine_(engine), opt_(std::move(opt)) {}

RegistryDiscovery::~RegistryDiscovery() { stop(); }

std::string RegistryDiscovery::start() {
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) return std::string("eventfd: ") + std::strerror(errno);
  thread_ = std::thread([this] { run(); });
  return "";
}

void RegistryDiscovery::stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  if (stop_fd_ >= 0) ::close(stop_fd_);
  stop_fd_ = -1;
}

void RegistryDiscovery::run() {
  for (;;) {
    if (std::string why = round(); why.empty()) {
      rounds_ok_.fetch_add(1);
    } else if (why == "stopping") {
      return;
    } else {
      rounds_failed_.fetch_add(1);
      LOG_WARN("beacon: registry %s: %s (peers unchanged)", opt_.registry.c_str(), why.c_str());
    }
    pollfd p{stop_fd_, POLLIN, 0};
    int r;
    do {
      r = ::poll(&p, 1, static_cast<int>(opt_.interval / 1'000'000));
    } while (r < 0 && errno == EINTR);
    if (r > 0) return;
  }
}

std::string RegistryDiscovery::round() {
  const int64_t start = mono_now();
  Exchange x(stop_fd_, start + opt_.deadline);
  if (std::string why = x.connect(opt_.registry, start + opt_.connect_timeout); !why.empty()) {
    return why == "stopping" ? why : "connect: " + why;
  }
  std::string addr = opt_.advertise;
  if (addr.empty()) {
    const std::string& lt = opt_.listen_text;
    const std::string host = lt.substr(0, lt.rfind(':'));
    addr = (host == "[::]" || host == "0.0.0.0" || host.empty()) ? x.local_host() + lt.substr(lt.rfind(':')) : lt;
  }
  std::string answer;
  const uint32_t id = engine_.config().beacon_id;
  if (std::string why = x.send_frame(beacon_register_request(id, addr, opt_.admin_token)); !why.empty()) return why;
  if (std::string why = x.recv_frame(opt_.max_response, answer); !why.empty()) return why;
  LOG_DEBUG("beacon: registry: beacon_register as %s: %s", addr.c_str(), answer.c_str());
  if (std::string why = x.send_frame(beacon_list_request()); !why.empty()) return why;
  if (std::string why = x.recv_frame(opt_.max_response, answer); !why.empty()) return why;
  auto listed = parse_beacon_list(answer, id);
  if (!listed) return "beacon_list answered " + answer.substr(0, 200);

  std::vector<Endpoint> peers;
  std::string text;
  for (const ListedBeacon& b : *listed) {
    auto ep = resolve_udp(b.addr, opt_.peer_family);
    if (!ep) {
      LOG_DEBUG("beacon: registry lists beacon %u at \"%s\", which does not resolve; skipped", b.id, b.addr.c_str());
      continue;
    }
    peers.push_back(*ep);
    text += (text.empty() ? "" : ", ") + std::to_string(b.id) + "=" + ep->to_string();
  }
  const size_t n = peers.size();
  engine_.set_peers(std::move(peers));
  if (text != last_peers_) LOG_INFO("beacon: registry peers (%zu): %s", n, text.empty() ? "none" : text.c_str());
  last_peers_ = text;
  return "";
}

}  // namespace pilot::beacon
